//! `generate systemd`: units that run a container, or a pod and its
//! containers, as systemd services, laid out as podman writes them so that
//! units and the tools reading them carry over.
//!
//! Without `--new` a unit starts and stops the existing container, and systemd
//! follows the container's monitor through its pid file. With `--new` every
//! start makes a fresh container from the command line that made this one
//! ([`rewrite`]), and the monitor says when it runs (`--sdnotify=conmon`).

mod notify;
pub mod rewrite;

pub use notify::{SdNotify, send as notify};

use berth_storage::Store;

use crate::container::{self, Info, RestartPolicy};
use crate::pods::{self, Pod};

/// `run --systemd`: whether the container is made for systemd as its init.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemdMode {
    /// When the command is systemd or an init (podman's rule).
    #[default]
    True,
    False,
    Always,
}

impl std::str::FromStr for SystemdMode {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<SystemdMode, crate::Error> {
        match s {
            "true" => Ok(SystemdMode::True),
            "false" => Ok(SystemdMode::False),
            "always" => Ok(SystemdMode::Always),
            _ => Err(crate::Error::InvalidArgument(format!(
                "--systemd {s}: expected true, false or always"
            ))),
        }
    }
}

impl SystemdMode {
    /// Whether a container running `args` gets systemd's setting: writable
    /// tmpfs on /run, /run/lock, /tmp and /var/log/journal, `container_uuid`,
    /// and SIGRTMIN+3 (systemd's halt) as its stop signal.
    pub fn applies(self, args: &[String]) -> bool {
        let Some(cmd) = args.first() else {
            return false;
        };
        match self {
            SystemdMode::Always => true,
            SystemdMode::False => false,
            SystemdMode::True => {
                ["/sbin/init", "/usr/sbin/init", "/usr/local/sbin/init"].contains(&cmd.as_str())
                    || cmd.rsplit('/').next() == Some("systemd")
            }
        }
    }
}

/// Where systemd inside a container needs writable, private directories.
pub const SYSTEMD_TMPFS: [&str; 4] = ["/run", "/run/lock", "/tmp", "/var/log/journal"];

/// The variable every unit sets to its own name (podman's, which
/// `auto-update` and scripts read).
pub const UNIT_VARIABLE: &str = "PODMAN_SYSTEMD_UNIT";

/// systemd's restart policies, the values `--restart-policy` takes.
const RESTART_POLICIES: [&str; 7] = [
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// Seconds systemd allows beyond the container's own stop timeout.
const STOP_GRACE: u64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Engine(#[from] crate::Error),
    #[error("{0} is not a valid restart policy")]
    RestartPolicy(String),
    #[error("--template is not supported for pods")]
    TemplateForPod,
    #[error("--template cannot be set with --new=false")]
    TemplateWithoutNew,
    #[error(
        "cannot use --new on {0}: no create command found: only works on those created with berth's command line"
    )]
    NoCreateCommand(String),
    #[error("the create command cannot be made into a unit's run: {0}")]
    CreateCommand(String),
    #[error("generating systemd unit files: pod {0} has no infra container")]
    NoInfra(String),
    /// `--files`: a unit file that could not be written.
    #[error("{}: {source}", path.display())]
    WriteFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// `generate systemd`'s flags.
#[derive(Clone, Debug)]
pub struct UnitOptions {
    /// `--name`: units name the container (or pod) instead of its ID.
    pub use_name: bool,
    /// `--new`: every start makes a fresh container.
    pub new: bool,
    /// `--template`: a `NAME@.service` template whose instances are containers.
    pub template: bool,
    pub no_header: bool,
    /// `--restart-policy` (default on-failure, or the container's own with `--new`).
    pub restart_policy: Option<String>,
    pub restart_sec: Option<u64>,
    pub start_timeout: Option<u64>,
    /// `--stop-timeout` (default: the container's).
    pub stop_timeout: Option<u64>,
    pub container_prefix: String,
    pub pod_prefix: String,
    pub separator: String,
    pub wants: Vec<String>,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    /// `--env`: more `Environment=` lines.
    pub env: Vec<String>,
    /// The berth binary the units run.
    pub executable: String,
    /// The store flags (`--root` …) units without `--new` give it; with
    /// `--new`, those of the command that made the container.
    pub root_flags: Vec<String>,
}

