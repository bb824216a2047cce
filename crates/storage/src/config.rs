//! Where the store lives and which driver it uses: berth's own storage.conf
//! (`$BERTH_STORAGE_CONF`, else `$XDG_CONFIG_HOME/berth/storage.conf` when rootless,
//! else `/etc/berth/storage.conf`), overridden by the caller's `--root`, `--runroot`,
//! `--storage-driver` and `--storage-opt` (DESIGN §3).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// What the command line says; `None` leaves the configuration file's choice.
#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    /// `--root`
    pub graph_root: Option<PathBuf>,
    /// `--runroot`
    pub run_root: Option<PathBuf>,
    /// `--storage-driver`
    pub driver: Option<String>,
    /// `--storage-opt KEY=VALUE`, repeated: `additionalimagestore=PATH`,
    /// `overlay.mountopt=OPTS`, …
    pub storage_opts: Vec<String>,
    /// A storage.conf to read instead of the usual search.
    pub config_file: Option<PathBuf>,
}

impl StoreOptions {
    /// The global flags that give another berth process this store: what a
    /// process berth starts (a monitor, a helper, a systemd unit) is given.
    /// `config_file` has no flag: the child reads the same file through the
    /// environment it inherits (`BERTH_STORAGE_CONF`).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = Vec::new();
        if let Some(r) = &self.graph_root {
            v.extend(["--root".into(), r.into()]);
        }
        if let Some(r) = &self.run_root {
            v.extend(["--runroot".into(), r.into()]);
        }
        if let Some(d) = &self.driver {
            v.extend(["--storage-driver".into(), d.into()]);
        }
        for o in &self.storage_opts {
            v.extend(["--storage-opt".into(), o.into()]);
        }
        v
    }
}

/// The storage drivers berth has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverKind {
    Overlay,
    Vfs,
}

impl DriverKind {
    pub fn parse(s: &str) -> Option<DriverKind> {
        match s {
            "overlay" | "overlay2" => Some(DriverKind::Overlay),
            "vfs" => Some(DriverKind::Vfs),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Overlay => "overlay",
            DriverKind::Vfs => "vfs",
        }
    }
}

/// The resolved configuration a [`crate::Store`] opens.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    pub driver: DriverKind,
    /// Driver options (`overlay.mountopt=…`), keys without the driver prefix.
    pub driver_options: Vec<(String, String)>,
    pub additional_image_stores: Vec<PathBuf>,
    /// The storage.conf that was read, if any.
    pub config_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
struct ConfFile {
    #[serde(default)]
    storage: ConfStorage,
}

#[derive(Deserialize, Default)]
struct ConfStorage {
    driver: Option<String>,
    graphroot: Option<PathBuf>,
    runroot: Option<PathBuf>,
    #[serde(default)]
    options: ConfOptions,
}

#[derive(Deserialize, Default)]
struct ConfOptions {
    #[serde(default)]
    additionalimagestores: Vec<PathBuf>,
    #[serde(default)]
    overlay: toml::Table,
    #[serde(default)]
    vfs: toml::Table,
}

/// Looks an environment variable up.
pub type VarLookup = Box<dyn Fn(&str) -> Option<String>>;

/// The environment a configuration is resolved in (injectable for tests).
pub struct Env {
    pub var: VarLookup,
    pub rootless: bool,
}

impl Env {
    pub fn process() -> Env {
        Env {
            var: Box::new(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
            rootless: rootless_uid().is_some(),
        }
    }
}

/// The user's UID when this process runs rootless: its own when not root, else
/// what berth's user namespace records in `BERTH_ROOTLESS_UID` (berth-runtime's
/// `userns`), where the user is root but its files and paths stay the user's.
pub fn rootless_uid() -> Option<u32> {
    match rustix::process::geteuid().as_raw() {
        0 => std::env::var("BERTH_ROOTLESS_UID").ok()?.parse().ok(),
        uid => Some(uid),
    }
}

impl StoreConfig {
    /// Resolves the options against the process environment.
    pub fn resolve(opts: &StoreOptions) -> Result<StoreConfig> {
        Self::resolve_in(opts, &Env::process())
    }

    pub fn resolve_in(opts: &StoreOptions, env: &Env) -> Result<StoreConfig> {
        let var = |k: &str| (env.var)(k);
        let home = var("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let (mut graph_root, mut run_root) = if env.rootless {
            let data = var("XDG_DATA_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".local/share"));
            let run = var("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(format!(
                        "/tmp/berth-run-{}",
                        rootless_uid().unwrap_or_default()
                    ))
                });
            (data.join("berth"), run.join("berth"))
        } else {
            (PathBuf::from("/var/lib/berth"), PathBuf::from("/run/berth"))
        };
        let mut driver = DriverKind::Overlay;
        let mut driver_options = Vec::new();
        let mut additional = Vec::new();

