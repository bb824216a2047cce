//! The spec's seccomp profile compiled with libseccomp and loaded as the last step
//! before the user's process runs.

use crate::error::{Error, Result};
use crate::spec::{Seccomp, SyscallArg};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use std::os::fd::{FromRawFd, OwnedFd};
use std::str::FromStr;

fn err(what: &str) -> impl Fn(libseccomp::error::SeccompError) -> Error + '_ {
    move |e| Error(format!("seccomp: {what}: {e}"))
}

fn action(name: &str, errno: Option<u32>) -> Result<ScmpAction> {
    let val = match name {
        "SCMP_ACT_ERRNO" => Some(errno.unwrap_or(libc::EPERM as u32) as i32),
        "SCMP_ACT_TRACE" => Some(errno.unwrap_or(libc::EPERM as u32) as i32),
        _ => None,
    };
    ScmpAction::from_str(name, val).map_err(|_| Error(format!("seccomp: unknown action {name:?}")))
}

fn compare(a: &SyscallArg) -> Result<ScmpArgCompare> {
    let op = match a.op.as_str() {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        "SCMP_CMP_MASKED_EQ" => ScmpCompareOp::MaskedEqual(a.value),
        other => return Err(Error(format!("seccomp: unknown operator {other:?}"))),
    };
    let datum = if matches!(op, ScmpCompareOp::MaskedEqual(_)) {
        a.value_two
    } else {
        a.value
    };
    Ok(ScmpArgCompare::new(a.index, op, datum))
}

/// Whether the profile asks for a user-space notifier.
pub fn uses_notify(s: &Seccomp) -> bool {
    s.default_action == "SCMP_ACT_NOTIFY"
        || s.syscalls.iter().any(|r| r.action == "SCMP_ACT_NOTIFY")
}

/// Builds the filter without loading it, so errors surface before anything runs.
pub fn compile(s: &Seccomp) -> Result<ScmpFilterContext> {
    let default = action(&s.default_action, s.default_errno_ret)?;
    let mut ctx = ScmpFilterContext::new(default).map_err(err("create filter"))?;
    // NO_NEW_PRIVS is the runtime's business (process.noNewPrivileges), not libseccomp's.
    ctx.set_ctl_nnp(false).map_err(err("nnp"))?;
    for a in &s.architectures {
        let arch = ScmpArch::from_str(a)
            .map_err(|_| Error(format!("seccomp: unknown architecture {a:?}")))?;
        // The native arch is already there; adding it again is EEXIST.
        let _ = ctx.add_arch(arch);
    }
    for f in &s.flags {
        match f.as_str() {
            "SECCOMP_FILTER_FLAG_LOG" => drop(ctx.set_ctl_log(true)),
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => drop(ctx.set_ctl_ssb(true)),
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => drop(ctx.set_ctl_waitkill(true)),
            "SECCOMP_FILTER_FLAG_TSYNC" => drop(ctx.set_ctl_tsync(true)),
            other => return Err(Error(format!("seccomp: unknown flag {other:?}"))),
        }
    }
    for rule in &s.syscalls {
        let act = action(&rule.action, rule.errno_ret)?;
        if act == default {
            continue;
        }
        let cmps: Vec<ScmpArgCompare> = rule.args.iter().map(compare).collect::<Result<_>>()?;
        for name in &rule.names {
            // Names this libseccomp does not know (newer syscalls) are skipped, as runc does.
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            add(
                &mut ctx,
                act,
                sc,
                &cmps,
                rule.args.iter().map(|a| a.index).collect(),
            )
            .map_err(|e| Error(format!("seccomp: rule for {name}: {}", e.0)))?;
        }
    }
    Ok(ctx)
}

fn add(
    ctx: &mut ScmpFilterContext,
    act: ScmpAction,
    sc: ScmpSyscall,
    cmps: &[ScmpArgCompare],
    idx: Vec<u32>,
) -> Result<()> {
    if cmps.is_empty() {
        return ctx.add_rule(act, sc).map(drop).map_err(err("add rule"));
    }
    let mut seen = idx.clone();
    seen.sort();
    seen.dedup();
    if seen.len() == idx.len() {
        ctx.add_rule_conditional(act, sc, cmps)
            .map(drop)
            .map_err(err("add rule"))
    } else {
        // libseccomp allows one comparison per argument in a rule: several on the same
        // argument mean "any of these", so each becomes a rule of its own.
        for c in cmps {
            ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))
                .map_err(err("add rule"))?;
        }
        Ok(())
    }
}

/// Loads the filter; with a notify action, returns the listener fd.
pub fn load(ctx: &ScmpFilterContext, notify: bool) -> Result<Option<OwnedFd>> {
    ctx.load().map_err(err("load filter"))?;
    if !notify {
        return Ok(None);
    }
    let fd = ctx.get_notify_fd().map_err(err("notify fd"))?;
    // SAFETY: libseccomp hands over a fresh fd it no longer uses.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SyscallRule;

    #[test]
    fn a_profile_with_unknown_names_and_repeated_args_compiles() {
        let s = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            architectures: vec!["SCMP_ARCH_X86_64".into(), "SCMP_ARCH_X86".into()],
            syscalls: vec![
                SyscallRule {
                    names: vec!["read".into(), "no_such_call_42".into()],
                    action: "SCMP_ACT_ALLOW".into(),
                    ..Default::default()
                },
                SyscallRule {
                    names: vec!["personality".into()],
                    action: "SCMP_ACT_ALLOW".into(),
                    args: vec![
                        SyscallArg {
                            index: 0,
                            value: 0,
                            op: "SCMP_CMP_EQ".into(),
                            ..Default::default()
                        },
                        SyscallArg {
                            index: 0,
                            value: 8,
                            op: "SCMP_CMP_EQ".into(),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        compile(&s).unwrap();
    }

    #[test]
    fn unknown_actions_are_named() {
        let s = Seccomp {
            default_action: "SCMP_ACT_MAYBE".into(),
            ..Default::default()
        };
        let e = compile(&s).err().unwrap();
        assert!(e.0.contains("SCMP_ACT_MAYBE"), "{e}");
    }
}