impl Default for UnitOptions {
    fn default() -> UnitOptions {
        UnitOptions {
            use_name: false,
            new: false,
            template: false,
            no_header: false,
            restart_policy: None,
            restart_sec: None,
            start_timeout: None,
            stop_timeout: None,
            container_prefix: "container".into(),
            pod_prefix: "pod".into(),
            separator: "-".into(),
            wants: vec![],
            after: vec![],
            requires: vec![],
            env: vec![],
            executable: "/usr/bin/berth".into(),
            root_flags: vec![],
        }
    }
}

/// One unit: its service name (without `.service`) and its text.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Unit {
    pub service: String,
    pub text: String,
}

/// `--files`: each unit written to `SERVICE.service` in `dir` (whole, 0644
/// as podman's); the paths written, in the units' order.
pub fn write_files(
    dir: &std::path::Path,
    units: &[Unit],
) -> Result<Vec<std::path::PathBuf>, GenerateError> {
    let write = |u: &Unit| {
        let path = dir.join(format!("{}.service", u.service));
        match crate::outfile::write(&path, &u.text) {
            Ok(()) => Ok(path),
            Err(source) => Err(GenerateError::WriteFile { path, source }),
        }
    };
    units.iter().map(write).collect()
}

/// The units for a container, or for a pod and its containers (the pod's
/// first).
pub fn units(store: &Store, name: &str, o: &UnitOptions) -> Result<Vec<Unit>, GenerateError> {
    if let Some(p) = &o.restart_policy
        && !RESTART_POLICIES.contains(&p.as_str())
    {
        return Err(GenerateError::RestartPolicy(p.clone()));
    }
    if o.template && !o.new {
        return Err(GenerateError::TemplateWithoutNew);
    }
    match container::find(store, name) {
        Ok(c) if !c.config.process.infra => Ok(vec![container_unit(store, &c, o, None)?]),
        _ => match pods::find(store, name) {
            Ok(p) => pod_units(store, &p, o),
            Err(_) => Err(crate::Error::NoSuchContainer(name.to_string()).into()),
        },
    }
}

/// `--cgroups`: berth's monitor never joins the container's cgroup, so
/// `no-conmon` (what units ask for) is the default's behaviour; a container
/// without a cgroup of its own is not supported.
pub fn check_cgroups_mode(mode: &str) -> Result<(), crate::Error> {
    match mode {
        "enabled" | "no-conmon" => Ok(()),
        "disabled" | "split" => Err(crate::Error::InvalidArgument(format!(
            "--cgroups {mode}: not supported (enabled or no-conmon)"
        ))),
        _ => Err(crate::Error::InvalidArgument(format!(
            "--cgroups {mode}: expected enabled, no-conmon, disabled or split"
        ))),
    }
}

/// The monitor's pid file, which a unit without `--new` follows.
pub fn monitor_pid_file(store: &Store, info: &Info) -> std::path::PathBuf {
    info.config
        .process
        .conmon_pidfile
        .clone()
        .unwrap_or_else(|| container::userdata(store, &info.id).join("conmon.pid"))
}

fn service_name(prefix: &str, o: &UnitOptions, name_or_id: &str) -> String {
    if prefix.is_empty() {
        name_or_id.to_string()
    } else {
        format!("{prefix}{}{name_or_id}", o.separator)
    }
}

fn name_or_id(o: &UnitOptions, name: &str, id: &str) -> String {
    if o.use_name { name } else { id }.to_string()
}

fn stop_timeout(o: &UnitOptions, info: &Info) -> u64 {
    o.stop_timeout
        .or(info.config.process.stop_timeout)
        .unwrap_or(10)
}

/// The pod a member's unit belongs to: its service and its pod-id file.
struct PodService {
    service: String,
    id_file: String,
}

