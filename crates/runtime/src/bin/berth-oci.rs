//! berth-oci: runc's command line over berth's runtime library. This file only
//! parses arguments and prints.
//!
//! `no_main`: std's runtime set-up (a stack guard found by reading /proc/self/maps,
//! signal handlers, SIGPIPE ignored) costs start-up time and would leak into the
//! container: an ignored SIGPIPE survives execve. A plain C `main` has none of it.
//!
//! The parser is hand-written rather than clap: start-up time is what this binary is
//! measured on, and runc's CLI (urfave/cli: `-flag` and `--flag`, `--flag=v`, flags
//! after positionals) is small enough to take without a framework.

#![no_main]

use berth_runtime::create::{self, CreateOptions, Mode, Runtime};
use berth_runtime::error::Error;
use berth_runtime::{delete, exec, log, ops, template};
use std::collections::HashMap;
use std::path::PathBuf;

const USAGE: &str = "usage: berth-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] COMMAND [OPTIONS]
commands: create start run state kill delete exec ps list pause resume update features spec";

/// A command's flags: (names, takes a value).
type FlagSpec = &'static [(&'static [&'static str], bool)];

struct Parsed {
    values: HashMap<&'static str, Vec<String>>,
    args: Vec<String>,
}

impl Parsed {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }
    fn all(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
    fn has(&self, name: &str) -> bool {
        self.values
            .get(name)
            .is_some_and(|v| v.last().is_none_or(|s| s != "false"))
    }
}

/// Parses flags anywhere; with `trailing`, everything after positional number
/// `trailing` (1-based) is taken verbatim (exec's command, ps's ps arguments).
fn parse(
    cmd: &str,
    spec: FlagSpec,
    argv: &[String],
    trailing: Option<usize>,
) -> Result<Parsed, Error> {
    let mut p = Parsed {
        values: HashMap::new(),
        args: Vec::new(),
    };
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if trailing.is_some_and(|t| p.args.len() >= t) {
            p.args.push(a.clone());
            continue;
        }
        if a == "--" {
            p.args.extend(argv[i..].iter().cloned());
            break;
        }
        if !a.starts_with('-') || a == "-" {
            p.args.push(a.clone());
            continue;
        }
        let body = a.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some((names, takes)) = spec.iter().find(|(names, _)| names.contains(&name)) else {
            return Err(Error(format!("{cmd}: unknown flag {a}")));
        };
        let key = names[0];
        let value = if *takes {
            match inline {
                Some(v) => v,
                None => {
                    let v = argv
                        .get(i)
                        .cloned()
                        .ok_or_else(|| Error(format!("{cmd}: flag {a} needs a value")))?;
                    i += 1;
                    v
                }
            }
        } else {
            inline.unwrap_or_else(|| "true".into())
        };
        p.values.entry(key).or_default().push(value);
    }
    Ok(p)
}

const GLOBAL: FlagSpec = &[
    (&["root"], true),
    (&["log"], true),
    (&["log-format"], true),
    (&["systemd-cgroup"], false),
    (&["debug"], false),
    (&["rootless"], true),
    (&["criu"], true),
    (&["help", "h"], false),
    (&["version", "v"], false),
];

const CREATE: FlagSpec = &[
    (&["bundle", "b"], true),
    (&["console-socket"], true),
    (&["pid-file"], true),
    (&["preserve-fds"], true),
    (&["no-pivot"], false),
    (&["no-new-keyring"], false),
    (&["detach", "d"], false),
    (&["keep"], false),
    (&["no-subreaper"], false),
];

const EXEC: FlagSpec = &[
    (&["process", "p"], true),
    (&["tty", "t"], false),
    (&["cwd"], true),
    (&["env", "e"], true),
    (&["user", "u"], true),
    (&["additional-gids", "g"], true),
    (&["cap", "c"], true),
    (&["no-new-privs"], false),
    (&["apparmor"], true),
    (&["process-label"], true),
    (&["detach", "d"], false),
    (&["pid-file"], true),
    (&["console-socket"], true),
    (&["preserve-fds"], true),
    (&["cgroup"], true),
    (&["ignore-paused"], false),
];

const UPDATE: FlagSpec = &[
    (&["resources", "r"], true),
    (&["memory"], true),
    (&["memory-swap"], true),
    (&["memory-reservation"], true),
    (&["kernel-memory"], true),
    (&["kernel-memory-tcp"], true),
    (&["cpu-shares"], true),
    (&["cpu-quota"], true),
    (&["cpu-period"], true),
    (&["cpu-rt-runtime"], true),
    (&["cpu-rt-period"], true),
    (&["cpuset-cpus"], true),
    (&["cpuset-mems"], true),
    (&["pids-limit"], true),
    (&["blkio-weight"], true),
    (&["l3-cache-schema"], true),
    (&["mem-bw-schema"], true),
];

#[unsafe(no_mangle)]
extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    // std still captures argv on glibc (through .init_array), so args() works.
    // A hook that exits without reading its state must not kill the runtime; the
    // container's process gets SIGPIPE back to default just before its execve.
    // SAFETY: setting a signal disposition before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(match run(&argv) {
        Ok(code) => code,
        Err(e) => {
            log::error(&e.0);
            1
        }
    });
}

