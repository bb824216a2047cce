//! `build`'s (podman build, buildah bud) flags, and buildah's that berth refuses.

use std::path::PathBuf;

use clap::Args;

use crate::exit::{self, Failure};

#[derive(Args)]
#[command(
    mut_arg("os", |a| a.help("The OS to build for (the rest of the platform the host's)")),
    mut_arg("arch", |a| a.help("The architecture to build for")),
    mut_arg("variant", |a| a.help("The architecture's variant to build for")),
    mut_arg("retry", |a| a.help("Attempts for a failed pull of a base image (default 3)"))
)]
pub struct BuildArgs {
    /// The Containerfile (`-` for stdin), found from here or else in the
    /// context; default CONTEXT/Containerfile, then Dockerfile. Given more
    /// than once, the files are read as one.
    #[arg(short, long)]
    pub(crate) file: Vec<String>,
    /// Name the image (repeatable).
    #[arg(short, long)]
    pub(crate) tag: Vec<String>,
    /// NAME=VALUE for an ARG.
    #[arg(long)]
    pub(crate) build_arg: Vec<String>,
    /// Build up to this stage.
    #[arg(long)]
    pub(crate) target: Option<String>,
    /// KEY=VALUE label on the image.
    #[arg(long)]
    pub(crate) label: Vec<String>,
    /// Print only the image ID.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Write the image ID to this file.
    #[arg(long)]
    pub(crate) iidfile: Option<PathBuf>,
    /// Also write the image's files: DIR, type=local,dest=DIR, type=tar,dest=FILE,
    /// or - (a tar on standard output).
    #[arg(short, long)]
    pub(crate) output: Option<String>,
    /// Seconds since the epoch as the image's creation time and its new layers'
    /// file times, so that the same sources build the same image.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) timestamp: Option<i64>,
    /// NAME=VALUE: more context that FROM NAME, COPY --from=NAME and RUN
    /// --mount=from=NAME read: a directory, docker-image://REF or
    /// container-image://REF.
    #[arg(long)]
    pub(crate) build_context: Vec<String>,
    /// Network for RUN: none (default), host, private (one of its own on
    /// the default network), ns:PATH or a network's name.
    #[arg(long, alias = "net")]
    pub(crate) network: Option<String>,
    /// Reuse steps built before from the same inputs (default: $BUILDAH_LAYERS,
    /// else true for `build`, false for `builder build`, as buildah's).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub(crate) layers: Option<String>,
    /// Build every stage again.
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Accepted for podman's scripts: intermediate containers are always removed.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub(crate) rm: Option<bool>,
    /// A file of NAME=VALUE lines for ARGs (`#` comments, blank lines).
    #[arg(long)]
    pub(crate) build_arg_file: Vec<PathBuf>,
    /// id=ID,src=PATH (or env=VAR): a secret RUN --mount=type=secret may read.
    #[arg(long)]
    pub(crate) secret: Vec<String>,
    /// default|ID[=SOCKET]: an SSH agent RUN --mount=type=ssh may use
    /// (default: $SSH_AUTH_SOCK).
    #[arg(long)]
    pub(crate) ssh: Vec<String>,
    /// SRC:DST[:OPTS]: a bind mount for every RUN.
    #[arg(short, long)]
    pub(crate) volume: Vec<String>,
    /// --userns-uid-map/--userns-gid-map (or a user's /etc/subuid ranges):
    /// every RUN in a user namespace of its own with this mapping.
    #[command(flatten)]
    pub(crate) id_maps: super::IdMapFlags,
    /// oci (default, or $BUILDAH_FORMAT) or docker (keeps HEALTHCHECK, SHELL, ONBUILD).
    #[arg(long, value_parser = ["oci", "docker"])]
    pub(crate) format: Option<String>,
    /// The image as one layer.
    #[arg(long)]
    pub(crate) squash: bool,
    /// KEY=VALUE annotation on the image's manifest.
    #[arg(long)]
    pub(crate) annotation: Vec<String>,
    /// Pull images the build uses: missing (default), always, never or newer;
    /// alone or `=true`: always (`builder build`'s, as buildah's: newer);
    /// `=false`: never (`builder build`'s: missing).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "missing")]
    pub(crate) pull: String,
    /// OS/ARCH[/VARIANT] to build for (this host's only).
    #[arg(long, conflicts_with_all = ["os", "arch", "variant"])]
    pub(crate) platform: Option<String>,
    #[command(flatten)]
    pub(crate) platform_flags: crate::commands::image::OsFirst,
    /// Ignore patterns from this file instead of the context's .containerignore.
    #[arg(long)]
    pub(crate) ignorefile: Option<std::path::PathBuf>,
    /// How many stages may be built at once (they are built one by one).
    #[arg(long)]
    pub(crate) jobs: Option<u32>,
    /// The same as --pull=never.
    #[arg(long)]
    pub(crate) pull_never: bool,
    /// Write the build's output to this file instead of stderr.
    #[arg(long)]
    pub(crate) logfile: Option<PathBuf>,
    /// Registry credentials for the images pulled.
    #[arg(long)]
    pub(crate) authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates of the registries base images come from.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub(crate) tls_verify: Option<bool>,
    /// Credentials (USERNAME[:PASSWORD]) for those registries.
    #[arg(long)]
    pub(crate) creds: Option<String>,
    /// Directory with certificates (*.crt, *.cert, *.key).
    #[arg(long)]
    pub(crate) cert_dir: Option<PathBuf>,
    /// The trust policy pulled base images are checked against.
    #[arg(long)]
    pub(crate) signature_policy: Option<PathBuf>,
    /// registries.conf to read instead of the system's.
    #[arg(long)]
    pub(crate) registries_conf: Option<PathBuf>,
    /// NAME=SOFT[:HARD] resource limits for every RUN.
    #[arg(long)]
    pub(crate) ulimit: Vec<String>,
    /// Security options for every RUN (seccomp=unconfined, no-new-privileges …).
    #[arg(long)]
    pub(crate) security_opt: Vec<String>,
    /// docker buildx's: put the result in the local image store, where a
    /// build's image always goes here.
    #[arg(long)]
    pub(crate) load: bool,
    /// Accepted for buildah's scripts: intermediate containers are always
    /// removed, whether the build succeeds or not.
    #[arg(long)]
    pub(crate) force_rm: bool,
    #[command(flatten)]
    pub(crate) isolation: super::Isolation,
    /// A capability every RUN gets.
    #[arg(long)]
    pub(crate) cap_add: Vec<String>,
    /// A capability every RUN goes without.
    #[arg(long)]
    pub(crate) cap_drop: Vec<String>,
    /// A host device for every RUN, HOST[:CONTAINER][:PERMISSIONS].
    #[arg(long)]
    pub(crate) device: Vec<String>,
    /// Limits, /dev/shm, hosts, DNS and namespaces of every RUN.
    #[command(flatten)]
    pub(crate) run_with: super::RunWith,
    /// Do not make /etc/hosts for RUN: the image's stays.
    #[arg(long)]
    pub(crate) no_hosts: bool,
    /// NAME=VALUE (or NAME: this environment's value) in every RUN's
    /// environment and in the built image's config.
    #[arg(long)]
    pub(crate) env: Vec<String>,
    /// The first stage's base image instead of its FROM's.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Write no history into the built image.
    #[arg(long)]
    pub(crate) omit_history: bool,
    /// Accepted as buildah's, either way: berth writes no identity label.
    #[arg(long)]
    pub(crate) identity_label: bool,
    /// Build only the stages the target needs (default); =false builds
    /// every stage up to it.
    #[arg(long, default_value = "true")]
    pub(crate) skip_unused_stages: bool,
    #[command(flatten)]
    pub(crate) retry: crate::commands::image::RetryFlags,
    /// Add the built image to this manifest list (made when there is none).
    #[arg(long)]
    pub(crate) manifest: Option<String>,
    /// RUN gets the proxy variables (http_proxy, HTTPS_PROXY …) of this
    /// environment (default true).
    #[arg(long, default_value = "true")]
    pub(crate) http_proxy: bool,
    /// An environment variable the built image goes without.
    #[arg(long)]
    pub(crate) unsetenv: Vec<String>,
    /// An OS feature the built image needs, besides its base's.
    #[arg(long)]
    pub(crate) os_feature: Vec<String>,
    /// The OS version the built image needs, instead of its base's.
    #[arg(long)]
    pub(crate) os_version: Option<String>,
    #[command(flatten)]
    pub(crate) encryption: super::Encryption,
    /// Cached stages made longer ago than this are built again (0: none is
    /// used, as --no-cache).
    #[arg(long)]
    pub(crate) cache_ttl: Option<String>,
    /// RUN reads this command's standard input.
    #[arg(long)]
    pub(crate) stdin: bool,
    #[command(flatten)]
    pub(crate) unserved: Unserved,
    /// host (the only one without --userns-uid-map): RUN's user namespace.
    #[arg(long)]
    pub(crate) userns: Option<String>,
    /// buildah's legacy option, which has no effect there either.
    #[arg(long, hide = true)]
    pub(crate) compress: bool,
    /// Docker's option, a no-op in buildah as here.
    #[arg(long, hide = true)]
    pub(crate) disable_content_trust: bool,
    /// Accepted as buildah's (default true): the store keeps layers
    /// uncompressed whatever it says; a push compresses them.
    #[arg(long, default_value = "true")]
    pub(crate) disable_compression: bool,
    /// The build context directory (default: the first -f file's, else here).
    pub(crate) context: Option<PathBuf>,
    /// Run as buildah's `build` (`berth builder build`), not podman's.
    #[arg(skip)]
    pub(crate) buildah: bool,
}