        let (file, explicit) = if let Some(f) = &opts.config_file {
            (Some(f.clone()), true)
        } else if let Some(f) = var("BERTH_STORAGE_CONF") {
            (Some(PathBuf::from(f)), true)
        } else {
            let user = env.rootless.then(|| {
                var("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| home.join(".config"))
                    .join("berth/storage.conf")
            });
            match user.filter(|p| p.exists()) {
                Some(p) => (Some(p), true),
                None => (Some(PathBuf::from("/etc/berth/storage.conf")), false),
            }
        };
        let mut read = None;
        if let Some(path) = file {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let conf: ConfFile = toml::from_str(&text).map_err(|e| Error::Config {
                        path: path.clone(),
                        message: e.message().to_string(),
                    })?;
                    let s = conf.storage;
                    if let Some(d) = s.driver.filter(|d| !d.is_empty()) {
                        driver = parse_driver(&d, &path)?;
                    }
                    // The system file's paths are root's; a rootless user keeps its own
                    // unless its own file (or an explicit one) says otherwise.
                    if !env.rootless || explicit {
                        if let Some(g) = s.graphroot.filter(|g| !g.as_os_str().is_empty()) {
                            graph_root = g;
                        }
                        if let Some(r) = s.runroot.filter(|r| !r.as_os_str().is_empty()) {
                            run_root = r;
                        }
                    }
                    additional.extend(s.options.additionalimagestores);
                    let table = match driver {
                        DriverKind::Overlay => &s.options.overlay,
                        DriverKind::Vfs => &s.options.vfs,
                    };
                    for (k, v) in table {
                        let v = match v {
                            toml::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        driver_options.push((k.clone(), v));
                    }
                    read = Some(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        if let Some(g) = &opts.graph_root {
            graph_root = g.clone();
        }
        if let Some(r) = &opts.run_root {
            run_root = r.clone();
        }
        if let Some(d) = &opts.driver {
            driver = parse_driver(d, Path::new("--storage-driver"))?;
        }
        for o in &opts.storage_opts {
            let (k, v) = o.split_once('=').ok_or_else(|| Error::Config {
                path: PathBuf::from("--storage-opt"),
                message: format!("{o:?}: expected KEY=VALUE"),
            })?;
            match k {
                "additionalimagestore" | "additionalimagestores" => {
                    additional.push(PathBuf::from(v))
                }
                _ => {
                    let key = k
                        .strip_prefix(&format!("{}.", driver.name()))
                        .or_else(|| k.strip_prefix("overlay2."))
                        .unwrap_or(k);
                    driver_options.push((key.to_string(), v.to_string()));
                }
            }
        }
        if !graph_root.is_absolute() || !run_root.is_absolute() {
            return Err(Error::Config {
                path: read.unwrap_or_default(),
                message: "graphroot and runroot must be absolute paths".into(),
            });
        }
        Ok(StoreConfig {
            graph_root,
            run_root,
            driver,
            driver_options,
            additional_image_stores: additional,
            config_file: read,
        })
    }

    /// A configuration with just these roots, nothing read from files.
    pub fn at(
        graph_root: impl Into<PathBuf>,
        run_root: impl Into<PathBuf>,
        driver: DriverKind,
    ) -> StoreConfig {
        StoreConfig {
            graph_root: graph_root.into(),
            run_root: run_root.into(),
            driver,
            driver_options: Vec::new(),
            additional_image_stores: Vec::new(),
            config_file: None,
        }
    }
}

fn parse_driver(d: &str, source: &Path) -> Result<DriverKind> {
    DriverKind::parse(d).ok_or_else(|| Error::Config {
        path: source.to_path_buf(),
        message: format!("unknown storage driver {d:?} (berth has overlay and vfs)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, String)], rootless: bool) -> Env {
        Env {
            var: Box::new(move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())),
            rootless,
        }
    }

    #[test]
    fn file_then_flags() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("storage.conf");
        std::fs::write(
            &f,
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"/g\"\nrunroot = \"/r\"\n\
             [storage.options]\nadditionalimagestores = [\"/ro\"]\n",
        )
        .unwrap();
        let vars: &'static [(&'static str, String)] =
            Box::leak(Box::new([("BERTH_STORAGE_CONF", f.display().to_string())]));
        let c = StoreConfig::resolve_in(&StoreOptions::default(), &env(vars, false)).unwrap();
        assert_eq!(c.driver, DriverKind::Vfs);
        assert_eq!(c.graph_root, Path::new("/g"));
        assert_eq!(c.additional_image_stores, vec![PathBuf::from("/ro")]);
        let o = StoreOptions {
            graph_root: Some("/other".into()),
            driver: Some("overlay".into()),
            storage_opts: vec![
                "overlay.mountopt=nodev".into(),
                "additionalimagestore=/ro2".into(),
            ],
            ..Default::default()
        };
        let c = StoreConfig::resolve_in(&o, &env(vars, false)).unwrap();
        assert_eq!(c.graph_root, Path::new("/other"));
        assert_eq!(c.run_root, Path::new("/r"));
        assert_eq!(c.driver, DriverKind::Overlay);
        assert_eq!(
            c.driver_options,
            vec![("mountopt".to_string(), "nodev".to_string())]
        );
        assert_eq!(c.additional_image_stores.len(), 2);
    }

    #[test]
    fn options_as_flags_resolve_to_the_same_store() {
        let o = StoreOptions {
            graph_root: Some("/g".into()),
            run_root: Some("/r".into()),
            driver: Some("vfs".into()),
            storage_opts: vec!["additionalimagestore=/ro".into(), "vfs.x=1".into()],
            config_file: None,
        };
        let args: Vec<String> = o
            .to_args()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "--root",
                "/g",
                "--runroot",
                "/r",
                "--storage-driver",
                "vfs",
                "--storage-opt",
                "additionalimagestore=/ro",
                "--storage-opt",
                "vfs.x=1",
            ]
        );
        assert!(StoreOptions::default().to_args().is_empty());
    }

    #[test]
    fn rootless_defaults() {
        let vars: &'static [(&'static str, String)] = Box::leak(Box::new([
            ("HOME", "/home/u".to_string()),
            ("XDG_RUNTIME_DIR", "/run/user/1000".to_string()),
        ]));
        let c = StoreConfig::resolve_in(&StoreOptions::default(), &env(vars, true)).unwrap();
        assert_eq!(c.graph_root, Path::new("/home/u/.local/share/berth"));
        assert_eq!(c.run_root, Path::new("/run/user/1000/berth"));
    }
}
