//! cgroup v2 device rules: v2 has no devices.allow/deny files; the kernel asks a
//! BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead. This module
//! compiles the spec's rules into such a program and attaches it.
//!
//! The program reads the request (type, access, major, minor) and walks the rules
//! from the last to the first: the first rule that matches decides, which is the
//! "later rules win" order of the v1 files. No match denies.

use crate::error::{Context, Result};
use crate::spec::DeviceRule;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// One eBPF instruction, as `struct bpf_insn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// Opcodes used (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61;
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_X: u8 = 0xbc;
const ALU64_MOV_K: u8 = 0xb7;
const JMP_JNE_K: u8 = 0x55;
const JMP_EXIT: u8 = 0x95;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn access_mask(access: &str) -> i32 {
    access.chars().fold(0, |m, c| {
        m | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// Compiles the rules (in spec order) into a program.
pub fn compile(rules: &[DeviceRule]) -> Vec<Insn> {
    // r2 = type, r3 = access, r4 = major, r5 = minor (ctx: access_type, major, minor).
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let mut block: Vec<Insn> = Vec::new();
        // Each test jumps past the rest of the block when it does not match; the
        // offsets are filled in once the block's length is known.
        let mut skips: Vec<usize> = Vec::new();
        match rule.kind.as_deref().unwrap_or("a") {
            "c" => {
                skips.push(block.len());
                block.push(insn(JMP_JNE_K, 2, 0, 0, DEV_CHAR));
            }
            "b" => {
                skips.push(block.len());
                block.push(insn(JMP_JNE_K, 2, 0, 0, DEV_BLOCK));
            }
            "a" => {}
            _ => continue, // FIFOs and the like are not devices to the cgroup
        }
        let acc = access_mask(rule.access.as_deref().unwrap_or("rwm"));
        if acc != ACC_READ | ACC_WRITE | ACC_MKNOD {
            // The request must ask for nothing outside the rule's access.
            block.push(insn(ALU32_MOV_X, 6, 3, 0, 0));
            block.push(insn(ALU32_AND_K, 6, 0, 0, !acc));
            skips.push(block.len());
            block.push(insn(JMP_JNE_K, 6, 0, 0, 0));
        }
        if let Some(major) = rule.major.filter(|m| *m >= 0) {
            skips.push(block.len());
            block.push(insn(JMP_JNE_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor.filter(|m| *m >= 0) {
            skips.push(block.len());
            block.push(insn(JMP_JNE_K, 5, 0, 0, minor as i32));
        }
        block.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(rule.allow)));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let end = block.len();
        let unconditional = skips.is_empty();
        for i in skips {
            block[i].off = (end - i - 1) as i16;
        }
        p.extend(block);
        // A rule that matches everything ends the program: the verifier refuses
        // code it can never reach.
        if unconditional {
            return p;
        }
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

const BPF_PROG_LOAD: i64 = 5;
const BPF_PROG_ATTACH: i64 = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

fn bpf<T>(cmd: i64, attr: &T) -> std::io::Result<i64> {
    // SAFETY: attr is a valid, fully initialised bpf_attr prefix of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const T,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Loads the program for `rules` and attaches it to the cgroup2 directory `dir`.
pub fn attach(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let prog = compile(rules);
    let license = c"Apache-2.0";
    let mut name = [0u8; 16];
    name[..9].copy_from_slice(b"berth_dev");
    let load = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    let fd = match bpf(BPF_PROG_LOAD, &load) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // Ask again with the verifier's log, so the error says what it disliked.
            let mut log = vec![0u8; 16 * 1024];
            let retry = ProgLoadAttr {
                log_level: 1,
                log_size: log.len() as u32,
                log_buf: log.as_mut_ptr() as u64,
                ..load
            };
            match bpf(BPF_PROG_LOAD, &retry) {
                Ok(fd) => fd,
                Err(e) => {
                    let text = String::from_utf8_lossy(&log);
                    let last = text
                        .trim_end_matches('\0')
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .collect::<Vec<_>>()
                        .join(" / ");
                    bail!(
                        "load the device filter (bpf): {}: {last}",
                        crate::error::describe_io(&e)
                    );
                }
            }
        }
        Err(e) => return Err(e).ctx("load the device filter (bpf)"),
    };
    // SAFETY: the kernel returned a new fd that is ours.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let cg = std::fs::File::open(dir).with(|| format!("open cgroup {}", dir.display()))?;
    let attach = ProgAttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &attach)
        .with(|| format!("attach the device filter to {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        allow: bool,
        kind: &str,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind: Some(kind.into()),
            major,
            minor,
            access: Some(access.into()),
        }
    }

    #[test]
    fn every_skip_lands_on_the_next_block() {
        let p = compile(&[
            rule(false, "a", None, None, "rwm"),
            rule(true, "c", Some(1), Some(3), "rw"),
        ]);
        // prologue 6; rule c 1:3 rw: type, mask (3), major, minor, mov, exit = 8;
        // rule a: mov, exit — and nothing after it, as it matches everything.
        assert_eq!(p.len(), 6 + 8 + 2);
        for (i, ins) in p.iter().enumerate() {
            if ins.code == JMP_JNE_K {
                let target = i as i64 + 1 + ins.off as i64;
                assert_eq!(target, 14, "jump at {i} must land on the deny-all rule");
            }
        }
        assert_eq!(p[12], insn(ALU64_MOV_K, 0, 0, 0, 1));
        assert_eq!(p[14], insn(ALU64_MOV_K, 0, 0, 0, 0));
    }
}
