//! `cp CTR:SRC -` writes a tar of SRC to stdout and `cp - CTR:DIR` extracts a
//! tar from stdin into DIR, as podman's cp does, on running and stopped
//! containers alike; a hostile archive on stdin (`..`, absolute names,
//! symlinks or hardlinks climbing out) writes nothing outside the container.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::store::TestStore;

/// A store with a running container `up` and a stopped one `down`.
fn two_containers() -> TestStore {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    st.ok(&["run", "--name", "down", "localhost/bb:1", "true"]);
    assert_eq!(st.inspect("up", ".State.Status"), "running");
    assert_eq!(st.inspect("down", ".State.Status"), "exited");
    st
}

struct Out {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

/// `berth ARGS` with `input` on stdin, run in the store's directory (so a
/// `-` taken for a file name would land there, not in the source tree).
fn berth_with_stdin(st: &TestStore, args: &[&str], input: &[u8]) -> Out {
    let mut c = st.cmd();
    c.args(args)
        .current_dir(st.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run berth");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // A refused stream may be abandoned half-read: ignore the broken pipe.
    let feeder = std::thread::spawn(move || drop(stdin.write_all(&input)));
    let out = child.wait_with_output().expect("wait for berth");
    feeder.join().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The entry names of a tar, as the system's `tar -t` lists them.
fn tar_list(archive: &[u8]) -> Vec<String> {
    let mut child = Command::new("tar")
        .arg("-t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("tar");
    let mut stdin = child.stdin.take().unwrap();
    let data = archive.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "tar -t refused the archive");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect()
}

/// A tar entry's header, the name written as given (even `..` or absolute
/// ones, which the tar crate's own setters refuse).
fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    h
}

fn append(b: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, data: &[u8]) {
    b.append(&raw_header(name, kind, data.len() as u64, None), data)
        .unwrap();
}

fn append_link(b: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, target: &str) {
    b.append(&raw_header(name, kind, 0, Some(target)), &[][..])
        .unwrap();
}

fn finish(b: tar::Builder<Vec<u8>>) -> Vec<u8> {
    b.into_inner().unwrap()
}

/// What the container holds at `path`, read with a plain `cp` out.
fn read_in(st: &TestStore, ctr: &str, path: &str) -> Option<String> {
    let host = st.path().join("read-back");
    let _ = std::fs::remove_file(&host);
    let r = st.run(&["cp", &format!("{ctr}:{path}"), host.to_str().unwrap()]);
    (r.code == 0).then(|| std::fs::read_to_string(&host).unwrap())
}

#[test]
fn cp_to_stdout_writes_a_tar_of_the_source() {
    let st = two_containers();
    for ctr in ["up", "down"] {
        let r = berth_with_stdin(&st, &["cp", &format!("{ctr}:/etc"), "-"], b"");
        assert_eq!(r.code, 0, "{ctr}: {}", r.stderr);
        let names = tar_list(&r.stdout);
        for want in ["etc", "etc/passwd", "etc/group"] {
            assert!(names.iter().any(|n| n == want), "{ctr}: {names:?}");
        }
        assert!(!st.path().join("-").exists(), "{ctr}: made a file named -");
        // A single file: one entry under its own name, with its content.
        let r = berth_with_stdin(&st, &["cp", &format!("{ctr}:/etc/group"), "-"], b"");
        assert_eq!(r.code, 0, "{ctr}: {}", r.stderr);
        let mut a = tar::Archive::new(&r.stdout[..]);
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().expect("an entry").unwrap();
        assert_eq!(e.path().unwrap(), Path::new("group"));
        let mut text = String::new();
        std::io::Read::read_to_string(&mut e, &mut text).unwrap();
        assert_eq!(text, "root:x:0:\nnobody:x:65534:\n");
        assert!(entries.next().is_none());
    }
    // A path the container does not have: podman's exit code, nothing on stdout.
    let r = berth_with_stdin(&st, &["cp", "up:/no/such", "-"], b"");
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn cp_from_stdin_extracts_into_the_directory() {
    let st = two_containers();
    let mut b = tar::Builder::new(Vec::new());
    append(&mut b, "sub/", tar::EntryType::Directory, b"");
    append(&mut b, "sub/f", tar::EntryType::Regular, b"in a dir\n");
    append(&mut b, "top.txt", tar::EntryType::Regular, b"at the top\n");
    append_link(&mut b, "sub/link", tar::EntryType::Symlink, "/etc/passwd");
    let plain = finish(b);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gzipped = gz.finish().unwrap();
    for ctr in ["up", "down"] {
        let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:/tmp")], &plain);
        assert_eq!(r.code, 0, "{ctr}: {}", r.stderr);
        assert_eq!(
            read_in(&st, ctr, "/tmp/sub/f").as_deref(),
            Some("in a dir\n")
        );
        assert_eq!(
            read_in(&st, ctr, "/tmp/top.txt").as_deref(),
            Some("at the top\n")
        );
        // A compressed archive is taken too, as podman takes it.
        let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:/root")], &gzipped);
        assert_eq!(r.code, 0, "{ctr}: {}", r.stderr);
        assert_eq!(
            read_in(&st, ctr, "/root/top.txt").as_deref(),
            Some("at the top\n")
        );
        // The destination must be an existing directory (podman's error).
        for dest in ["/tmp/top.txt", "/no/such"] {
            let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:{dest}")], &plain);
            assert_eq!(r.code, 125, "{ctr}:{dest}: {}", r.stderr);
            assert!(
                r.stderr.contains("destination must be a directory"),
                "{}",
                r.stderr
            );
        }
        // Anything but a tar is refused.
        for junk in [&b""[..], b"not an archive at all\n"] {
            let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:/tmp")], junk);
            assert_eq!(r.code, 125, "{}", r.stderr);
            assert!(r.stderr.contains("tar archive"), "{}", r.stderr);
        }
    }
    // The running container sees the files where they were put.
    let r = st.ok(&[
        "exec",
        "up",
        "sh",
        "-c",
        "cat /tmp/sub/f; readlink /tmp/sub/link",
    ]);
    assert_eq!(r.stdout, "in a dir\n/etc/passwd\n");
    assert!(!st.path().join("-").exists());
}

#[test]
fn a_hostile_tar_on_stdin_stays_inside_the_container() {
    let st = two_containers();
    let victim = st.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("secret"), "HOST SECRET\n").unwrap();
    let climb = format!("../../../../../../../../../..{}", victim.display());
    for ctr in ["up", "down"] {
        // `..` climbing to the host's directory, and an absolute name for it.
        for name in [
            format!("{climb}/escape"),
            format!("{}/escape", victim.display()),
        ] {
            let mut b = tar::Builder::new(Vec::new());
            append(&mut b, &name, tar::EntryType::Regular, b"escaped\n");
            let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:/tmp")], &finish(b));
            assert_eq!(r.code, 125, "{ctr}: {name}: {}", r.stderr);
        }
        // A symlink to the host's directory, then a file written through it;
        // and a hardlink to the host's file. The symlink itself is fine (it
        // means the container's own path), the rest is refused.
        let mut b = tar::Builder::new(Vec::new());
        append_link(
            &mut b,
            "abs",
            tar::EntryType::Symlink,
            victim.to_str().unwrap(),
        );
        append_link(&mut b, "climb", tar::EntryType::Symlink, &climb);
        append(&mut b, "abs/planted", tar::EntryType::Regular, b"planted\n");
        let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:/tmp")], &finish(b));
        assert_eq!(r.code, 125, "{ctr}: {}", r.stderr);
        let mut b = tar::Builder::new(Vec::new());
        append(
            &mut b,
            "climb/planted",
            tar::EntryType::Regular,
            b"planted\n",
        );
        let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:/tmp")], &finish(b));
        assert_eq!(r.code, 125, "{ctr}: {}", r.stderr);
        let mut b = tar::Builder::new(Vec::new());
        let target = format!("{climb}/secret");
        append_link(&mut b, "hard", tar::EntryType::Link, &target);
        let r = berth_with_stdin(&st, &["cp", "-", &format!("{ctr}:/tmp")], &finish(b));
        assert_eq!(r.code, 125, "{ctr}: {}", r.stderr);
        // The symlinks landed in the container, as symlinks.
        let out = berth_with_stdin(&st, &["cp", &format!("{ctr}:/tmp"), "-"], b"");
        assert_eq!(out.code, 0, "{}", out.stderr);
        let mut a = tar::Archive::new(&out.stdout[..]);
        let links: Vec<(String, String)> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.header().entry_type().is_symlink())
            .map(|e| {
                (
                    e.path().unwrap().display().to_string(),
                    e.link_name().unwrap().unwrap().display().to_string(),
                )
            })
            .collect();
        assert!(
            links.contains(&("tmp/abs".into(), victim.display().to_string())),
            "{ctr}: {links:?}"
        );
    }
    let on_host: Vec<_> = std::fs::read_dir(&victim)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(on_host, ["secret"], "cp wrote into the host's directory");
    assert_eq!(
        std::fs::read_to_string(victim.join("secret")).unwrap(),
        "HOST SECRET\n"
    );
}

/// CVE-2018-15664's race against `cp -`: while the container swaps the
/// destination directory for a symlink to a host directory and back, the
/// archive never lands in the host's directory.
#[test]
fn cp_from_stdin_races_against_symlink_swaps() {
    let st = TestStore::with_busybox();
    let victim = st.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    // Each state holds for a few milliseconds, about as long as a copy takes,
    // so that copies land (and many straddle a swap) however loaded the machine.
    let script = format!(
        "mkdir -p /w; while true; do \
           rm -rf /w/swap; mkdir /w/swap; echo container > /w/swap/mine; sleep 0.005; \
           rm -rf /w/swap; ln -s {v} /w/swap; sleep 0.005; \
         done",
        v = victim.display()
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "racer",
        "localhost/bb:1",
        "sh",
        "-c",
        &script,
    ]);
    let mut b = tar::Builder::new(Vec::new());
    append(&mut b, "planted", tar::EntryType::Regular, b"from stdin\n");
    let archive = finish(b);
    // At least 60 tries, and on until one lands while the directory is there.
    let mut landed = 0;
    for i in 0..600 {
        if i >= 60 && landed > 0 {
            break;
        }
        if berth_with_stdin(&st, &["cp", "-", "racer:/w/swap"], &archive).code == 0 {
            landed += 1;
        }
    }
    assert!(
        std::fs::read_dir(&victim).unwrap().next().is_none(),
        "cp wrote into the host's directory"
    );
    assert!(landed > 0, "no copy succeeded: the race proved nothing");
    st.ok(&["rm", "-f", "racer"]);
}