fn container_unit(
    store: &Store,
    info: &Info,
    o: &UnitOptions,
    pod: Option<&PodService>,
) -> Result<Unit, GenerateError> {
    let target = name_or_id(o, info.name(), &info.id);
    let service = service_name(&o.container_prefix, o, &target);
    let stop = stop_timeout(o, info);
    let mut s = Service::new(o, store);
    s.stop_timeout = stop;
    s.binds_to = pod.map(|p| p.service.clone()).into_iter().collect();
    s.restart = o.restart_policy.clone().unwrap_or("on-failure".into());
    if !o.new {
        if info.config.restart != RestartPolicy::No {
            // systemd's stop and the monitor's restart would fight.
            log::warn!(
                "Container {} has restart policy {:?} which can lead to issues on shutdown: consider recreating the container without a restart policy and use systemd's restart mechanism instead",
                info.id,
                info.config.restart.name()
            );
        }
        existing_lines(&mut s, store, o, info, &target);
        return Ok(s.render(o, &service));
    }
    let p = &info.config.process;
    if p.create_command.is_empty() {
        return Err(GenerateError::NoCreateCommand(format!(
            "container {}",
            info.id
        )));
    }
    let positional = 1 + p.command.len();
    let line = rewrite::run_line(
        &p.create_command,
        positional,
        &o.executable,
        pod.map(|p| p.id_file.as_str()),
    )?;
    if o.restart_policy.is_none()
        && let Some(r) = &line.restart
    {
        (s.restart, s.start_limit_burst) = systemd_restart(r);
    }
    // `-e NAME` reads NAME from the environment of `run`: the unit sets it.
    let extra: Vec<String> = line
        .env_names
        .iter()
        .filter_map(|n| {
            p.env
                .iter()
                .find(|e| e.split('=').next() == Some(n.as_str()))
        })
        .map(|e| rewrite::escape(e))
        .collect();
    if !extra.is_empty() {
        s.env.insert(0, extra.join(" "));
    }
    let mut args = line.args;
    if o.template {
        name_instances(&mut args, &service);
    }
    let t = stop.to_string();
    let with_store = |verb: &[&str]| {
        let words = [verb, &["-t", &t, "--cidfile=%t/%n.ctr-id"]].concat();
        command_line(&o.executable, &line.root_flags, &words)
    };
    s.exec_start_pre = vec!["/bin/rm \\\n\t-f %t/%n.ctr-id".into()];
    s.exec_start = rewrite::layout(&args);
    s.exec_stop = with_store(&["stop", "--ignore"]);
    s.exec_stop_post = with_store(&["rm", "-f", "--ignore"]);
    s.notify = true;
    Ok(s.render(o, &service))
}

/// A unit without `--new`: it starts and stops the existing container
/// (`target`), and systemd follows its monitor through the pid file.
fn existing_lines(s: &mut Service, store: &Store, o: &UnitOptions, info: &Info, target: &str) {
    let root: Vec<String> = o.root_flags.iter().map(|f| rewrite::escape(f)).collect();
    let stop = s.stop_timeout.to_string();
    s.exec_start = command_line(&o.executable, &root, &["start", target]);
    s.exec_stop = command_line(&o.executable, &root, &["stop", "-t", &stop, target]);
    s.exec_stop_post = s.exec_stop.clone();
    s.pid_file = Some(monitor_pid_file(store, info).display().to_string());
}

/// berth (escaped), its store flags (escaped already) and a verb's words, laid
/// out as a unit's command line.
fn command_line(exe: &str, root: &[String], verb: &[&str]) -> String {
    let mut v = vec![rewrite::escape(exe)];
    v.extend(root.iter().cloned());
    v.extend(verb.iter().map(|w| w.to_string()));
    rewrite::layout(&v)
}

/// A container's `--restart` as systemd's: `on-failure:N` allows N starts,
/// `unless-stopped` is `always` (systemd knows when it stopped the unit).
fn systemd_restart(flag: &str) -> (String, Option<String>) {
    match RestartPolicy::parse(flag) {
        Ok(RestartPolicy::OnFailure(n)) if n > 0 => ("on-failure".into(), Some(n.to_string())),
        Ok(RestartPolicy::UnlessStopped) => ("always".into(), None),
        _ => (flag.to_string(), None),
    }
}

/// `--template`: each instance's container is named after it (`-%i`).
fn name_instances(args: &mut Vec<String>, service: &str) {
    if let Some(i) = args.iter().position(|a| a == "--name") {
        if let Some(v) = args.get_mut(i + 1) {
            v.push_str("-%i");
        }
    } else if let Some(a) = args.iter_mut().find(|a| a.starts_with("--name=")) {
        a.push_str("-%i");
    } else if let Some(run) = args.iter().position(|a| a == "run") {
        args.insert(run + 1, format!("--name={service}-%i"));
    }
}

