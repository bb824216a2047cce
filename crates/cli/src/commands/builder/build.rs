//! `berth build` (podman build / buildah bud): parses and plans in berth-builder,
//! runs the steps through the engine; this file only reads the arguments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use crate::commands::StoreArgs;
use crate::commands::image::pull::{PullFor, pull_for};
use crate::exit::{self, Failure};

use berth_builder::inputs;

#[derive(Args)]
pub struct BuildArgs {
    /// The Containerfile (`-` for stdin), found from here or else in the
    /// context; default CONTEXT/Containerfile, then Dockerfile. Given more
    /// than once, the files are read as one.
    #[arg(short, long)]
    file: Vec<String>,
    /// Name the image (repeatable).
    #[arg(short, long)]
    tag: Vec<String>,
    /// NAME=VALUE for an ARG.
    #[arg(long)]
    build_arg: Vec<String>,
    /// Build up to this stage.
    #[arg(long)]
    target: Option<String>,
    /// KEY=VALUE label on the image.
    #[arg(long)]
    label: Vec<String>,
    /// Print only the image ID.
    #[arg(short, long)]
    quiet: bool,
    /// Write the image ID to this file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// Also write the image's files: DIR, type=local,dest=DIR, type=tar,dest=FILE,
    /// or - (a tar on standard output).
    #[arg(short, long)]
    output: Option<String>,
    /// Seconds since the epoch as the image's creation time and its new layers'
    /// file times, so that the same sources build the same image.
    #[arg(long, allow_hyphen_values = true)]
    timestamp: Option<i64>,
    /// NAME=VALUE: more context that FROM NAME, COPY --from=NAME and RUN
    /// --mount=from=NAME read: a directory, docker-image://REF or
    /// container-image://REF.
    #[arg(long)]
    build_context: Vec<String>,
    /// Network for RUN: none (default), host, private (one of its own on
    /// the default network), ns:PATH or a network's name.
    #[arg(long, alias = "net")]
    network: Option<String>,
    /// Reuse stages built before from the same inputs (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    layers: Option<String>,
    /// Build every stage again.
    #[arg(long)]
    no_cache: bool,
    /// Accepted for podman's scripts: intermediate containers are always removed.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    rm: Option<bool>,
    /// A file of NAME=VALUE lines for ARGs (`#` comments, blank lines).
    #[arg(long)]
    build_arg_file: Vec<PathBuf>,
    /// id=ID,src=PATH (or env=VAR): a secret RUN --mount=type=secret may read.
    #[arg(long)]
    secret: Vec<String>,
    /// default|ID[=SOCKET]: an SSH agent RUN --mount=type=ssh may use
    /// (default: $SSH_AUTH_SOCK).
    #[arg(long)]
    ssh: Vec<String>,
    /// SRC:DST[:OPTS]: a bind mount for every RUN.
    #[arg(short, long)]
    volume: Vec<String>,
    /// --userns-uid-map/--userns-gid-map (or a user's /etc/subuid ranges):
    /// every RUN in a user namespace of its own with this mapping.
    #[command(flatten)]
    id_maps: super::IdMapFlags,
    /// oci (default, or $BUILDAH_FORMAT) or docker (keeps HEALTHCHECK, SHELL, ONBUILD).
    #[arg(long, value_parser = ["oci", "docker"])]
    format: Option<String>,
    /// The image as one layer.
    #[arg(long)]
    squash: bool,
    /// KEY=VALUE annotation on the image's manifest.
    #[arg(long)]
    annotation: Vec<String>,
    /// Pull images the build uses: missing (default), always, never or newer;
    /// alone or `=true`: always (`builder build`'s, as buildah's: newer);
    /// `=false`: never (`builder build`'s: missing).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "missing")]
    pull: String,
    /// OS/ARCH[/VARIANT] to build for (this host's only).
    #[arg(long, conflicts_with_all = ["os", "arch", "variant"])]
    platform: Option<String>,
    /// The OS to build for (the rest of the platform the host's).
    #[arg(long)]
    os: Option<String>,
    /// The architecture to build for.
    #[arg(long)]
    arch: Option<String>,
    /// The architecture's variant to build for.
    #[arg(long)]
    variant: Option<String>,
    /// Ignore patterns from this file instead of the context's .containerignore.
    #[arg(long)]
    ignorefile: Option<std::path::PathBuf>,
    /// How many stages may be built at once (they are built one by one).
    #[arg(long)]
    jobs: Option<u32>,
    /// The same as --pull=never.
    #[arg(long)]
    pull_never: bool,
    /// Write the build's output to this file instead of stderr.
    #[arg(long)]
    logfile: Option<PathBuf>,
    /// Registry credentials for the images pulled.
    #[arg(long)]
    authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates of the registries base images come from.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
    /// Credentials (USERNAME[:PASSWORD]) for those registries.
    #[arg(long)]
    creds: Option<String>,
    /// Directory with certificates (*.crt, *.cert, *.key).
    #[arg(long)]
    cert_dir: Option<PathBuf>,
    /// The trust policy pulled base images are checked against.
    #[arg(long)]
    signature_policy: Option<PathBuf>,
    /// registries.conf to read instead of the system's.
    #[arg(long)]
    registries_conf: Option<PathBuf>,
    /// NAME=SOFT[:HARD] resource limits for every RUN.
    #[arg(long)]
    ulimit: Vec<String>,
    /// Security options for every RUN (seccomp=unconfined, no-new-privileges …).
    #[arg(long)]
    security_opt: Vec<String>,
    /// docker buildx's: put the result in the local image store, where a
    /// build's image always goes here.
    #[arg(long)]
    load: bool,
    /// Accepted for buildah's scripts: intermediate containers are always
    /// removed, whether the build succeeds or not.
    #[arg(long)]
    force_rm: bool,
    #[command(flatten)]
    isolation: super::Isolation,
    /// A capability every RUN gets.
    #[arg(long)]
    cap_add: Vec<String>,
    /// A capability every RUN goes without.
    #[arg(long)]
    cap_drop: Vec<String>,
    /// A host device for every RUN, HOST[:CONTAINER][:PERMISSIONS].
    #[arg(long)]
    device: Vec<String>,
    /// Limits, /dev/shm, hosts, DNS and namespaces of every RUN.
    #[command(flatten)]
    run_with: super::RunWith,
    /// Do not make /etc/hosts for RUN: the image's stays.
    #[arg(long)]
    no_hosts: bool,
    /// NAME=VALUE (or NAME: this environment's value) in every RUN's
    /// environment and in the built image's config.
    #[arg(long)]
    env: Vec<String>,
    /// The first stage's base image instead of its FROM's.
    #[arg(long)]
    from: Option<String>,
    /// Write no history into the built image.
    #[arg(long)]
    omit_history: bool,
    /// Accepted as buildah's, either way: berth writes no identity label.
    #[arg(long)]
    identity_label: bool,
    /// Build only the stages the target needs (default); =false builds
    /// every stage up to it.
    #[arg(long, default_value = "true")]
    skip_unused_stages: bool,
    /// Attempts for a failed pull of a base image (default 3).
    #[arg(long)]
    retry: Option<u32>,
    /// The pause between them (2s, 500ms; default: a growing one).
    #[arg(long)]
    retry_delay: Option<String>,
    /// Add the built image to this manifest list (made when there is none).
    #[arg(long)]
    manifest: Option<String>,
    /// RUN gets the proxy variables (http_proxy, HTTPS_PROXY …) of this
    /// environment (default true).
    #[arg(long, default_value = "true")]
    http_proxy: bool,
    /// An environment variable the built image goes without.
    #[arg(long)]
    unsetenv: Vec<String>,
    /// An OS feature the built image needs, besides its base's.
    #[arg(long)]
    os_feature: Vec<String>,
    /// The OS version the built image needs, instead of its base's.
    #[arg(long)]
    os_version: Option<String>,
    #[command(flatten)]
    encryption: super::Encryption,
    /// Cached stages made longer ago than this are built again (0: none is
    /// used, as --no-cache).
    #[arg(long)]
    cache_ttl: Option<String>,
    /// RUN reads this command's standard input.
    #[arg(long)]
    stdin: bool,
    #[command(flatten)]
    unserved: Unserved,
    /// host (the only one without --userns-uid-map): RUN's user namespace.
    #[arg(long)]
    userns: Option<String>,
    /// buildah's legacy option, which has no effect there either.
    #[arg(long, hide = true)]
    compress: bool,
    /// Docker's option, a no-op in buildah as here.
    #[arg(long, hide = true)]
    disable_content_trust: bool,
    /// Accepted as buildah's (default true): the store keeps layers
    /// uncompressed whatever it says; a push compresses them.
    #[arg(long, default_value = "true")]
    disable_compression: bool,
    /// The build context directory (default: the first -f file's, else here).
    context: Option<PathBuf>,
    /// Run as buildah's `build` (`berth builder build`), not podman's.
    #[arg(skip)]
    pub(crate) buildah: bool,
}

