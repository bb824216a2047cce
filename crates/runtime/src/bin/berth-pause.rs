//! berth-pause: the process of a pod's infra container. It holds the pod's
//! namespaces open and does nothing else: it sleeps until a signal, reaps the
//! children a shared pid namespace gives it, and leaves on SIGTERM, SIGINT or
//! SIGHUP (as pid 1 it would ignore them without handlers).

extern "C" fn leave(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(0) };
}

extern "C" fn wake(_: libc::c_int) {}

fn main() {
    for (sig, handler) in [
        (libc::SIGTERM, leave as extern "C" fn(libc::c_int)),
        (libc::SIGINT, leave),
        (libc::SIGHUP, leave),
        (libc::SIGCHLD, wake),
    ] {
        // SAFETY: installing a handler that only calls async-signal-safe code.
        unsafe { libc::signal(sig, handler as libc::sighandler_t) };
    }
    loop {
        // SAFETY: pause has no arguments; it returns after a handled signal.
        unsafe { libc::pause() };
        // SAFETY: a non-blocking wait for any child, with no status wanted.
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
    }
}
