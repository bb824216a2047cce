//! `berth build` (podman build / buildah bud): parses and plans in berth-builder,
//! runs the steps through the engine; this file only reads the arguments.

use std::collections::BTreeMap;

use clap::Args;

use crate::commands::StoreArgs;
use crate::commands::image::pull::{PullFor, pull_for};
use crate::exit::{self, Failure};

use berth_builder::inputs;

pub use super::build_args::BuildArgs;

pub fn build(store_args: &StoreArgs, a: BuildArgs) -> Result<i32, Failure> {
    crate::exit::protect_self()?;
    a.encryption.refuse()?;
    a.unserved.refuse()?;
    let cache_ttl = a
        .cache_ttl
        .as_deref()
        .map(|t| {
            berth_engine::health::parse_duration(t).map_err(|_| {
                exit::usage(125, format!("--cache-ttl {t}: not a duration (1h, 30m, 0)"))
            })
        })
        .transpose()?;
    let output: Option<berth_engine::copy::FilesOutput> = a
        .output
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(exit::engine)?;
    // Fetched, or unpacked from stdin, it is kept till the build is done.
    let context = inputs::resolve_context(a.context.as_deref(), &a.file, &mut std::io::stdin())
        .map_err(exit::podman)?;
    let build_args = inputs::build_args(&a.build_arg_file, &a.build_arg).map_err(exit::podman)?;
    let pairs = |v: &[String], flag| inputs::pairs(v, flag).map_err(exit::podman);
    let flags = &a.platform_flags.0;
    let platform = inputs::platform(
        a.platform.as_deref(),
        flags.os.as_deref(),
        flags.arch.as_deref(),
        flags.variant.as_deref(),
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
        // --quiet: RUN's stdout is not shown (its stderr is), as under
        // podman and buildah: `id=$(buildah bud -q .)` gets the ID alone.
        attach: match a.quiet {
            true => vec!["stderr".to_string()],
            false => Vec::new(),
        },
        ..Default::default()
    };
    a.run_with.apply(&mut run_with)?;
    if a.no_hosts && !run_with.add_hosts.is_empty() {
        return Err(exit::usage(
            125,
            "--no-hosts and --add-host conflict, can not be used together",
        ));
    }
    let build_env = berth_engine::env::from_flags(&a.env)
        .iter()
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let retry = a.retry.parse()?;
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
        containerfile: context.containerfile,
        file_name: context.file_name,
        context: context.dir,
        tags: a.tag.clone(),
        build_args,
        target: a.target.clone(),
        labels: pairs(&a.label, "--label")?,
        network: crate::commands::container::spec_flags::network_mode(a.network.as_deref())?,
        // podman's build caches by default, buildah's bud does not.
        layers: inputs::layers(
            a.layers.as_deref(),
            env("BUILDAH_LAYERS").as_deref(),
            !a.buildah,
        )
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
        no_id_lines: a.buildah && a.iidfile.is_some(),
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
        retry,
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
    // Progress on stdout, as podman and buildah print it; on stderr when
    // stdout carries the image's files.
    let mut log: Box<dyn std::io::Write> = match (a.quiet, &output) {
        (true, _) => Box::new(std::io::sink()),
        (false, Some(berth_engine::copy::FilesOutput::Stdout)) => Box::new(std::io::stderr()),
        (false, _) => Box::new(std::io::stdout()),
    };
    let id = berth_builder::execute::build(&store, &req, &mut log).map_err(exit::build)?;
    if let Some(out) = &output {
        berth_engine::copy::export_image(&store, &id, out).map_err(exit::engine)?;
    }
    // A tar on standard output is all that goes there; buildah's bud says
    // the ID only where no --iidfile takes it.
    let id_elsewhere = a.buildah && a.iidfile.is_some();
    if output != Some(berth_engine::copy::FilesOutput::Stdout) && !id_elsewhere {
        println!("{id}");
    }
    Ok(0)
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
