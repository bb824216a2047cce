//! What buildah's `from` and `build` give every command run in a working
//! container (limits, namespaces, ID maps, DNS and hosts), and the flags its
//! verbs share (`--isolation`, encryption).

use berth_engine::namespaces::NsMode;
use clap::Args;

use crate::exit::{self, CmdResult, Failure};

/// buildah's `--isolation`: oci, chroot or rootless. berth runs every
/// command the one way it has, in its OCI runtime with namespaces of the
/// command's own (buildah's `oci`); `chroot` and `rootless` are taken as
/// that too, so scripts that pick them run unchanged (BUILDAH_ISOLATION is
/// read the same way: not at all).
#[derive(Args)]
pub(crate) struct Isolation {
    /// oci, chroot or rootless: all run in berth's OCI runtime.
    #[arg(long, value_parser = ["oci", "chroot", "rootless"])]
    pub(crate) isolation: Option<String>,
}

/// buildah's namespace flags (`run`, `from`, `build`): each `host` or
/// `private`.
#[derive(Args)]
pub(crate) struct Namespaces {
    /// host or private: the PID namespace.
    #[arg(long)]
    pub(crate) pid: Option<String>,
    /// host or private: the IPC namespace.
    #[arg(long)]
    pub(crate) ipc: Option<String>,
    /// host or private: the UTS namespace.
    #[arg(long)]
    pub(crate) uts: Option<String>,
    /// host or private: the cgroup namespace.
    #[arg(long)]
    pub(crate) cgroupns: Option<String>,
}

impl Namespaces {
    /// pid, ipc, uts and cgroupns, each None when not given.
    pub(crate) fn modes(&self) -> Result<[Option<NsMode>; 4], Failure> {
        let mode = |flag, value: &Option<String>| {
            NsMode::parse_host_or_private(flag, value.as_deref()).map_err(exit::podman)
        };
        Ok([
            mode("pid", &self.pid)?,
            mode("ipc", &self.ipc)?,
            mode("uts", &self.uts)?,
            mode("cgroupns", &self.cgroupns)?,
        ])
    }
}

/// What buildah's `from` and `build` give every command run in the container
/// (`run`, RUN): limits, /dev/shm, hosts and DNS, namespaces.
#[derive(Args)]
pub(crate) struct RunWith {
    /// Memory, swap and CPU limits (-m 512m, --memory-swap, -c/--cpu-shares,
    /// --cpuset-cpus, --cpuset-mems …).
    #[command(flatten)]
    pub(crate) resources: crate::commands::container::flags::ResourceFlags,
    /// The cgroup each command's nests under.
    #[arg(long)]
    pub(crate) cgroup_parent: Option<String>,
    /// Size of /dev/shm (default 64m).
    #[arg(long)]
    pub(crate) shm_size: Option<String>,
    /// HOST:IP in /etc/hosts.
    #[arg(long)]
    pub(crate) add_host: Vec<String>,
    /// A DNS server of /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns: Vec<String>,
    /// A search domain of /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns_search: Vec<String>,
    /// An option of /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns_option: Vec<String>,
    /// --pid/--ipc/--uts/--cgroupns: host or private.
    #[command(flatten)]
    pub(crate) namespaces: Namespaces,
}

impl RunWith {
    /// Sets what was given over `o`.
    pub(crate) fn apply(&self, o: &mut berth_engine::spec::ProcessOptions) -> CmdResult {
        let [pid, ipc, uts, cgroupns] = self.namespaces.modes()?;
        for (field, mode) in [
            (&mut o.pid, pid),
            (&mut o.ipc, ipc),
            (&mut o.uts, uts),
            (&mut o.cgroupns, cgroupns),
        ] {
            if let Some(m) = mode {
                *field = m;
            }
        }
        if let Some(s) = &self.shm_size {
            o.shm_size = Some(berth_engine::spec::parse_shm_size(s).map_err(exit::podman)?);
        }
        o.cgroup_parent = self.cgroup_parent.clone().or(o.cgroup_parent.take());
        o.add_hosts.extend(self.add_host.iter().cloned());
        o.dns.extend(self.dns.iter().cloned());
        o.dns_search.extend(self.dns_search.iter().cloned());
        o.dns_options.extend(self.dns_option.iter().cloned());
        self.resources.clone().update()?.apply_to(o);
        Ok(())
    }
}

