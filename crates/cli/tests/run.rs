//! `berth run` in the foreground: a local image run through the built-in runtime.

mod common;
mod support;

use common::*;
use support::fixtures;

struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self) -> std::process::Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", "overlay"]);
        // The read-only self image the runtime makes goes here, to be cleaned up.
        c.env("BERTH_OCI_EXE_DIR", self.dir.path().join("exe"));
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("exe")) {
            for e in entries.flatten() {
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(e.path())
                    .status();
            }
        }
    }
}

fn store_with_busybox() -> Store {
    let st = Store::new();
    let tarball = st.dir.path().join("rootfs.tar");
    std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
    let r = st.run(&[
        "import",
        "-q",
        "--change",
        "CMD [\"sh\", \"-c\", \"echo from the image\"]",
        "--change",
        "ENV GREETING=hello",
        tarball.to_str().unwrap(),
        "localhost/bb:1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    st
}

#[test]
fn run_uses_the_images_command_env_and_the_flags() {
    let st = store_with_busybox();
    let r = st.run(&["run", "--rm", "localhost/bb:1"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "from the image\n"),
        "{}",
        r.stderr
    );
    let r = st.run(&[
        "run",
        "--rm",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        "--hostname",
        "box",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo $GREETING $X $(pwd) $(id -u):$(id -g) $(hostname)",
    ]);
    assert_eq!(r.stdout, "hello 1 /tmp 1000:1000 box\n", "{}", r.stderr);
    let r = st.run(&[
        "run",
        "--rm",
        "--entrypoint",
        "echo",
        "localhost/bb:1",
        "via",
        "entrypoint",
    ]);
    assert_eq!(r.stdout, "via entrypoint\n", "{}", r.stderr);
}

#[test]
fn exit_codes_are_podmans() {
    let st = store_with_busybox();
    assert_eq!(
        st.run(&["run", "--rm", "localhost/bb:1", "sh", "-c", "exit 42"])
            .code,
        42
    );
    let r = st.run(&["run", "--rm", "localhost/bb:1", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        r.stderr.contains("executable file not found"),
        "{}",
        r.stderr
    );
    // A user the image does not have: the command cannot be run (podman's 126).
    let r = st.run(&["run", "--rm", "-u", "nosuchuser", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    let r = st.run(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "localhost/missing:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("localhost/missing:1: image not known"),
        "{}",
        r.stderr
    );
    // By default a missing image is pulled; a failed pull names the image.
    let r = st.run(&["run", "--rm", "127.0.0.1:9/missing:1", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("127.0.0.1:9/missing:1: pulling"),
        "{}",
        r.stderr
    );
}

/// A --rm container whose command cannot run is gone afterwards, whether it
/// ran in the foreground, under its monitor (it joins another container's
/// network) or detached.
#[test]
fn rm_removes_a_container_that_could_not_start() {
    let st = store_with_busybox();
    let donor = st.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "localhost/bb:1",
        "sleep",
        "60",
    ]);
    assert_eq!(donor.code, 0, "{}", donor.stderr);
    let donor = donor.stdout.trim().to_string();
    let joined = format!("container:{donor}");
    for how in [
        vec!["run", "--rm", "--network", "none"],
        vec!["run", "--rm", "--network", &joined],
        vec!["run", "-d", "--rm", "--network", "none"],
    ] {
        let mut args = how.clone();
        args.extend(["localhost/bb:1", "no-such-command"]);
        let r = st.run(&args);
        assert_eq!(r.code, 127, "{how:?}: {}", r.stderr);
        let ps = st.run(&["ps", "-a", "--format", "{{.ID}}"]);
        assert_eq!(ps.stdout.trim(), &donor[..12], "{how:?} left a container");
    }
    st.run(&["rm", "-f", "-t", "0", &donor]);
}

/// Without --rm, a container whose command cannot run stays created (its
/// name taken, as podman leaves it), holding no mount; it can be removed.
#[test]
fn a_container_that_could_not_start_stays_created() {
    let st = store_with_busybox();
    let r = st.run(&[
        "run",
        "--name",
        "f1",
        "--network",
        "none",
        "localhost/bb:1",
        "no-such-command",
    ]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    let ps = st.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert_eq!(ps.stdout, "f1 Created\n");
    assert_eq!(common::host::mounts_under(st.dir.path()), 0);
    let again = st.run(&["run", "--name", "f1", "localhost/bb:1", "true"]);
    assert_eq!(again.code, 125);
    assert!(again.stderr.contains("already in use"), "{}", again.stderr);
    // podman's start answers 125 for any failure, attached or not.
    assert_eq!(st.run(&["start", "f1"]).code, 125);
    assert_eq!(st.run(&["start", "-a", "f1"]).code, 125);
    assert_eq!(st.run(&["rm", "f1"]).code, 0);
}

#[test]
fn rm_leaves_no_container_mount_or_state() {
    let st = store_with_busybox();
    let r = st.run(&[
        "run",
        "--rm",
        "--read-only",
        "localhost/bb:1",
        "sh",
        "-c",
        "touch /x 2>/dev/null || echo ro; grep -c . /proc/self/mountinfo >/dev/null",
    ]);
    assert_eq!(r.stdout, "ro\n", "{}", r.stderr);
    // A --tmpfs of the user's at /run takes the place of read-only's own.
    let r = st.run(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/run:size=2m",
        "localhost/bb:1",
        "grep",
        " /run ",
        "/proc/mounts",
    ]);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("size=2048k"), "{}", r.stdout);
    let run_root = st.dir.path().join("run");
    let leftovers: Vec<_> = std::fs::read_dir(run_root.join("containers"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(st.dir.path().join("root").to_str().unwrap()),
        "an overlay is still mounted"
    );
    let states: Vec<_> = std::fs::read_dir(run_root.join("oci"))
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    assert!(states.is_empty(), "{states:?}");
}

/// The value of xattr `name` of the first file called `file_name` under `dir`.
fn find_xattr(dir: &std::path::Path, file_name: &str, name: &str) -> Option<Vec<u8>> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        let ft = e.file_type().ok()?;
        if ft.is_dir() {
            if let Some(v) = find_xattr(&p, file_name, name) {
                return Some(v);
            }
        } else if ft.is_file() && e.file_name() == file_name {
            let path = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            let attr = std::ffi::CString::new(name).unwrap();
            let mut buf = [0u8; 256];
            // SAFETY: both strings are NUL-terminated and buf outlives the call.
            let n = unsafe {
                libc::lgetxattr(
                    path.as_ptr(),
                    attr.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            return (n >= 0).then(|| buf[..n as usize].to_vec());
        }
    }
    None
}

#[test]
fn special_files_survive_a_registry_an_archive_and_the_overlay_store() {
    let reg = support::registry::Registry::start().expect("registry");
    let st = Store::new();
    let fx = fixtures::special(&st.dir.path().join("special")).unwrap();
    let remote = format!("docker://{}/fixtures/special:1", reg.addr());
    let archive = st.dir.path().join("special.tar");
    let hops = [
        format!("oci:{}:{}", fx.layout.display(), fx.tag),
        remote,
        format!("docker-archive:{}:localhost/special:1", archive.display()),
    ];
    for pair in hops.windows(2) {
        let r = st.run(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &pair[0],
            &pair[1],
        ]);
        assert_eq!(r.code, 0, "{} → {}: {}", pair[0], pair[1], r.stderr);
    }
    let r = st.run(&["load", "-q", "-i", archive.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let script = "stat -c '%n %F %a %u:%g %h %t:%T' /data/* /opaque/* /special/*; \
                  echo tree: $(ls -A /tree); cat /data/gone.txt; readlink /data/link-rel; readlink /data/link-abs";
    let r = st.run(&["run", "--rm", "localhost/special:1", "sh", "-c", script]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut want: Vec<String> = fixtures::SPECIAL_TREE
        .iter()
        .map(|s| s.to_string())
        .collect();
    want.extend(["tree:", "back", "keep.txt", "/data/keep.txt"].map(String::from));
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want);
    // The xattr reached the layer on disk.
    let layers = st.dir.path().join("root");
    assert_eq!(
        find_xattr(&layers, "xattr.txt", "user.berth").as_deref(),
        Some(&b"fixture"[..])
    );
}
