//! SIGINT and SIGTERM during a copy: the copy stops through its own error
//! path, which removes its staging directories and partial blobs, and the
//! process then ends by the signal as skopeo would have; a second signal ends
//! it at once.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that interrupted this process; 0: none.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

extern "C" fn on_signal(sig: libc::c_int) {
    if CAUGHT.swap(sig, Ordering::SeqCst) != 0 {
        die_by(sig);
    }
    berth_image::copy::interrupt();
}

/// Copies stop on SIGINT or SIGTERM rather than the process dying in the
/// middle of one (see the module's comment).
pub(crate) fn stop_copies_on_signals() {
    for sig in SIGNALS {
        // SAFETY: a zeroed sigaction is a valid start; the handler does only
        // atomic loads and stores, and on a second signal signal(2) and
        // raise(3), all async-signal-safe. SA_RESTART keeps other threads'
        // system calls from failing with EINTR.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// When a signal interrupted the command, ends the process by it now that
/// the copy has cleaned up, so that a shell or supervisor sees the signal
/// (not an error's exit code) and prints nothing more.
pub(crate) fn end_if_interrupted() {
    let sig = CAUGHT.load(Ordering::SeqCst);
    if sig != 0 {
        die_by(sig);
        // Only were the signal blocked: a shell's code for it.
        std::process::exit(128 + sig);
    }
}

fn die_by(sig: libc::c_int) {
    // SAFETY: restoring the signal's default action and raising it in this
    // process, which it then ends (in a handler: once the handler returns).
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}