/// buildah's `--userns` (`from`, `build`): `host` only; a namespace of the
/// container's own comes with `--userns-uid-map/--userns-gid-map`.
pub(crate) fn userns_host_only(mode: Option<&str>) -> CmdResult {
    match mode {
        None | Some("" | "host") => Ok(()),
        Some(m) => Err(exit::usage(
            125,
            format!(
                "--userns {m}: a user namespace of the container's own comes only with --userns-uid-map/--userns-gid-map"
            ),
        )),
    }
}

/// buildah's user namespace mappings (`from`, `build`).
#[derive(Args)]
pub(crate) struct IdMapFlags {
    /// CONTAINER:HOST:SIZE (one or more): UIDs of a user namespace of the
    /// container's own.
    #[arg(long)]
    pub(crate) userns_uid_map: Vec<String>,
    /// CONTAINER:HOST:SIZE for GIDs (default: as --userns-uid-map).
    #[arg(long)]
    pub(crate) userns_gid_map: Vec<String>,
    /// The UIDs /etc/subuid gives this user, from container UID 0.
    #[arg(long, conflicts_with = "userns_uid_map")]
    pub(crate) userns_uid_map_user: Option<String>,
    /// The GIDs /etc/subgid gives this group (default: --userns-uid-map-user's).
    #[arg(long, conflicts_with = "userns_gid_map")]
    pub(crate) userns_gid_map_group: Option<String>,
}

impl IdMapFlags {
    /// The mapping the flags give; None for none.
    pub(crate) fn id_map(&self) -> Result<Option<berth_storage::idmap::IdMap>, Failure> {
        let (mut uids, mut gids) = (self.userns_uid_map.clone(), self.userns_gid_map.clone());
        let group = self.userns_gid_map_group.as_deref().or(self
            .userns_uid_map_user
            .as_deref()
            .filter(|_| gids.is_empty()));
        for (name, file, out) in [
            (
                self.userns_uid_map_user.as_deref(),
                "/etc/subuid",
                &mut uids,
            ),
            (group, "/etc/subgid", &mut gids),
        ] {
            if let Some(name) = name {
                out.push(
                    berth_engine::namespaces::subordinate_map(file, name).map_err(exit::podman)?,
                );
            }
        }
        berth_engine::namespaces::id_map_chained(&uids, &gids).map_err(exit::podman)
    }
}

/// buildah's image encryption flags (ocicrypt), which berth does not serve:
/// refused in words rather than as unknown flags, and never ignored (an
/// image meant to be encrypted must not go out in the clear).
#[derive(Args, Clone, Default)]
pub(crate) struct Encryption {
    /// Refused: berth does not encrypt layers.
    #[arg(long, hide = true)]
    pub(crate) encryption_key: Vec<String>,
    /// Refused: berth does not encrypt layers.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub(crate) encrypt_layer: Vec<String>,
    /// Refused: berth does not decrypt layers.
    #[arg(long, hide = true)]
    pub(crate) decryption_key: Vec<String>,
}

impl Encryption {
    /// Fails when any of the flags was given.
    pub(crate) fn refuse(&self) -> CmdResult {
        let given = [
            ("--encryption-key", !self.encryption_key.is_empty()),
            ("--encrypt-layer", !self.encrypt_layer.is_empty()),
            ("--decryption-key", !self.decryption_key.is_empty()),
        ];
        match given.iter().find(|(_, g)| *g) {
            Some((flag, _)) => Err(exit::usage(
                125,
                format!("{flag}: berth neither encrypts nor decrypts image layers (ocicrypt)"),
            )),
            None => Ok(()),
        }
    }
}