pub fn build(store_args: &StoreArgs, a: BuildArgs) -> Result<i32, Failure> {
    crate::exit::protect_self()?;
    a.encryption.refuse()?;
    a.unserved.refuse()?;
    let cache_ttl = super::retry_delay(a.cache_ttl.as_deref()).map_err(|_| {
        exit::usage(
            125,
            format!(
                "--cache-ttl {}: not a duration (1h, 30m, 0)",
                a.cache_ttl.as_deref().unwrap_or_default()
            ),
        )
    })?;
    let output: Option<berth_engine::copy::FilesOutput> = a
        .output
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(exit::engine)?;
    let mut _stdin_dir = None;
    let mut stdin_file = None;
    let mut context = a
        .context
        .clone()
        .unwrap_or_else(|| inputs::default_context(&a.file));
    // A git repository or an archive URL: fetched into a directory of its own.
    let mut _remote_dir = None;
    if let Some(remote) = context.to_str().and_then(inputs::remote_context) {
        let (dir, path, text) = inputs::fetch_remote_context(&remote).map_err(exit::podman)?;
        context = path;
        stdin_file = text;
        _remote_dir = Some(dir);
    }
    if context.as_os_str() == "-" {
        if a.file.iter().any(|f| f == "-") {
            return Err(exit::usage(
                125,
                "the context and the Containerfile cannot both come from stdin",
            ));
        }
        let (dir, text) =
            inputs::unpack_context(&mut std::io::stdin(), "stdin").map_err(exit::podman)?;
        context = dir.path().to_path_buf();
        stdin_file = text;
        _stdin_dir = Some(dir);
    }
    if !context.is_dir() {
        return Err(exit::usage(
            125,
            format!(
                "{}: the build context must be a directory",
                context.display()
            ),
        ));
    }
    let (text, name) = inputs::containerfile(&a.file, &context, stdin_file, &mut std::io::stdin())
        .map_err(exit::podman)?;
    let build_args = inputs::build_args(&a.build_arg_file, &a.build_arg).map_err(exit::podman)?;
    let pairs = |v: &[String], flag| inputs::pairs(v, flag).map_err(exit::podman);
    let platform = inputs::platform(
        a.platform.as_deref(),
        a.os.as_deref(),
        a.arch.as_deref(),
        a.variant.as_deref(),
    )
    .map_err(exit::podman)?;
    let env = |name| std::env::var(name).ok();
    let secrets = a
        .secret
        .iter()
        .map(|s| inputs::secret(s))
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map_err(exit::podman)?;
    super::userns_host_only(a.userns.as_deref())?;
    let mut run_with = berth_engine::spec::ProcessOptions {
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        devices: a.device.clone(),
        no_hosts: a.no_hosts,
        interactive: a.stdin,
        ..Default::default()
    };
    a.run_with.apply(&mut run_with)?;
    if a.no_hosts && !run_with.add_hosts.is_empty() {
        return Err(exit::usage(
            125,
            "--no-hosts and --add-host conflict, can not be used together",
        ));
    }
    let build_env = a
        .env
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some((k, v)) => Some((k.to_string(), v.to_string())),
            None => std::env::var(e).ok().map(|v| (e.clone(), v)),
        })
        .collect();
    let retry_delay = super::retry_delay(a.retry_delay.as_deref())?;
    let req = berth_builder::execute::BuildRequest {
        run_with,
        env: build_env,
        from: a.from.clone(),
        all_stages: !a.skip_unused_stages,
        omit_history: a.omit_history,
        manifest: a.manifest.clone(),
        unsetenv: a.unsetenv.clone(),
        os_features: a.os_feature.clone(),
        os_version: a.os_version.clone(),
        http_proxy: a.http_proxy,
        cache_ttl,
        containerfile: text,
        file_name: name,
        context: std::fs::canonicalize(&context).map_err(|e| exit::podman(e.to_string()))?,
        tags: a.tag.clone(),
        build_args,
        target: a.target.clone(),
        labels: pairs(&a.label, "--label")?,
        network: crate::commands::container::spec_flags::network_mode(a.network.as_deref())?,
        layers: inputs::layers(a.layers.as_deref(), env("BUILDAH_LAYERS").as_deref())
            .map_err(exit::podman)?,
        no_cache: a.no_cache || cache_ttl.is_some_and(|t| t.is_zero()),
        secrets: secrets
            .iter()
            .map(|(k, v)| (k.clone(), v.path.clone()))
            .collect(),
        volumes: crate::commands::container::spec_flags::volume_flags(&a.volume)?,
        docker_format: inputs::docker_format(a.format.as_deref(), env("BUILDAH_FORMAT").as_deref()),
        squash: a.squash,
        annotations: pairs(&a.annotation, "--annotation")?,
        platform: platform.clone(),
        ignore_file: a.ignorefile.clone(),
        ulimits: a.ulimit.clone(),
        security_opt: a.security_opt.clone(),
        runtime_flags: store_args.runtime_flag.clone(),
        runtime: store_args.runtime.clone(),
        timestamp: a.timestamp,
        ssh: a
            .ssh
            .iter()
            .map(|s| inputs::ssh(s))
            .collect::<Result<_, _>>()
            .map_err(exit::podman)?,
        contexts: a
            .build_context
            .iter()
            .map(|c| inputs::build_context(c))
            .collect::<Result<_, _>>()
            .map_err(exit::podman)?,
        id_map: a.id_maps.id_map()?,
        iid_file: a.iidfile.clone(),
    };
    // podman checks the authfile first of all.
    if let Some(f) = &a.authfile {
        berth_engine::access::check_authfile(f).map_err(exit::access)?;
    }
    req.preflight().map_err(exit::build)?;
    let store = store_args.open()?;
    let policy = if a.pull_never { "never" } else { &a.pull };
    let access = crate::commands::image::access::Access {
        creds: a.creds.clone(),
        authfile: a.authfile.clone(),
        tls_verify: a.tls_verify,
        cert_dir: a.cert_dir.clone(),
        ..Default::default()
    };
    let platform_flag = platform.as_ref().map(|p| p.format());
    let how = PullFor {
        platform: platform_flag.as_deref(),
        authfile: a.authfile.as_deref(),
        access: Some(&access),
        signature_policy: a.signature_policy.as_deref(),
        registries_conf: a.registries_conf.as_deref(),
        booleans: if a.buildah {
            berth_engine::PullBool::NewerMissing
        } else {
            berth_engine::PullBool::AlwaysNever
        },
        retry: a.retry,
        retry_delay,
        ..Default::default()
    };
    for image in berth_builder::execute::images_needed(&req).map_err(exit::build)? {
        pull_for(store_args, &image, policy, &how)?;
    }
    if let Some(f) = &a.logfile {
        // Everything the build prints, RUN's output included, goes there.
        use std::os::fd::AsRawFd;
        let file = std::fs::File::create(f)
            .map_err(|e| exit::podman(format!("--logfile {}: {e}", f.display())))?;
        for fd in [1, 2] {
            berth_runtime::sys::dup2(file.as_raw_fd(), fd)
                .map_err(|e| exit::podman(format!("--logfile {}: {e}", f.display())))?;
        }
    }
    let mut log: Box<dyn std::io::Write> = if a.quiet {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stderr())
    };
    let id = berth_builder::execute::build(&store, &req, &mut log).map_err(exit::build)?;
    if let Some(out) = &output {
        berth_engine::copy::export_image(&store, &id, out).map_err(exit::engine)?;
    }
    // A tar on standard output is all that goes there.
    if output != Some(berth_engine::copy::FilesOutput::Stdout) {
        println!("{id}");
    }
    Ok(0)
}