/// buildah's `bud` flags berth does not serve: refused in words, never
/// ignored.
#[derive(Args)]
pub(crate) struct Unserved {
    /// Refused: berth builds for one platform.
    #[arg(long, hide = true)]
    pub(crate) all_platforms: bool,
    /// Refused: berth's layer cache is the local store's.
    #[arg(long, hide = true)]
    pub(crate) cache_from: Vec<String>,
    /// Refused: berth's layer cache is the local store's.
    #[arg(long, hide = true)]
    pub(crate) cache_to: Vec<String>,
    /// Refused: Containerfile.in is not preprocessed.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub(crate) cpp_flag: Vec<String>,
    /// Refused: RUN runs no OCI hooks.
    #[arg(long, hide = true)]
    pub(crate) hooks_dir: Vec<String>,
    /// Refused: berth builds for one platform, one log.
    #[arg(long, hide = true)]
    pub(crate) logsplit: bool,
    /// Refused: a build writes to the store, which keeps no signatures
    /// (`push --sign-by` signs).
    #[arg(long, hide = true)]
    pub(crate) sign_by: Option<String>,
}

impl Unserved {
    pub(crate) fn refuse(&self) -> Result<(), Failure> {
        let given = [
            (
                "--all-platforms",
                self.all_platforms,
                "berth builds for one platform at a time",
            ),
            (
                "--cache-from",
                !self.cache_from.is_empty(),
                "berth's layer cache is the local store's; no registry cache is read",
            ),
            (
                "--cache-to",
                !self.cache_to.is_empty(),
                "berth's layer cache is the local store's; no registry cache is written",
            ),
            (
                "--cpp-flag",
                !self.cpp_flag.is_empty(),
                "berth does not preprocess Containerfile.in with cpp",
            ),
            (
                "--hooks-dir",
                !self.hooks_dir.is_empty(),
                "RUN runs no OCI hooks",
            ),
            (
                "--logsplit",
                self.logsplit,
                "berth builds for one platform, into one log",
            ),
            (
                "--sign-by",
                self.sign_by.is_some(),
                "the store keeps no signatures: sign with `push --sign-by`",
            ),
        ];
        match given.iter().find(|(_, g, _)| *g) {
            Some((flag, _, why)) => Err(exit::usage(125, format!("{flag}: {why}"))),
            None => Ok(()),
        }
    }
}
