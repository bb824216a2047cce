//! `berth builder`: buildah's scripted verbs (from, run, copy, add, config,
//! commit, mount, umount, rm, containers, inspect) over berth-builder's working
//! containers; this file reads the arguments and prints.

use std::path::PathBuf;

use berth_builder::builder::{self, Builder, CommitSpec, CopySpec, Origin, RunSpec};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::commands::images::StoreArgs;
use crate::exit::{self, CmdResult, Failure};

#[derive(Args)]
pub struct BuilderArgs {
    #[command(subcommand)]
    command: BuilderCommand,
}

// Parsed once; boxing the big variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum BuilderCommand {
    /// Make a working container from an image (or `scratch`); prints its name.
    From(FromArgs),
    /// Run a command in a working container.
    Run(RunArgs),
    /// Copy host files (or another container's or image's) into a working container.
    Copy(CopyArgs),
    /// Copy like `copy`, unpacking local archives.
    Add(CopyArgs),
    /// Change the image config a working container will be committed with.
    Config(ConfigArgs),
    /// Write a working container's changes as a new image: one new layer.
    Commit(CommitArgs),
    /// Mount a working container's root and print where.
    Mount(NameArgs),
    /// Unmount a working container's root.
    #[command(alias = "unmount")]
    Umount(NameArgs),
    /// Remove working containers.
    #[command(alias = "delete")]
    Rm(RmArgs),
    /// List working containers.
    #[command(alias = "ls", alias = "list")]
    Containers(ContainersArgs),
    /// Show a working container's configuration.
    Inspect(InspectArgs),
}

#[derive(Args)]
struct FromArgs {
    /// The working container's name (default IMAGE-working-container).
    #[arg(long)]
    name: Option<String>,
    /// Pull the image: always, missing (default), never or newer.
    #[arg(long, default_value = "missing", num_args = 0..=1, default_missing_value = "always")]
    pull: String,
    /// Print nothing but the name.
    #[arg(short, long)]
    quiet: bool,
    image: String,
}