/// buildah's `bud` flags berth does not serve: refused in words, never
/// ignored.
#[derive(Args)]
struct Unserved {
    /// Refused: berth builds for one platform.
    #[arg(long, hide = true)]
    all_platforms: bool,
    /// Refused: berth's layer cache is the local store's.
    #[arg(long, hide = true)]
    cache_from: Vec<String>,
    /// Refused: berth's layer cache is the local store's.
    #[arg(long, hide = true)]
    cache_to: Vec<String>,
    /// Refused: Containerfile.in is not preprocessed.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    cpp_flag: Vec<String>,
    /// Refused: RUN runs no OCI hooks.
    #[arg(long, hide = true)]
    hooks_dir: Vec<String>,
    /// Refused: berth builds for one platform, one log.
    #[arg(long, hide = true)]
    logsplit: bool,
    /// Refused: a build writes to the store, which keeps no signatures
    /// (`push --sign-by` signs).
    #[arg(long, hide = true)]
    sign_by: Option<String>,
}

impl Unserved {
    fn refuse(&self) -> Result<(), Failure> {
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

/// docker's `buildx build`: the same as `build`.
#[derive(Args)]
pub struct BuildxArgs {
    #[command(subcommand)]
    command: BuildxCommand,
}

#[derive(clap::Subcommand)]
pub(crate) enum BuildxCommand {
    #[command(alias = "b")]
    Build(BuildArgs),
}

pub fn buildx(store: &StoreArgs, a: BuildxArgs) -> Result<i32, Failure> {
    match a.command {
        BuildxCommand::Build(b) => build(store, b),
    }
}
