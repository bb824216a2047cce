//! `run` and `create`.

use crate::commands::StoreArgs;
use crate::commands::container::flags::ContainerArgs;
use crate::commands::container::spec_flags::options;
use crate::commands::image::pull::{PullFor, pull_for_container};
use crate::exit::{self, Failure};
use berth_engine::Engine;
use berth_engine::outfile::{self, CidFileError};
use clap::Args;
use std::ffi::OsString;

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run in the background and print the container's ID.
    #[arg(short, long)]
    pub(crate) detach: bool,
    /// Keys that detach from a container run under its monitor (with
    /// --restart or a healthcheck) and leave it running.
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub(crate) detach_keys: String,
    /// Remove the image once the container is gone, unless another container
    /// uses it (implies --rm).
    #[arg(long)]
    pub(crate) rmi: bool,
    /// Pass the signals this command gets on to the container (not SIGKILL,
    /// SIGSTOP, SIGCHLD); `--sig-proxy=false`: they end this command only, and
    /// the container runs on under its monitor.
    #[arg(long, default_value = "true")]
    pub(crate) sig_proxy: bool,
    #[command(flatten)]
    pub(crate) c: ContainerArgs,
}

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    #[command(flatten)]
    pub(crate) c: ContainerArgs,
}

pub(crate) fn failure(e: berth_engine::RunError) -> Failure {
    exit::usage(e.exit_code(), e)
}

/// `--cidfile`: the new container's ID, in a file that must not exist yet.
fn write_cidfile(path: Option<&std::path::Path>, id: &str) -> Result<(), CidFileError> {
    path.map_or(Ok(()), |p| outfile::write_cidfile(p, id))
}

/// Refuses a --cidfile that exists before anything is made.
fn check_cidfile(path: Option<&std::path::Path>) -> Result<(), Failure> {
    path.map_or(Ok(()), outfile::check_cidfile)
        .map_err(exit::podman)
}

/// What the flags alone must pass (a `--stop-signal` …), judged before an
/// image is pulled, as podman does.
fn check_flags(a: &ContainerArgs) -> Result<(), Failure> {
    berth_engine::run::check(a.image(), &a.label, a.stop_signal.as_deref()).map_err(exit::engine)
}

/// `--pull`: the engine pulls as the policy says (podman's default: only a
/// missing image) and names the image to make the container from (an
/// archive's or a layout's, docker-archive:PATH, oci:DIR …, by its ID).
fn pull_if_needed(engine: &Engine, a: &mut ContainerArgs) -> Result<(), Failure> {
    if a.rootfs {
        return Ok(());
    }
    let how = PullFor {
        quiet: a.quiet,
        ..Default::default()
    };
    let image = pull_for_container(engine, a.image(), &a.pull, &how)?;
    a.set_image(image);
    Ok(())
}

/// The command line of a container's monitor (from this binary's read-only
/// image where there is one), the store flags, `__monitor ID`.
pub fn monitor_argv(store: &StoreArgs, id: &str) -> Vec<OsString> {
    store.command().monitor(id)
}

/// This binary with the store flags it was given, for the processes it starts.
pub fn berth_argv(store: &StoreArgs) -> Vec<OsString> {
    store.command().argv()
}

/// Returns the container's exit code (foreground), or 0 after printing its ID
/// (`-d`); failures carry podman's 125/126/127.
pub fn run(store_args: &StoreArgs, mut a: RunArgs) -> Result<i32, Failure> {
    // Before this process opens a file of its own: which of fds 3.. it was given.
    if a.c.preserve_fds > 0 {
        berth_engine::oci::pass_inherited_fds(berth_runtime::process::inherited_fds(
            a.c.preserve_fds,
        ));
    }
    // In the foreground this process may become the container's runtime: it
    // runs from a read-only image of itself as berth-oci does (CVE-2019-5736),
    // which may execute it again, before anything is forked. A detached
    // container's monitor is started from that image (`monitor_argv`).
    if !a.detach {
        crate::exit::protect_self()?;
    }
    check_flags(&a.c)?;
    let store = store_args.open()?;
    let engine = Engine::with_store(store.clone());
    let cidfile = a.c.cidfile.clone();
    check_cidfile(cidfile.as_deref())?;
    pull_if_needed(&engine, &mut a.c)?;
    let mut o = options(a.c, store_args)?;
    o.rm |= a.rmi;
    // Attached with -i, the container's stdin ends with ours (Docker's StdinOnce).
    o.process.stdin_once = o.process.interactive && !a.detach;
    let cid = |id: &str| write_cidfile(cidfile.as_deref(), id);
    // Without the proxy a signal may end this process, and the container
    // must outlive it: its monitor runs it.
    let monitored = berth_engine::run::needs_monitor(&store, &o) || !a.sig_proxy;
    if !a.detach && !monitored {
        // Not attached to its stdout, podman says which container runs.
        let attach = &o.process.attach;
        let print_id = !attach.is_empty() && !attach.iter().any(|s| s == "stdout" || s == "stderr");
        let code = engine
            .containers()
            .run_with(&o, |c| {
                if print_id {
                    println!("{}", c.id);
                }
                cid(&c.id).map_err(|e| berth_engine::RunError::Engine(e.to_string()))
            })
            .map_err(failure);
        if a.rmi {
            // Kept while another container uses it, as podman does.
            let _ = engine
                .images()
                .remove(&[o.image.clone()], Default::default());
        }
        return code;
    }
    let monitor = |id: &str| monitor_argv(store_args, id);
    let created = |c: &berth_engine::container::Info| {
        cid(&c.id).map_err(|e| berth_engine::Error::Other(e.to_string()))
    };
    if !a.detach {
        let keys =
            berth_engine::attach::detach_keys(&a.detach_keys).map_err(crate::exit::podman)?;
        let (info, conn) = engine
            .containers()
            .run_attached(&o, &monitor, created)
            .map_err(exit::engine)?;
        let stdin = info.config.process.interactive;
        return crate::attach::session(&store, &info, conn, stdin, &keys, a.sig_proxy);
    }
    let c = engine
        .containers()
        .run_detached(&o, &monitor, created)
        .map_err(exit::engine)?;
    println!("{}", c.id);
    Ok(0)
}

pub fn create(store_args: &StoreArgs, mut a: CreateArgs) -> Result<i32, Failure> {
    check_flags(&a.c)?;
    let store = store_args.open()?;
    let engine = Engine::with_store(store.clone());
    let cidfile = a.c.cidfile.clone();
    check_cidfile(cidfile.as_deref())?;
    pull_if_needed(&engine, &mut a.c)?;
    let o = options(a.c, store_args)?;
    let c = engine.containers().create(&o).map_err(failure)?;
    if let Err(m) = write_cidfile(cidfile.as_deref(), &c.id) {
        berth_engine::run::remove(&store, &c.id);
        return Err(exit::podman(m));
    }
    println!("{}", c.id);
    Ok(0)
}