fn pod_units(store: &Store, pod: &Pod, o: &UnitOptions) -> Result<Vec<Unit>, GenerateError> {
    if o.template {
        return Err(GenerateError::TemplateForPod);
    }
    let infra_id = pod
        .infra_id
        .clone()
        .ok_or_else(|| GenerateError::NoInfra(pod.name.clone()))?;
    let members = pods::members(store, pod);
    let infra = container::find(store, &infra_id)?;
    let service = service_name(&o.pod_prefix, o, &name_or_id(o, &pod.name, &pod.id));
    let holder = PodService {
        service: service.clone(),
        id_file: format!("%t/{service}.pod-id"),
    };
    let mut units = vec![];
    for m in members.iter().filter(|m| m.id != infra_id) {
        units.push(container_unit(store, m, o, Some(&holder))?);
    }
    let stop = stop_timeout(o, &infra);
    let target = name_or_id(o, infra.name(), &infra.id);
    let mut s = Service::new(o, store);
    s.stop_timeout = stop;
    s.restart = o.restart_policy.clone().unwrap_or("on-failure".into());
    s.required = units.iter().map(|u| u.service.clone()).collect();
    s.required.sort();
    if o.new {
        new_pod_lines(&mut s, pod, o, &service, &holder.id_file, stop)?;
    } else {
        existing_lines(&mut s, store, o, &infra, &target);
    }
    units.insert(0, s.render(o, &service));
    Ok(units)
}

/// A pod's unit with `--new`: the pod is made afresh before each start and
/// removed after each stop, found by the ID file its `pod create` writes.
fn new_pod_lines(
    s: &mut Service,
    pod: &Pod,
    o: &UnitOptions,
    service: &str,
    id_file: &str,
    stop: u64,
) -> Result<(), GenerateError> {
    if pod.create_command.is_empty() {
        return Err(GenerateError::NoCreateCommand(format!("pod {}", pod.id)));
    }
    let pid_file = format!("%t/{service}.pid");
    let (create, root) =
        rewrite::pod_create_line(&pod.create_command, &o.executable, &pid_file, id_file)?;
    let line = |verb: &[&str]| command_line(&o.executable, &root, verb);
    s.exec_start_pre = vec![
        format!("/bin/rm \\\n\t-f {pid_file} {id_file}"),
        rewrite::layout(&create),
    ];
    s.exec_start = line(&["pod", "start", "--pod-id-file", id_file]);
    let t = stop.to_string();
    s.exec_stop = line(&[
        "pod",
        "stop",
        "--ignore",
        "--pod-id-file",
        id_file,
        "-t",
        &t,
    ]);
    s.exec_stop_post = line(&["pod", "rm", "--ignore", "-f", "--pod-id-file", id_file]);
    s.pid_file = Some(pid_file);
    Ok(())
}

/// What a unit says, filled in by the container or pod it runs.
struct Service {
    template: bool,
    run_root: String,
    binds_to: Vec<String>,
    required: Vec<String>,
    env: Vec<String>,
    restart: String,
    start_limit_burst: Option<String>,
    stop_timeout: u64,
    exec_start_pre: Vec<String>,
    exec_start: String,
    exec_stop: String,
    exec_stop_post: String,
    pid_file: Option<String>,
    notify: bool,
}

impl Service {
    fn new(o: &UnitOptions, store: &Store) -> Service {
        Service {
            template: o.template,
            run_root: store.config().run_root.display().to_string(),
            binds_to: vec![],
            required: vec![],
            env: o.env.iter().map(|e| rewrite::escape(e)).collect(),
            restart: String::new(),
            start_limit_burst: None,
            stop_timeout: 10,
            exec_start_pre: vec![],
            exec_start: String::new(),
            exec_stop: String::new(),
            exec_stop_post: String::new(),
            pid_file: None,
            notify: false,
        }
    }