#[derive(Args)]
struct RunArgs {
    /// KEY=VALUE in the command's environment.
    #[arg(short, long)]
    env: Vec<String>,
    /// The working directory of the command.
    #[arg(long)]
    workingdir: Option<String>,
    /// The user the command runs as.
    #[arg(long)]
    user: Option<String>,
    /// none (default) or host.
    #[arg(long, value_parser = ["none", "host"])]
    network: Option<String>,
    /// SRC:DST[:OPTS] bind mount for this command.
    #[arg(short, long)]
    volume: Vec<String>,
    container: String,
    /// The command (after `--`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

#[derive(Args)]
struct CopyArgs {
    /// USER[:GROUP] to own the copied files.
    #[arg(long)]
    chown: Option<String>,
    /// Octal mode of the copied files.
    #[arg(long)]
    chmod: Option<String>,
    /// Copy from this working container or image instead of the host.
    #[arg(long)]
    from: Option<String>,
    #[arg(short, long)]
    quiet: bool,
    container: String,
    /// SOURCE... [DEST] (DEST defaults to the working directory).
    #[arg(required = true)]
    paths: Vec<String>,
}

#[derive(Args)]
struct ConfigArgs {
    #[arg(long)]
    cmd: Option<String>,
    #[arg(long)]
    entrypoint: Option<String>,
    /// KEY=VALUE, or KEY- to unset.
    #[arg(short, long)]
    env: Vec<String>,
    /// KEY=VALUE, or KEY- to remove.
    #[arg(short, long)]
    label: Vec<String>,
    /// PORT[/PROTO] to expose, or PORT- to stop.
    #[arg(short, long)]
    port: Vec<String>,
    #[arg(short, long)]
    user: Option<String>,
    #[arg(long)]
    workingdir: Option<String>,
    /// A volume path, or PATH- to remove.
    #[arg(short, long)]
    volume: Vec<String>,
    /// KEY=VALUE on the manifest, or KEY- to remove.
    #[arg(short, long)]
    annotation: Vec<String>,
    #[arg(long)]
    stop_signal: Option<String>,
    /// CMD ARGS..., CMD-SHELL COMMAND, or NONE.
    #[arg(long)]
    healthcheck: Option<String>,
    #[arg(long)]
    healthcheck_interval: Option<String>,
    #[arg(long)]
    healthcheck_timeout: Option<String>,
    #[arg(long)]
    healthcheck_start_period: Option<String>,
    #[arg(long)]
    healthcheck_retries: Option<u64>,
    /// An instruction run when the image is built on.
    #[arg(long)]
    onbuild: Vec<String>,
    /// The shell for shell-form commands (JSON array or words).
    #[arg(long)]
    shell: Option<String>,
    #[arg(long)]
    author: Option<String>,
    /// The history entry's "created by".
    #[arg(long)]
    created_by: Option<String>,
    /// The history entry's comment.
    #[arg(long)]
    comment: Option<String>,
    container: String,
}

#[derive(Args)]
struct CommitArgs {
    /// oci (default) or docker (keeps HEALTHCHECK, SHELL, ONBUILD).
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker", "v2s2"])]
    format: String,
    /// One layer for the whole filesystem.
    #[arg(long)]
    squash: bool,
    /// Remove the working container after committing.
    #[arg(long)]
    rm: bool,
    /// Print only the image ID.
    #[arg(short, long)]
    quiet: bool,
    /// Write the image ID to this file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    container: String,
    image: Option<String>,
}

#[derive(Args)]
struct NameArgs {
    containers: Vec<String>,
}

#[derive(Args)]
struct RmArgs {
    #[arg(short, long)]
    all: bool,
    containers: Vec<String>,
}

#[derive(Args)]
struct ContainersArgs {
    /// Every container, not only working containers (BUILDER marks those).
    #[arg(short, long)]
    all: bool,
    /// Print only IDs.
    #[arg(short, long)]
    quiet: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
    #[arg(short = 'n', long)]
    noheading: bool,
    #[arg(long)]
    notruncate: bool,
    /// A Go template per container.
    #[arg(long)]
    format: Option<String>,
}

#[derive(Args)]
struct InspectArgs {
    /// A Go template.
    #[arg(short, long)]
    format: Option<String>,
    container: String,
}

pub fn run(store_args: &StoreArgs, a: BuilderArgs) -> Result<i32, Failure> {
    match a.command {
        BuilderCommand::From(a) => from(store_args, a).map(|_| 0),
        BuilderCommand::Run(a) => run_in(store_args, a),
        BuilderCommand::Copy(a) => copy(store_args, a, false).map(|_| 0),
        BuilderCommand::Add(a) => copy(store_args, a, true).map(|_| 0),
        BuilderCommand::Config(a) => config(store_args, a).map(|_| 0),
        BuilderCommand::Commit(a) => commit(store_args, a).map(|_| 0),
        BuilderCommand::Mount(a) => mount(store_args, a, true).map(|_| 0),
        BuilderCommand::Umount(a) => mount(store_args, a, false).map(|_| 0),
        BuilderCommand::Rm(a) => rm(store_args, a).map(|_| 0),
        BuilderCommand::Containers(a) => containers(store_args, a).map(|_| 0),
        BuilderCommand::Inspect(a) => inspect(store_args, a).map(|_| 0),
    }
}

fn from(store_args: &StoreArgs, a: FromArgs) -> CmdResult {
    berth_runtime::selfexe::ensure_protected().map_err(|e| exit::podman(e.0))?;
    let store = store_args.open()?;
    let present = store.image(&a.image).is_ok();
    if a.image != "scratch" && !(present && matches!(a.pull.as_str(), "missing" | "false")) {
        let pull = match a.pull.as_str() {
            "true" => "always",
            "false" => "missing",
            p => p,
        };
        crate::commands::images::pull_for_run(store_args, &a.image, pull)?;
    }
    let b = builder::from(&store, &a.image, a.name.as_deref()).map_err(exit::build)?;
    println!("{}", b.name);
    Ok(())
}

fn run_in(store_args: &StoreArgs, a: RunArgs) -> Result<i32, Failure> {
    berth_runtime::selfexe::ensure_protected().map_err(|e| exit::podman(e.0))?;
    let store = store_args.open()?;
    let b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let spec = RunSpec {
        args: a.command,
        env: a.env,
        workdir: a.workingdir,
        user: a.user,
        network: a.network,
        volumes: a.volume,
    };
    builder::run(&store, &b, &spec).map_err(exit::build)
}

fn copy(store_args: &StoreArgs, a: CopyArgs, add: bool) -> CmdResult {
    let store = store_args.open()?;
    let b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let mut paths = a.paths;
    // One path copies into the working directory, as buildah does.
    let dest = if paths.len() > 1 {
        paths.pop().expect("two paths")
    } else {
        ".".to_string()
    };
    let spec = CopySpec {
        sources: paths,
        dest,
        chown: a.chown,
        chmod: a.chmod,
        from: a.from,
        add,
        cwd: std::env::current_dir().map_err(exit::podman)?,
    };
    builder::copy(&store, &b, &spec).map_err(exit::build)
}

fn config(store_args: &StoreArgs, a: ConfigArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let shell = match &a.shell {
        Some(s) => {
            let words = builder::command_words(s, false, &[]).map_err(exit::build)?;
            b.config["Shell"] = json!(words);
            words
        }
        None => b.shell(),
    };
    if let Some(c) = &a.entrypoint {
        b.config["Entrypoint"] =
            json!(builder::command_words(c, true, &shell).map_err(exit::build)?);
    }
    if let Some(c) = &a.cmd {
        b.config["Cmd"] = json!(builder::command_words(c, false, &shell).map_err(exit::build)?);
    }
    for e in &a.env {
        b.set_env(e).map_err(exit::build)?;
    }
    for l in &a.label {
        b.set_pair("Labels", "--label", l).map_err(exit::build)?;
    }
    for p in &a.port {
        let p = match p.strip_suffix('-') {
            Some(x) if !x.contains('/') => format!("{x}/tcp-"),
            None if !p.contains('/') => format!("{p}/tcp"),
            _ => p.clone(),
        };
        b.set_member("ExposedPorts", &p);
    }
    for v in &a.volume {
        b.set_member("Volumes", v);
    }
    for an in &a.annotation {
        b.set_annotation(an).map_err(exit::build)?;
    }
    if let Some(u) = &a.user {
        b.config["User"] = json!(u);
    }
    if let Some(w) = &a.workingdir {
        b.config["WorkingDir"] = json!(w);
    }
    if let Some(s) = &a.stop_signal {
        berth_builder::parse_signal(s)
            .map_err(|e| exit::podman(format!("--stop-signal {s}: {e}")))?;
        b.config["StopSignal"] = json!(s);
    }
    healthcheck(&mut b.config, &a)?;
    if !a.onbuild.is_empty() {
        let mut list: Vec<Value> = b.config["OnBuild"].as_array().cloned().unwrap_or_default();
        list.extend(a.onbuild.iter().map(|o| json!(o)));
        b.config["OnBuild"] = json!(list);
    }
    if let Some(x) = a.author {
        b.author = Some(x);
    }
    if let Some(x) = a.created_by {
        b.created_by = Some(x);
    }
    if let Some(x) = a.comment {
        b.comment = Some(x);
    }
    b.save(&store).map_err(exit::build)
}

/// `--healthcheck` and its timing flags into the config's Healthcheck.
fn healthcheck(config: &mut Value, a: &ConfigArgs) -> CmdResult {
    if let Some(h) = &a.healthcheck {
        let t = h.trim();
        let test = if t == "NONE" {
            json!(["NONE"])
        } else if let Some(rest) = t.strip_prefix("CMD-SHELL ") {
            json!(["CMD-SHELL", rest.trim()])
        } else if let Some(rest) = t.strip_prefix("CMD ") {
            let rest = rest.trim();
            let words: Vec<String> = if rest.starts_with('[') {
                serde_json::from_str(rest)
                    .map_err(|e| exit::podman(format!("--healthcheck {h}: {e}")))?
            } else {
                rest.split_whitespace().map(String::from).collect()
            };
            json!(
                ["CMD"]
                    .into_iter()
                    .map(String::from)
                    .chain(words)
                    .collect::<Vec<_>>()
            )
        } else {
            return Err(exit::podman(format!(
                "--healthcheck {h}: start with CMD, CMD-SHELL or NONE"
            )));
        };
        config["Healthcheck"] = json!({"Test": test});
    }
    let timings = [
        (
            "Interval",
            &a.healthcheck_interval,
            "--healthcheck-interval",
        ),
        ("Timeout", &a.healthcheck_timeout, "--healthcheck-timeout"),
        (
            "StartPeriod",
            &a.healthcheck_start_period,
            "--healthcheck-start-period",
        ),
    ];
    for (field, value, flag) in timings {
        if let Some(v) = value {
            let ns = berth_builder::parse_go_duration(v)
                .map_err(|e| exit::podman(format!("{flag} {v}: {e}")))?;
            need_healthcheck(config, flag)?;
            config["Healthcheck"][field] = json!(ns);
        }
    }
    if let Some(r) = a.healthcheck_retries {
        need_healthcheck(config, "--healthcheck-retries")?;
        config["Healthcheck"]["Retries"] = json!(r);
    }
    Ok(())
}

fn need_healthcheck(config: &Value, flag: &str) -> CmdResult {
    if config["Healthcheck"].is_object() {
        Ok(())
    } else {
        Err(exit::podman(format!("{flag}: no --healthcheck is set")))
    }
}

fn commit(store_args: &StoreArgs, a: CommitArgs) -> CmdResult {
    let store = store_args.open()?;
    let b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let spec = CommitSpec {
        image: a.image.clone(),
        docker: a.format != "oci",
        squash: a.squash,
        rm: a.rm,
    };
    let (id, dropped) = builder::commit(&store, &b, &spec).map_err(exit::build)?;
    for d in dropped {
        eprintln!(
            "WARN: {d} is not supported for OCI image format and will be ignored. Must use `docker` format"
        );
    }
    if let Some(f) = &a.iidfile {
        std::fs::write(f, format!("sha256:{id}"))
            .map_err(|e| exit::podman(format!("{}: {e}", f.display())))?;
    }
    if !a.quiet {
        eprintln!("Writing manifest to image destination");
    }
    println!("{id}");
    Ok(())
}

fn mount(store_args: &StoreArgs, a: NameArgs, mount: bool) -> CmdResult {
    let store = store_args.open()?;
    let names = if a.containers.is_empty() && mount {
        // buildah: every mounted working container with its mount point.
        return list_mounts(&store);
    } else {
        a.containers
    };
    for n in &names {
        let b = Builder::load(&store, n).map_err(exit::build)?;
        if mount {
            let p = builder::mount(&store, &b).map_err(exit::build)?;
            if names.len() > 1 {
                println!("{} {}", b.name, p.display());
            } else {
                println!("{}", p.display());
            }
        } else {
            builder::umount(&store, &b).map_err(exit::build)?;
            println!("{}", b.id);
        }
    }
    Ok(())
}

fn list_mounts(store: &berth_storage::Store) -> CmdResult {
    for b in builder::list(store).map_err(exit::build)? {
        if let Some(p) = mount_point(store, &b) {
            println!("{} {}", b.name, p.display());
        }
    }
    Ok(())
}

/// Where the container's root is mounted now, if it is.
fn mount_point(store: &berth_storage::Store, b: &Builder) -> Option<PathBuf> {
    store.mount_point(&b.id)
}

fn rm(store_args: &StoreArgs, a: RmArgs) -> CmdResult {
    let store = store_args.open()?;
    let targets: Vec<Builder> = if a.all {
        builder::list(&store).map_err(exit::build)?
    } else {
        if a.containers.is_empty() {
            return Err(exit::podman(
                "name or ID of a working container must be given",
            ));
        }
        a.containers
            .iter()
            .map(|n| Builder::load(&store, n).map_err(exit::build))
            .collect::<Result<_, _>>()?
    };
    for b in targets {
        // --all leaves a running build its own working containers (it
        // removes them itself); named, one is refused.
        if a.all
            && let Some(p) = b.in_use()
        {
            eprintln!("{}: in use by the build in process {}, left", b.name, p.pid);
            continue;
        }
        builder::remove(&store, &b).map_err(exit::build)?;
        println!("{}", b.id);
    }
    Ok(())
}

fn row(store: &berth_storage::Store, b: &Builder, full: bool) -> Value {
    let image_name = store
        .image(&b.from_id)
        .ok()
        .and_then(|i| i.names.first().cloned())
        .unwrap_or_else(|| b.from_image.clone());
    let cut = |s: &str| {
        if full {
            s.to_string()
        } else {
            s.chars().take(12).collect()
        }
    };
    let working = b.origin != Origin::Other;
    json!({
        "ContainerID": cut(&b.id), "Builder": working, "ImageID": cut(&b.from_id),
        "ImageName": image_name, "ContainerName": b.name,
    })
}

fn containers(store_args: &StoreArgs, a: ContainersArgs) -> CmdResult {
    let store = store_args.open()?;
    let list = if a.all {
        builder::list_all(&store)
    } else {
        builder::list(&store)
    }
    .map_err(exit::build)?;
    if a.quiet {
        for b in &list {
            println!(
                "{}",
                if a.notruncate {
                    b.id.clone()
                } else {
                    b.id[..12].to_string()
                }
            );
        }
        return Ok(());
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|b| row(&store, b, a.notruncate || a.json))
        .collect();
    if a.json {
        return crate::commands::image::print_value(&Value::Array(rows), None);
    }
    if let Some(f) = &a.format {
        return crate::commands::image::print_rows(&rows, f);
    }
    let mut table = Vec::new();
    if !a.noheading {
        table.push(
            [
                "CONTAINER ID",
                "BUILDER",
                "IMAGE ID",
                "IMAGE NAME",
                "CONTAINER NAME",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    for r in &rows {
        table.push(vec![
            r["ContainerID"].as_str().unwrap_or("").to_string(),
            if r["Builder"] == true { "*" } else { "" }.to_string(),
            r["ImageID"].as_str().unwrap_or("").to_string(),
            r["ImageName"].as_str().unwrap_or("").to_string(),
            r["ContainerName"].as_str().unwrap_or("").to_string(),
        ]);
    }
    print!("{}", crate::table::render(&table));
    Ok(())
}

fn inspect(store_args: &StoreArgs, a: InspectArgs) -> CmdResult {
    let store = store_args.open()?;
    let b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let mut oci = b.config.clone();
    builder::drop_docker_only(&mut oci);
    let v = json!({
        "Type": "berth builder",
        "FromImage": b.from_image,
        "FromImageID": b.from_id,
        "Container": b.name,
        "ContainerID": b.id,
        "MountPoint": mount_point(&store, &b).map(|p| p.display().to_string()).unwrap_or_default(),
        "ImageAnnotations": b.annotations,
        "ImageCreatedBy": b.created_by.clone().unwrap_or_default(),
        "OCIv1": {"author": b.author, "config": oci},
        "Docker": {"author": b.author, "config": b.config},
    });
    crate::commands::image::print_value(&v, a.format.as_deref())
}
