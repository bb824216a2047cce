//! berth-init: the small init process `berth run --init` puts at PID 1 of a
//! container. It starts the command, passes every signal it gets on to it, reaps
//! every orphan that ends up with it, and exits with the command's status.
//!
//! Built by the engine's build script as a static binary with no dependencies
//! (it must run in any image, with or without a libc), and bind-mounted into
//! the container read-only. Signals are taken through a signalfd rather than
//! handlers, so there is no async-signal-safety to get wrong.

use std::ffi::CString;
use std::os::raw::{c_char, c_int};

/// glibc's sigset_t: 1024 bits.
#[repr(C)]
struct SigSet([u64; 16]);

unsafe extern "C" {
    fn fork() -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn sigfillset(set: *mut SigSet) -> c_int;
    fn sigemptyset(set: *mut SigSet) -> c_int;
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn signalfd(fd: c_int, mask: *const SigSet, flags: c_int) -> c_int;
    fn read(fd: c_int, buf: *mut u8, n: usize) -> isize;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn _exit(code: c_int) -> !;
}

const SIG_SETMASK: c_int = 2;
const WNOHANG: c_int = 1;
const SIGCHLD: u32 = 17;
const SFD_CLOEXEC: c_int = 0o2_000_000;

fn shell_status(status: c_int) -> c_int {
    if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--") {
        args.remove(0);
    }
    if args.is_empty() {
        eprintln!("berth-init: no command to run");
        std::process::exit(125);
    }
    let cargs: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let mut argv: Vec<*const c_char> = cargs.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut all = SigSet([0; 16]);
    let mut none = SigSet([0; 16]);
    // SAFETY: plain libc calls on valid, owned buffers; after fork the child
    // only resets its mask and execs (or exits).
    unsafe {
        sigfillset(&mut all);
        sigemptyset(&mut none);
        sigprocmask(SIG_SETMASK, &all, std::ptr::null_mut());
        let child = fork();
        if child < 0 {
            eprintln!("berth-init: fork: {}", std::io::Error::last_os_error());
            _exit(125);
        }
        if child == 0 {
            sigprocmask(SIG_SETMASK, &none, std::ptr::null_mut());
            execvp(argv[0], argv.as_ptr());
            let e = std::io::Error::last_os_error();
            eprintln!("berth-init: exec {}: {e}", args[0]);
            _exit(if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 });
        }
        let fd = signalfd(-1, &all, SFD_CLOEXEC);
        if fd < 0 {
            eprintln!("berth-init: signalfd: {}", std::io::Error::last_os_error());
            _exit(125);
        }
        let mut info = [0u8; 128];
        loop {
            if read(fd, info.as_mut_ptr(), info.len()) != info.len() as isize {
                continue;
            }
            let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
            if signo != SIGCHLD {
                kill(child, signo as c_int);
                continue;
            }
            let mut done = None;
            loop {
                let mut status = 0;
                let pid = waitpid(-1, &mut status, WNOHANG);
                if pid <= 0 {
                    break;
                }
                if pid == child {
                    done = Some(shell_status(status));
                }
            }
            if let Some(code) = done {
                _exit(code);
            }
        }
    }
}