fn default_root() -> PathBuf {
    if berth_runtime::sys::geteuid() != 0
        && let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR")
    {
        return PathBuf::from(dir).join("berth-oci");
    }
    PathBuf::from("/run/berth-oci")
}

fn run(argv: &[String]) -> Result<i32, Error> {
    // Global flags come before the command.
    let cmd_at = global_end(argv);
    let g = parse("berth-oci", GLOBAL, &argv[..cmd_at], None)?;
    if g.has("version") {
        println!(
            "berth-oci version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            berth_runtime::state::OCI_VERSION
        );
        return Ok(0);
    }
    log::init(
        g.get("log").map(PathBuf::from),
        g.get("log-format") == Some("json"),
    );
    let Some(cmd) = argv.get(cmd_at) else {
        if g.has("help") {
            println!("{USAGE}");
            return Ok(0);
        }
        return Err(Error(USAGE.into()));
    };
    let rest = &argv[cmd_at + 1..];
    let rt = Runtime {
        root: g
            .get("root")
            .map(PathBuf::from)
            .unwrap_or_else(default_root),
        systemd_cgroup: g.has("systemd-cgroup"),
    };
    if matches!(cmd.as_str(), "create" | "run" | "exec") {
        berth_runtime::selfexe::ensure_protected()?;
    }
    match cmd.as_str() {
        "create" | "run" => cmd_create(&rt, cmd, rest),
        "start" => one_id(cmd, rest, &[])
            .and_then(|(id, _)| ops::start(&rt, &id))
            .map(|_| 0),
        "state" => {
            let (id, _) = one_id(cmd, rest, &[])?;
            println!("{}", pretty(&ops::state_json(&rt, &id)?));
            Ok(0)
        }
        "kill" => {
            let p = parse(cmd, &[(&["all", "a"], false), (&["pid"], true)], rest, None)?;
            let id = p.args.first().ok_or("kill: container ID required")?;
            let sig = ops::parse_signal(p.args.get(1).map_or("SIGTERM", String::as_str))?;
            ops::kill(&rt, id, sig, p.has("all")).map(|_| 0)
        }
        "delete" => {
            let p = parse(cmd, &[(&["force", "f"], false)], rest, None)?;
            if p.args.is_empty() {
                return Err("delete: container ID required".into());
            }
            for id in &p.args {
                delete::delete(&rt, id, p.has("force"))?;
            }
            Ok(0)
        }
        "pause" => one_id(cmd, rest, &[])
            .and_then(|(id, _)| ops::pause(&rt, &id))
            .map(|_| 0),
        "resume" => one_id(cmd, rest, &[])
            .and_then(|(id, _)| ops::resume(&rt, &id))
            .map(|_| 0),
        "ps" => cmd_ps(&rt, rest),
        "list" | "ls" => cmd_list(&rt, rest),
        "exec" => cmd_exec(&rt, rest),
        "update" => cmd_update(&rt, rest),
        "features" => {
            println!("{}", pretty(&template::features()));
            Ok(0)
        }
        "spec" => cmd_spec(rest),
        "help" => {
            println!("{USAGE}");
            Ok(0)
        }
        other => Err(Error(format!("unknown command {other:?}\n{USAGE}"))),
    }
}

fn global_end(argv: &[String]) -> usize {
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if !a.starts_with('-') {
            return i;
        }
        let name = a.trim_start_matches('-');
        let takes = GLOBAL.iter().any(|(n, t)| *t && n.contains(&name));
        i += if takes { 2 } else { 1 };
    }
    argv.len()
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn one_id(cmd: &str, rest: &[String], spec: FlagSpec) -> Result<(String, Parsed), Error> {
    let p = parse(cmd, spec, rest, None)?;
    let id = p
        .args
        .first()
        .cloned()
        .ok_or_else(|| Error(format!("{cmd}: container ID required")))?;
    Ok((id, p))
}

fn cmd_create(rt: &Runtime, cmd: &str, rest: &[String]) -> Result<i32, Error> {
    let (id, p) = one_id(cmd, rest, CREATE)?;
    let opts = CreateOptions {
        id,
        bundle: PathBuf::from(p.get("bundle").unwrap_or(".")),
        console_socket: p.get("console-socket").map(PathBuf::from),
        pid_file: p.get("pid-file").map(absolute),
        preserve_fds: number(&p, "preserve-fds")?.unwrap_or(0),
        preserved: None,
        no_pivot: p.has("no-pivot"),
        no_new_keyring: p.has("no-new-keyring"),
    };
    let mode = if cmd == "create" {
        Mode::Create
    } else {
        Mode::Run {
            detach: p.has("detach"),
        }
    };
    create::create(rt, &opts, mode)
}

/// Paths are taken relative to the caller's directory even though create moves to
/// the bundle.
fn absolute(p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
}

fn number<T: std::str::FromStr>(p: &Parsed, name: &str) -> Result<Option<T>, Error> {
    p.get(name)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| Error(format!("--{name} {v:?}: not a number")))
        })
        .transpose()
}

