//! Builds `berth-init` (init/berth-init.rs) as a static binary the engine embeds:
//! it has to run inside any image, so it links nothing dynamically.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "init/berth-init.rs";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("berth-init");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "bin",
            "--crate-name",
            "berth_init",
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "target-feature=+crt-static",
            "-C",
            "strip=symbols",
            src,
            "-o",
        ])
        .arg(&out)
        .status()
        .expect("run rustc for berth-init");
    assert!(status.success(), "building berth-init failed");
}
