//! containers.conf: the engine settings podman reads, from the same files in
//! the same order, so that one file configures both tools. Only the keys berth
//! acts on are kept; the rest of the file is accepted and ignored.
//!
//! Files, later ones overriding earlier keys: `$CONTAINERS_CONF` alone when it
//! is set; otherwise `/usr/share/containers/containers.conf`,
//! `/etc/containers/containers.conf`, `/etc/containers/containers.conf.d/*.conf`
//! and, for users other than root, `~/.config/containers/containers.conf`.
//! `$CONTAINERS_CONF_OVERRIDE` comes last in either case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

/// A containers.conf file that cannot be used; each names the file.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ConfError {
    /// Not TOML: the parser's first line (it names the line and column).
    #[error("{}: {message}", .path.display())]
    Syntax {
        path: PathBuf,
        /// 1-based, where the parser knows it.
        line: Option<usize>,
        message: String,
    },
    #[error("{}: network_backend {value:?}: expected berth, netavark or cni", .path.display())]
    NetworkBackend { path: PathBuf, value: String },
    /// A file that exists (or was named by `$CONTAINERS_CONF`) and cannot be read.
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        // Shared: the settings, and so this error, are read once per process.
        source: Arc<std::io::Error>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainersConf {
    /// `[engine] runtime`: the OCI runtime containers are created with.
    pub runtime: Option<String>,
    /// `[engine.runtimes]`: a runtime's name → where its binary may be.
    pub runtimes: BTreeMap<String, Vec<PathBuf>>,
    /// `[engine] helper_binaries_dir`: where netavark and aardvark-dns are looked for.
    pub helper_binaries_dir: Vec<PathBuf>,
    /// `[network] network_backend`: berth (its own, the default), netavark or cni.
    pub network_backend: Option<String>,
    /// `[network] cni_plugin_dirs`.
    pub cni_plugin_dirs: Vec<PathBuf>,
    /// `[containers] netns`: the network mode of a container given no --network.
    pub netns: Option<String>,
    /// `[containers] log_driver`.
    pub log_driver: Option<String>,
    /// `[engine] image_volume_mode`: bind (the default), tmpfs or ignore.
    pub image_volume_mode: Option<String>,
    /// `[engine] events_logfile_path`: where the file backend keeps events.
    pub events_logfile_path: Option<PathBuf>,
    /// `[engine] events_logger`: file, journald or none (`--events-backend`
    /// overrides it).
    pub events_logger: Option<String>,
    /// `[engine] volume_path`: where named volumes live (default
    /// GRAPHROOT/volumes).
    pub volume_path: Option<PathBuf>,
    /// `[engine] infra_image`: pods' infra image (default berth's own).
    pub infra_image: Option<String>,
    /// `[containers] dns_servers`, `dns_searches`, `dns_options`: a
    /// container's resolv.conf when its flags name none.
    pub dns_servers: Vec<String>,
    pub dns_searches: Vec<String>,
    pub dns_options: Vec<String>,
    /// `[containers] userns`: the user namespace mode of a container given no
    /// --userns, --uidmap or --gidmap (podman's: e.g. "auto").
    pub userns: Option<String>,
    /// `[containers] default_capabilities`: a container's capabilities
    /// before --cap-add/--cap-drop (None: berth's, podman's own list).
    pub default_capabilities: Option<Vec<String>>,
    /// `[containers] default_sysctls`: set in every container unless its
    /// --sysctl sets the key, or the key's namespace is the host's (Debian's
    /// file sets `net.ipv4.ping_group_range=0 0`, so that ping works).
    pub default_sysctls: Vec<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct File {
    containers: ContainersTable,
    engine: EngineTable,
    network: NetworkTable,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ContainersTable {
    netns: Option<String>,
    log_driver: Option<String>,
    dns_servers: Option<Vec<String>>,
    dns_searches: Option<Vec<String>>,
    dns_options: Option<Vec<String>>,
    userns: Option<String>,
    default_capabilities: Option<Vec<String>>,
    default_sysctls: Option<Vec<String>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct EngineTable {
    runtime: Option<String>,
    runtimes: BTreeMap<String, Vec<PathBuf>>,
    helper_binaries_dir: Option<Vec<PathBuf>>,
    image_volume_mode: Option<String>,
    events_logfile_path: Option<PathBuf>,
    events_logger: Option<String>,
    volume_path: Option<PathBuf>,
    infra_image: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NetworkTable {
    network_backend: Option<String>,
    cni_plugin_dirs: Option<Vec<PathBuf>>,
}

impl ContainersConf {
    /// Lays one file's settings over these.
    fn merge(&mut self, f: File) {
        let or = |a: &mut Option<String>, b: Option<String>| {
            if b.as_deref().is_some_and(|s| !s.is_empty()) {
                *a = b;
            }
        };
        or(&mut self.runtime, f.engine.runtime);
        or(&mut self.network_backend, f.network.network_backend);
        or(&mut self.netns, f.containers.netns);
        or(&mut self.log_driver, f.containers.log_driver);
        or(&mut self.userns, f.containers.userns);
        or(&mut self.image_volume_mode, f.engine.image_volume_mode);
        or(&mut self.infra_image, f.engine.infra_image);
        or(&mut self.events_logger, f.engine.events_logger);
        if let Some(p) = f
            .engine
            .events_logfile_path
            .filter(|p| !p.as_os_str().is_empty())
        {
            self.events_logfile_path = Some(p);
        }
        if let Some(p) = f.engine.volume_path.filter(|p| !p.as_os_str().is_empty()) {
            self.volume_path = Some(p);
        }
        for (mine, theirs) in [
            (&mut self.dns_servers, f.containers.dns_servers),
            (&mut self.dns_searches, f.containers.dns_searches),
            (&mut self.dns_options, f.containers.dns_options),
        ] {
            if let Some(v) = theirs {
                *mine = v;
            }
        }
        if let Some(c) = f.containers.default_capabilities {
            self.default_capabilities = Some(c);
        }
        if let Some(s) = f.containers.default_sysctls {
            self.default_sysctls = s;
        }
        self.runtimes.extend(f.engine.runtimes);
        if let Some(d) = f.engine.helper_binaries_dir {
            self.helper_binaries_dir = d;
        }
        if let Some(d) = f.network.cni_plugin_dirs {
            self.cni_plugin_dirs = d;
        }
    }

    /// Parses one file's text; `path` names it in the error.
    pub fn parse(&mut self, path: &Path, text: &str) -> Result<(), ConfError> {
        let f: File = toml::from_str(text).map_err(|e| syntax(path, text, &e))?;
        if let Some(b) = &f.network.network_backend
            && !matches!(b.as_str(), "" | "berth" | "netavark" | "cni")
        {
            return Err(ConfError::NetworkBackend {
                path: path.to_path_buf(),
                value: b.clone(),
            });
        }
        self.merge(f);
        Ok(())
    }

    /// Where a helper program (netavark, aardvark-dns) is: the configured
    /// directories first, then the places distributions install it.
    pub fn helper(&self, name: &str) -> Option<PathBuf> {
        self.helper_binaries_dir
            .iter()
            .map(PathBuf::as_path)
            .chain(
                [
                    "/usr/local/libexec/podman",
                    "/usr/local/lib/podman",
                    "/usr/libexec/podman",
                    "/usr/lib/podman",
                ]
                .map(Path::new),
            )
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }
}

/// The parser's error in one line (its full text quotes the file over several).
fn syntax(path: &Path, text: &str, e: &toml::de::Error) -> ConfError {
    let message = e.to_string();
    ConfError::Syntax {
        path: path.to_path_buf(),
        line: e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
        message: message.lines().next().unwrap_or("not TOML").to_string(),
    }
}

fn files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    match std::env::var_os("CONTAINERS_CONF") {
        Some(p) => v.push(PathBuf::from(p)),
        None => {
            v.push("/usr/share/containers/containers.conf".into());
            v.push("/etc/containers/containers.conf".into());
            let mut drop_ins: Vec<PathBuf> = std::fs::read_dir("/etc/containers/containers.conf.d")
                .map(|d| {
                    d.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                        .collect()
                })
                .unwrap_or_default();
            drop_ins.sort();
            v.extend(drop_ins);
            if berth_runtime::userns::rootless_uid().is_some() {
                let base = std::env::var_os("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
                if let Some(b) = base {
                    v.push(b.join("containers/containers.conf"));
                }
            }
        }
    }
    if let Some(p) = std::env::var_os("CONTAINERS_CONF_OVERRIDE") {
        v.push(PathBuf::from(p));
    }
    v
}

/// Reads the files; one that is missing is skipped, one that is malformed fails.
pub fn load() -> Result<ContainersConf, ConfError> {
    let mut conf = ContainersConf::default();
    let explicit = std::env::var_os("CONTAINERS_CONF").map(PathBuf::from);
    let files = files();
    log::trace!("containers.conf: reading {files:?}, later files overriding earlier ones");
    for path in files {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                log::debug!(
                    "Reading configuration file {:?}",
                    path.display().to_string()
                );
                conf.parse(&path, &text)?
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound && explicit.as_ref() != Some(&path) =>
            {
                log::trace!("No configuration file {}", path.display());
            }
            Err(e) => {
                return Err(ConfError::Read {
                    path,
                    source: Arc::new(e),
                });
            }
        }
    }
    Ok(conf)
}

/// The settings of this process, read once.
pub fn get() -> Result<&'static ContainersConf, ConfError> {
    static CONF: OnceLock<Result<ContainersConf, ConfError>> = OnceLock::new();
    CONF.get_or_init(load).as_ref().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_files_override_and_unknown_keys_are_ignored() {
        let mut c = ContainersConf::default();
        c.parse(
            Path::new("a"),
            "[containers]\nnetns = \"bridge\"\ndefault_sysctls = []\n\
             [engine]\nruntime = \"crun\"\n[engine.runtimes]\nrunc = [\"/x/runc\"]\n\
             [machine]\ncpus = 2\n",
        )
        .unwrap();
        c.parse(
            Path::new("b"),
            "[engine]\nruntime = \"runc\"\n[network]\nnetwork_backend = \"cni\"\n",
        )
        .unwrap();
        assert_eq!(c.runtime.as_deref(), Some("runc"));
        assert_eq!(c.netns.as_deref(), Some("bridge"));
        assert_eq!(c.network_backend.as_deref(), Some("cni"));
        assert_eq!(c.runtimes["runc"], vec![PathBuf::from("/x/runc")]);
    }

    #[test]
    fn bad_files_are_refused_with_their_name() {
        let mut c = ContainersConf::default();
        let e = c
            .parse(Path::new("/etc/c.conf"), "[a]\n[engine\n")
            .unwrap_err();
        assert!(
            matches!(e, ConfError::Syntax { line: Some(2), .. }),
            "{e:?}"
        );
        let e = e.to_string();
        assert!(e.starts_with("/etc/c.conf: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = c
            .parse(Path::new("c"), "[network]\nnetwork_backend = \"x\"\n")
            .unwrap_err();
        assert!(matches!(e, ConfError::NetworkBackend { .. }), "{e:?}");
        assert!(
            e.to_string().contains("expected berth, netavark or cni"),
            "{e}"
        );
    }
}
