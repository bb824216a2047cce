//! Which OCI runtime runs a container: berth's own, in process (the default),
//! or a runc-compatible binary (`--runtime runc|crun|berth-oci|PATH`, or a name
//! from containers.conf's `[engine.runtimes]`) driven
//! through its command line, with its state kept under `RUNROOT/NAME`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_runtime::create::{self, CreateOptions, Mode};
use berth_storage::Store;

use crate::conf::ConfError;
use crate::run::RunError;

/// A runtime that cannot be found, or that refused.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("--runtime {name}: none of containers.conf's paths for it exists ({})",
        .paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ConfiguredPathsMissing { name: String, paths: Vec<PathBuf> },
    #[error("--runtime {0}: no such file")]
    NoSuchFile(String),
    #[error("OCI runtime \"{0}\" not found in $PATH")]
    NotInPath(String),
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// The built-in runtime's error.
    #[error(transparent)]
    Builtin(#[from] berth_runtime::Error),
    /// A runtime binary could not be run.
    #[error("{0}")]
    Exec(#[source] std::io::Error),
    /// A runtime binary failed: its own last words.
    #[error("{0}")]
    Binary(String),
    #[error(transparent)]
    Run(#[from] RunError),
}

pub enum Oci {
    /// The berth-runtime library, in this process.
    Builtin(create::Runtime),
    /// A runtime binary with runc's command line.
    Binary {
        path: PathBuf,
        root: PathBuf,
        /// Global options given before each command (`--runtime-flag`).
        flags: Vec<String>,
    },
}

/// The names `--runtime` takes for the built-in runtime.
fn is_builtin(name: &str) -> bool {
    matches!(name, "" | "berth" | "builtin")
}

/// Checks a `--runtime` value: the built-in one, a path, or a program on PATH.
pub fn resolve(name: &str) -> Result<Option<PathBuf>, OciError> {
    if is_builtin(name) {
        return Ok(None);
    }
    // containers.conf's [engine.runtimes] names binaries as podman's does.
    if let Some(paths) = crate::conf::get()?.runtimes.get(name) {
        return paths
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .map(Some)
            .ok_or_else(|| OciError::ConfiguredPathsMissing {
                name: name.to_string(),
                paths: paths.clone(),
            });
    }
    let p = Path::new(name);
    if p.is_absolute() {
        return if p.is_file() {
            Ok(Some(p.to_path_buf()))
        } else {
            Err(OciError::NoSuchFile(name.to_string()))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([
            "/usr/local/bin".into(),
            "/usr/bin".into(),
            "/usr/sbin".into(),
        ])
        .map(|d| d.join(name))
        .find(|c| c.is_file())
        .map(Some)
        .ok_or_else(|| OciError::NotInPath(name.to_string()))
}

/// The fds this process inherited to pass on to its foreground container
/// (`run --preserve-fds`), found by the front end before it opened any file.
static INHERITED: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();

/// Records the inherited fds (3 and up) a foreground container gets.
pub fn pass_inherited_fds(fds: Vec<i32>) {
    let _ = INHERITED.set(fds);
}

impl Oci {
    /// The runtime a container was created with.
    /// The runtime a container was made with, with its `--runtime-flag`s.
    pub fn for_container(store: &Store, info: &crate::container::Info) -> Result<Oci, RunError> {
        let p = &info.config.process;
        let mut oci = Oci::of(store, p.runtime.as_deref())?;
        if let Oci::Binary { flags, .. } = &mut oci {
            flags.clone_from(&p.runtime_flags);
        }
        Ok(oci)
    }

    /// `--runtime-flag`s the built-in runtime takes (it has no others).
    pub fn check_builtin_flags(flags: &[String]) -> Result<(), RunError> {
        match flags
            .iter()
            .find(|f| !["debug", "systemd-cgroup"].contains(&f.as_str()))
        {
            Some(f) => Err(RunError::CannotRun(format!(
                "--runtime-flag {f}: the built-in runtime has no flag --{f}"
            ))),
            None => Ok(()),
        }
    }

    pub fn of(store: &Store, runtime: Option<&str>) -> Result<Oci, RunError> {
        let name = runtime.unwrap_or("");
        match resolve(name).map_err(|e| RunError::Engine(e.to_string()))? {
            None => Ok(Oci::Builtin(crate::run::runtime(store))),
            Some(path) => {
                let base = path.file_name().map(|n| n.to_string_lossy().into_owned());
                Ok(Oci::Binary {
                    root: store
                        .config()
                        .run_root
                        .join(base.unwrap_or_else(|| "runtime".into())),
                    path,
                    flags: Vec::new(),
                })
            }
        }
    }

    fn cmd(&self) -> Option<Command> {
        match self {
            Oci::Builtin(_) => None,
            Oci::Binary { path, root, flags } => {
                let mut c = Command::new(path);
                // `--runtime-flag`s: the runtime's own global options.
                c.args(flags.iter().map(|f| format!("--{f}")));
                c.arg("--root").arg(root);
                Some(c)
            }
        }
    }

    /// Creates and starts the container; returns once it runs. Its process
    /// inherits this process's stdio. With a binary runtime the container's init
    /// is re-parented to the caller, which must be a child subreaper to reap it.
    pub fn run_detached(
        &self,
        id: &str,
        bundle: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
    ) -> Result<(), RunError> {
        match self {
            Oci::Builtin(rt) => {
                // The runtime's warnings go to the bundle's log, as a runtime
                // binary's do (`--log`), not to the user's terminal.
                berth_runtime::log::init(Some(bundle.join("runtime.log")), false);
                let opts = CreateOptions {
                    id: id.to_string(),
                    bundle: bundle.to_path_buf(),
                    pid_file: Some(pid_file.to_path_buf()),
                    console_socket: console_socket.map(Path::to_path_buf),
                    preserved: INHERITED.get().cloned(),
                    ..Default::default()
                };
                create::create(rt, &opts, Mode::Run { detach: true })
                    .map(drop)
                    .map_err(|e| crate::run::classify(&e.0))
            }
            Oci::Binary { .. } => {
                // The container inherits the runtime's stdio: leave ours to it,
                // and read the runtime's complaint from its log instead.
                let log = bundle.join("runtime.log");
                let _ = std::fs::remove_file(&log);
                let mut c = self.cmd().expect("binary");
                c.arg("--log")
                    .arg(&log)
                    .args(["create", "--bundle"])
                    .arg(bundle)
                    .arg("--pid-file")
                    .arg(pid_file);
                if let Some(n) = INHERITED.get().and_then(|f| f.iter().max()) {
                    c.arg("--preserve-fds").arg((n - 2).to_string());
                }
                if let Some(s) = console_socket {
                    c.arg("--console-socket").arg(s);
                }
                c.arg(id);
                let status = c
                    .status()
                    .map_err(|e| RunError::Engine(format!("run the runtime: {e}")))?;
                if !status.success() {
                    self.delete(id);
                    // A runtime that failed is podman's "OCI runtime error" (126).
                    return Err(match crate::run::classify(&log_error(&log)) {
                        RunError::Engine(m) => RunError::CannotRun(m),
                        e => e,
                    });
                }
                let mut s = self.cmd().expect("binary");
                s.args(["start", id]);
                run_binary(s, "start").inspect_err(|_| self.delete(id))
            }
        }
    }

    /// Forgets the container, killing what is left of it.
    pub fn delete(&self, id: &str) {
        match self {
            Oci::Builtin(rt) => {
                let _ = berth_runtime::delete::delete(rt, id, true);
            }
            Oci::Binary { .. } => {
                let mut c = self.cmd().expect("binary");
                c.args(["delete", "--force", id])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let _ = c.status();
            }
        }
    }

    pub fn pause(&self, id: &str, pause: bool) -> Result<(), OciError> {
        match self {
            Oci::Builtin(rt) => Ok(if pause {
                berth_runtime::ops::pause(rt, id)
            } else {
                berth_runtime::ops::resume(rt, id)
            }?),
            Oci::Binary { .. } => {
                let mut c = self.cmd().expect("binary");
                c.args([if pause { "pause" } else { "resume" }, id]);
                Ok(run_binary(c, "pause")?)
            }
        }
    }

    /// Changes a running container's cgroup limits (runc's `update --resources`).
    pub fn update(&self, id: &str, r: &berth_runtime::spec::Resources) -> Result<(), OciError> {
        let mut file = tempfile::NamedTempFile::new().map_err(OciError::Exec)?;
        serde_json::to_writer(&mut file, r).map_err(|e| OciError::Binary(e.to_string()))?;
        let path = file.path().to_string_lossy().into_owned();
        match self {
            Oci::Builtin(rt) => {
                let flags = berth_runtime::ops::UpdateFlags {
                    resources_file: Some(path),
                    ..Default::default()
                };
                Ok(berth_runtime::ops::update(rt, id, &flags)?)
            }
            Oci::Binary { .. } => {
                let mut c = self.cmd().expect("binary");
                c.args(["update", "--resources", &path, id]);
                Ok(run_binary(c, "update")?)
            }
        }
    }

    /// Sends a signal to every process of the container.
    pub fn kill_all(&self, id: &str, sig: i32) {
        match self {
            Oci::Builtin(rt) => {
                let _ = berth_runtime::ops::kill(rt, id, sig, true);
            }
            Oci::Binary { .. } => {
                let mut c = self.cmd().expect("binary");
                c.args(["kill", "--all", id, &sig.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let _ = c.status();
            }
        }
    }

    /// `ps` of the container's processes.
    /// The host pids of a container's processes.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, OciError> {
        match self {
            Oci::Builtin(rt) => Ok(berth_runtime::ops::pids(rt, id)?),
            Oci::Binary { .. } => {
                let mut c = self.cmd().expect("binary");
                c.args(["ps", "--format", "json", id]);
                let out = c.output().map_err(OciError::Exec)?;
                if !out.status.success() {
                    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
                    return Err(OciError::Binary(said));
                }
                serde_json::from_slice(&out.stdout)
                    .map_err(|e| OciError::Binary(format!("ps --format json: {e}")))
            }
        }
    }

    /// Runs a process in the container with this process's stdio; its exit code.
    pub fn exec(&self, o: &berth_runtime::exec::ExecOptions) -> Result<i32, RunError> {
        match self {
            Oci::Builtin(rt) => {
                berth_runtime::exec::exec(rt, o).map_err(|e| crate::run::classify(&e.0))
            }
            Oci::Binary { .. } => {
                let mut c = self.cmd().expect("binary");
                c.arg("exec");
                if let Some(w) = &o.cwd {
                    c.args(["--cwd", w]);
                }
                for e in &o.env {
                    c.args(["--env", e]);
                }
                if let Some(u) = &o.user {
                    c.args(["--user", u]);
                }
                if o.detach {
                    c.arg("--detach");
                }
                if o.tty {
                    c.arg("--tty");
                }
                if let Some(s) = &o.console_socket {
                    c.arg("--console-socket").arg(s);
                }
                if let Some(p) = &o.pid_file {
                    c.arg("--pid-file").arg(p);
                }
                c.arg(&o.id).args(&o.args);
                if let Some(fds) = o.stdio {
                    let io = |fd| {
                        // SAFETY: the caller keeps `fd` open until exec returns;
                        // the borrow is only to duplicate it.
                        let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                        b.try_clone_to_owned()
                            .map(Stdio::from)
                            .map_err(|e| RunError::Engine(format!("exec stdio: {e}")))
                    };
                    c.stdin(io(fds[0])?).stdout(io(fds[1])?).stderr(io(fds[2])?);
                }
                let status = c
                    .status()
                    .map_err(|e| RunError::Engine(format!("run the runtime: {e}")))?;
                Ok(status.code().unwrap_or(125))
            }
        }
    }
}

/// The last error a runtime wrote to its `--log` (runc's `msg="…"` or a plain line).
fn log_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let line = text
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("the runtime failed to create the container");
    match line.split_once("msg=\"") {
        Some((_, rest)) => rest
            .rsplit_once('"')
            .map_or(rest, |(m, _)| m)
            .replace("\\\"", "\""),
        None => line.to_string(),
    }
}

/// Runs a runtime command; its stderr becomes the error.
fn run_binary(mut c: Command, what: &str) -> Result<(), RunError> {
    let out = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| RunError::Engine(format!("run the runtime ({what}): {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr)
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("the runtime failed")
        .to_string();
    Err(crate::run::classify(&msg))
}
