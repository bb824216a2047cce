//! STOPSIGNAL values: a signal number or a Linux signal name, with or
//! without `SIG`, in any case (`SIGTERM`, `term`, `15`, `SIGRTMIN+3`).

const NAMES: &[(&str, u32)] = &[
    ("ABRT", 6),
    ("ALRM", 14),
    ("BUS", 7),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("FPE", 8),
    ("HUP", 1),
    ("ILL", 4),
    ("INT", 2),
    ("IO", 29),
    ("IOT", 6),
    ("KILL", 9),
    ("PIPE", 13),
    ("POLL", 29),
    ("PROF", 27),
    ("PWR", 30),
    ("QUIT", 3),
    ("SEGV", 11),
    ("STKFLT", 16),
    ("STOP", 19),
    ("SYS", 31),
    ("TERM", 15),
    ("TRAP", 5),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("USR1", 10),
    ("USR2", 12),
    ("VTALRM", 26),
    ("WINCH", 28),
    ("XCPU", 24),
    ("XFSZ", 25),
];

/// Real-time signals as the kernel numbers them (glibc reserves 32 and 33).
const RTMIN: u32 = 34;
const RTMAX: u32 = 64;

/// How Go's syscall.Signal names signals 1 to 31, the words buildah prints
/// for a command a signal killed ("container exited on killed").
const GO_WORDS: [&str; 31] = [
    "hangup",
    "interrupt",
    "quit",
    "illegal instruction",
    "trace/breakpoint trap",
    "aborted",
    "bus error",
    "floating point exception",
    "killed",
    "user defined signal 1",
    "segmentation fault",
    "user defined signal 2",
    "broken pipe",
    "alarm clock",
    "terminated",
    "stack fault",
    "child exited",
    "continued",
    "stopped (signal)",
    "stopped",
    "stopped (tty input)",
    "stopped (tty output)",
    "urgent I/O condition",
    "CPU time limit exceeded",
    "file size limit exceeded",
    "virtual timer expired",
    "profiling timer expired",
    "window changed",
    "I/O possible",
    "power failure",
    "bad system call",
];

/// A signal in Go's words (`killed`, `terminated`, `signal 40`).
pub fn go_words(sig: i32) -> String {
    usize::try_from(sig - 1)
        .ok()
        .and_then(|i| GO_WORDS.get(i))
        .map_or_else(|| format!("signal {sig}"), |w| w.to_string())
}

/// A STOPSIGNAL value that names no signal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid signal: {0}")]
pub struct InvalidSignal(pub String);

/// The signal number of a STOPSIGNAL value.
pub fn parse_signal(s: &str) -> Result<u32, InvalidSignal> {
    let invalid = || InvalidSignal(s.to_string());
    if let Ok(n) = s.parse::<u32>() {
        return if n == 0 { Err(invalid()) } else { Ok(n) };
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(n);
    }
    realtime(name).ok_or_else(invalid)
}

/// `RTMIN`, `RTMIN+n` (n ≤ 15), `RTMAX`, `RTMAX-n` (n ≤ 14).
fn realtime(name: &str) -> Option<u32> {
    let offset = |rest: &str, max: u32| -> Option<u32> {
        match rest {
            "" => Some(0),
            r => r.parse().ok().filter(|&n| n >= 1 && n <= max),
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let rest = if rest.is_empty() {
            rest
        } else {
            rest.strip_prefix('+')?
        };
        return Some(RTMIN + offset(rest, 15)?);
    }
    let rest = name.strip_prefix("RTMAX")?;
    let rest = if rest.is_empty() {
        rest
    } else {
        rest.strip_prefix('-')?
    };
    Some(RTMAX - offset(rest, 14)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_signal("SIGTERM"), Ok(15));
        assert_eq!(parse_signal("term"), Ok(15));
        assert_eq!(parse_signal("SigKill"), Ok(9));
        assert_eq!(parse_signal("9"), Ok(9));
        assert_eq!(parse_signal("SIGWINCH"), Ok(28));
        assert_eq!(parse_signal("SIGRTMIN"), Ok(34));
        assert_eq!(parse_signal("RTMIN+3"), Ok(37));
        assert_eq!(parse_signal("SIGRTMAX-2"), Ok(62));
        assert_eq!(parse_signal("RTMAX"), Ok(64));
    }

    #[test]
    fn go_words_of_signals() {
        assert_eq!(go_words(9), "killed");
        assert_eq!(go_words(15), "terminated");
        assert_eq!(go_words(31), "bad system call");
        assert_eq!(go_words(40), "signal 40");
    }

    #[test]
    fn invalid() {
        assert_eq!(
            parse_signal("SIGFOO").unwrap_err().to_string(),
            "Invalid signal: SIGFOO"
        );
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("-1").is_err());
        assert!(parse_signal("").is_err());
        assert!(parse_signal("RTMIN+16").is_err());
        assert!(parse_signal("RTMIN-1").is_err());
        assert!(parse_signal("RTMAX-15").is_err());
    }
}