    fn render(&self, o: &UnitOptions, service: &str) -> Unit {
        let mut t = String::new();
        let at = if self.template { "@" } else { "" };
        t += &format!("# {service}{at}.service\n");
        if !o.no_header {
            t += &format!("# autogenerated by berth {}\n", env!("CARGO_PKG_VERSION"));
            t += &format!("# {}\n", crate::time::unix_date(crate::time::now_ns()));
        }
        let for_instance = if self.template { " for %I" } else { "" };
        t += &format!("\n[Unit]\nDescription=berth {service}.service{for_instance}\n");
        t += "Wants=network-online.target\nAfter=network-online.target\n";
        t += &format!("RequiresMountsFor={}\n", self.run_root);
        let list = |v: &[String]| v.iter().map(|s| format!("{s}.service")).collect::<Vec<_>>();
        if !self.binds_to.is_empty() {
            let b = list(&self.binds_to).join(" ");
            t += &format!("BindsTo={b}\nAfter={b}\n");
        }
        if !self.required.is_empty() {
            let r = list(&self.required).join(" ");
            t += &format!("Wants={r}\nBefore={r}\n");
        }
        if !(o.wants.is_empty() && o.after.is_empty() && o.requires.is_empty()) {
            t += "\n# User-defined dependencies\n";
        }
        for (key, v) in [
            ("Wants", &o.wants),
            ("After", &o.after),
            ("Requires", &o.requires),
        ] {
            if !v.is_empty() {
                t += &format!("{key}={}\n", v.join(" "));
            }
        }
        let instance = if self.template { "-%i" } else { "" };
        t += &format!("\n[Service]\nEnvironment={UNIT_VARIABLE}=%n{instance}\n");
        for e in &self.env {
            t += &format!("Environment={e}\n");
        }
        t += &format!("Restart={}\n", self.restart);
        if let Some(b) = &self.start_limit_burst {
            t += &format!("StartLimitBurst={b}\n");
        }
        if let Some(s) = o.restart_sec {
            t += &format!("RestartSec={s}\n");
        }
        if let Some(s) = o.start_timeout.filter(|s| *s > 0) {
            t += &format!("TimeoutStartSec={s}\n");
        }
        t += &format!("TimeoutStopSec={}\n", STOP_GRACE + self.stop_timeout);
        for pre in &self.exec_start_pre {
            t += &format!("ExecStartPre={pre}\n");
        }
        t += &format!("ExecStart={}\n", self.exec_start);
        t += &format!("ExecStop={}\n", self.exec_stop);
        t += &format!("ExecStopPost={}\n", self.exec_stop_post);
        if let Some(p) = &self.pid_file {
            t += &format!("PIDFile={p}\n");
        }
        if self.notify {
            t += "Type=notify\nNotifyAccess=all\n";
        } else {
            t += "Type=forking\n";
        }
        t += "\n[Install]\nWantedBy=default.target\n";
        Unit {
            service: service.to_string(),
            text: t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_files_are_named_after_their_services() {
        let dir = tempfile::tempdir().unwrap();
        let unit = |s: &str| Unit {
            service: s.into(),
            text: format!("[Unit]\nDescription={s}\n"),
        };
        let paths = write_files(dir.path(), &[unit("pod-p"), unit("container-c")]).unwrap();
        assert_eq!(paths[1], dir.path().join("container-c.service"));
        let text = std::fs::read_to_string(&paths[0]).unwrap();
        assert_eq!(text, "[Unit]\nDescription=pod-p\n");
        let e = write_files(&dir.path().join("none"), &[unit("x")]).unwrap_err();
        assert!(matches!(e, GenerateError::WriteFile { .. }), "{e}");
    }

    #[test]
    fn restart_flags_become_systemds() {
        assert_eq!(
            systemd_restart("on-failure:42"),
            ("on-failure".into(), Some("42".into()))
        );
        assert_eq!(systemd_restart("unless-stopped"), ("always".into(), None));
        assert_eq!(systemd_restart("always"), ("always".into(), None));
    }

    #[test]
    fn template_instances_get_their_own_names() {
        let mut a: Vec<String> = ["/b", "run", "--name", "web", "img"]
            .map(String::from)
            .into();
        name_instances(&mut a, "container-web");
        assert_eq!(a[3], "web-%i");
        let mut a: Vec<String> = ["/b", "run", "-d", "img"].map(String::from).into();
        name_instances(&mut a, "container-abc");
        assert_eq!(a[2], "--name=container-abc-%i");
    }
}
