//! `delete`: stop what is left, run poststop hooks, remove the cgroup and the state.

use crate::create::Runtime;
use crate::error::{Error, Result};
use crate::hooks;
use crate::state::{self, State, Status};
use crate::sys;

pub fn delete(rt: &Runtime, id: &str, force: bool) -> Result<()> {
    let st = match State::load(&rt.root, id) {
        Ok(st) => st,
        Err(e) if force && e.0.ends_with("does not exist") => {
            // A create killed before it wrote the state leaves its directory (and
            // nothing else: the cgroup is made after the state is written).
            let _ = std::fs::remove_dir_all(state::dir(&rt.root, id));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    match st.status(&rt.root) {
        Status::Stopped => {}
        // A created container never ran the user's process; as with runc, deleting
        // it kills the waiting init.
        Status::Created => kill_and_wait(&st),
        status if force => {
            if status == Status::Paused {
                let _ = st.cgroup.freeze(false);
            }
            kill_and_wait(&st);
        }
        status => {
            return Err(Error(format!(
                "cannot delete container {id} that is not stopped: {}",
                status.as_str()
            )));
        }
    }
    cleanup(rt, &st);
    Ok(())
}

fn kill_and_wait(st: &State) {
    if let Some(fd) = st.process().and_then(|p| p.open()) {
        let _ = fd.signal(libc::SIGKILL);
    }
    if let Ok(pids) = st.cgroup.pids() {
        for p in pids {
            crate::ops::signal_member(p, libc::SIGKILL);
        }
    }
    // Our child (run) can be reaped; someone else's is gone once it is a zombie.
    let _ = sys::waitpid(st.pid, libc::WNOHANG);
    for _ in 0..2000 {
        if !st.alive() {
            return;
        }
        let _ = sys::waitpid(st.pid, libc::WNOHANG);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Removes everything the container left: cgroup, state directory; poststop hooks
/// run last and only warn, as the spec asks.
pub fn cleanup(rt: &Runtime, st: &State) {
    if let Err(e) = st.cgroup.remove() {
        crate::log::warn(&e.0);
    }
    let poststop = st.config.hooks().poststop;
    if !poststop.is_empty() {
        let _ = std::env::set_current_dir(&st.bundle);
        hooks::run_all_warn("poststop", &poststop, &st.oci(Status::Stopped));
    }
    let _ = std::fs::remove_dir_all(state::dir(&rt.root, &st.id));
}