fn cmd_ps(rt: &Runtime, rest: &[String]) -> Result<i32, Error> {
    let p = parse("ps", &[(&["format", "f"], true)], rest, Some(1))?;
    let id = p.args.first().ok_or("ps: container ID required")?;
    if p.get("format") == Some("json") {
        println!(
            "{}",
            serde_json::to_string(&ops::pids(rt, id)?).unwrap_or_default()
        );
    } else {
        print!("{}", ops::ps_table(rt, id, &p.args[1..])?);
    }
    Ok(0)
}

fn cmd_list(rt: &Runtime, rest: &[String]) -> Result<i32, Error> {
    let p = parse(
        "list",
        &[(&["format", "f"], true), (&["quiet", "q"], false)],
        rest,
        None,
    )?;
    let all = ops::list(rt)?;
    if p.has("quiet") {
        for (st, _) in &all {
            println!("{}", st.id);
        }
    } else if p.get("format") == Some("json") {
        let v: Vec<serde_json::Value> = all.iter().map(|(st, s)| st.oci(*s)).collect();
        println!("{}", serde_json::Value::Array(v));
    } else {
        let rows: Vec<[String; 6]> = all
            .iter()
            .map(|(st, s)| {
                let pid = if *s == berth_runtime::state::Status::Stopped {
                    0
                } else {
                    st.pid
                };
                [
                    st.id.clone(),
                    pid.to_string(),
                    s.as_str().into(),
                    st.bundle.clone(),
                    st.created.clone(),
                    "root".into(),
                ]
            })
            .collect();
        let head = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
        let mut widths = [0usize; 6];
        for r in std::iter::once(&head).chain(rows.iter()) {
            for (w, c) in widths.iter_mut().zip(r.iter()) {
                *w = (*w).max(c.len());
            }
        }
        for r in std::iter::once(&head).chain(rows.iter()) {
            let line: Vec<String> = r
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            println!("{}", line.join("   ").trim_end());
        }
    }
    Ok(0)
}

fn cmd_exec(rt: &Runtime, rest: &[String]) -> Result<i32, Error> {
    let p = parse("exec", EXEC, rest, Some(1))?;
    let id = p
        .args
        .first()
        .cloned()
        .ok_or("exec: container ID required")?;
    let gids = p
        .all("additional-gids")
        .iter()
        .map(|g| {
            g.parse::<u32>()
                .map_err(|_| Error(format!("--additional-gids {g:?}: not a number")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let o = exec::ExecOptions {
        id,
        process_file: p.get("process").map(PathBuf::from),
        args: p.args[1..].to_vec(),
        tty: p.has("tty"),
        cwd: p.get("cwd").map(String::from),
        env: p.all("env"),
        user: p.get("user").map(String::from),
        additional_gids: gids,
        caps: p.all("cap"),
        no_new_privs: p.has("no-new-privs"),
        apparmor: p.get("apparmor").map(String::from),
        detach: p.has("detach"),
        pid_file: p.get("pid-file").map(absolute),
        console_socket: p.get("console-socket").map(PathBuf::from),
        preserve_fds: number(&p, "preserve-fds")?.unwrap_or(0),
        stdio: None,
    };
    exec::exec(rt, &o)
}

fn cmd_update(rt: &Runtime, rest: &[String]) -> Result<i32, Error> {
    let (id, p) = one_id("update", rest, UPDATE)?;
    let f = ops::UpdateFlags {
        resources_file: p.get("resources").map(String::from),
        memory: number(&p, "memory")?,
        memory_swap: number(&p, "memory-swap")?,
        memory_reservation: number(&p, "memory-reservation")?,
        kernel_memory: number(&p, "kernel-memory")?,
        cpu_shares: number(&p, "cpu-shares")?,
        cpu_quota: number(&p, "cpu-quota")?,
        cpu_period: number(&p, "cpu-period")?,
        cpu_rt_runtime: number(&p, "cpu-rt-runtime")?,
        cpu_rt_period: number(&p, "cpu-rt-period")?,
        cpuset_cpus: p.get("cpuset-cpus").map(String::from),
        cpuset_mems: p.get("cpuset-mems").map(String::from),
        pids_limit: number(&p, "pids-limit")?,
        blkio_weight: number(&p, "blkio-weight")?,
    };
    ops::update(rt, &id, &f).map(|_| 0)
}

fn cmd_spec(rest: &[String]) -> Result<i32, Error> {
    let p = parse(
        "spec",
        &[(&["bundle", "b"], true), (&["rootless"], false)],
        rest,
        None,
    )?;
    let dir = PathBuf::from(p.get("bundle").unwrap_or("."));
    let path = dir.join("config.json");
    if path.exists() {
        return Err(Error(format!("{} exists; remove it first", path.display())));
    }
    let body = pretty(&template::default_spec(p.has("rootless")));
    std::fs::write(&path, body + "\n")
        .map_err(|e| Error(format!("write {}: {e}", path.display())))?;
    Ok(0)
}
