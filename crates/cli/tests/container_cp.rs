//! `cp` in and out of containers: through volumes and binds as the container
//! sees them, symlinks resolved inside the container's root, and no escape to
//! the host while the container swaps symlinks (CVE-2018-15664, CVE-2019-10152).

mod common;

use std::path::Path;

use common::store::TestStore;

#[test]
fn cp_sees_volumes_and_binds_as_the_container_does() {
    let st = TestStore::with_busybox();
    let share = st.dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let ro = format!("{}:/ro:ro", share.display());
    st.ok(&[
        "run",
        "-d",
        "--name",
        "v",
        "-v",
        "vol:/data",
        "-v",
        &ro,
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let src = st.dir.path().join("in.txt");
    std::fs::write(&src, "into the volume\n").unwrap();
    st.ok(&["cp", src.to_str().unwrap(), "v:/data/"]);
    // The running container sees it where the volume is mounted…
    assert_eq!(
        st.ok(&["exec", "v", "cat", "/data/in.txt"]).stdout,
        "into the volume\n"
    );
    // …and it comes back out from there.
    st.ok(&["exec", "v", "sh", "-c", "echo made inside > /data/out.txt"]);
    let out = st.dir.path().join("out.txt");
    st.ok(&["cp", "v:/data/out.txt", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "made inside\n");
    // A read-only bind takes nothing.
    let r = st.run(&["cp", src.to_str().unwrap(), "v:/ro/"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(!share.join("in.txt").exists());
    st.ok(&["rm", "-f", "v"]);
}

/// A running container's own mounts (a tmpfs here) are where `cp` puts and
/// finds files, as its processes see them; a dangling symlink copied onto
/// makes what it names (podman's "weird symlink expansion").
#[test]
fn cp_sees_a_running_containers_tmpfs_and_follows_dangling_links() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "t",
        "--mount",
        "type=tmpfs,dst=/tmp",
        "localhost/bb:1",
        "sh",
        "-c",
        "mkdir /tmp/d1; ln -s /tmp/nonesuch /tmp/d1/x; mkdir /tmp/d2; sleep 1000",
    ]);
    let src = st.dir.path().join("in.txt");
    std::fs::write(&src, "into the tmpfs\n").unwrap();
    // The shell has made its directories once /tmp/d2 is there.
    while st.run(&["exec", "t", "test", "-d", "/tmp/d2"]).code != 0 {
        std::thread::yield_now();
    }
    st.ok(&["cp", src.to_str().unwrap(), "t:/tmp"]);
    assert_eq!(
        st.ok(&["exec", "t", "cat", "/tmp/in.txt"]).stdout,
        "into the tmpfs\n"
    );
    st.ok(&["exec", "t", "sh", "-c", "echo made inside > /tmp/out.txt"]);
    let out = st.dir.path().join("out.txt");
    st.ok(&["cp", "t:/tmp/out.txt", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "made inside\n");
    st.ok(&["cp", src.to_str().unwrap(), "t:/tmp/d1/x"]);
    assert_eq!(
        st.ok(&["exec", "t", "cat", "/tmp/nonesuch"]).stdout,
        "into the tmpfs\n"
    );
    let r = st.run(&["cp", src.to_str().unwrap(), "t:/tmp/d2/missing/"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // Nothing of it reached the image's own /tmp.
    st.ok(&["rm", "-f", "-t", "0", "t"]);
    st.ok(&["create", "--name", "after", "localhost/bb:1"]);
    let r = st.run(&["cp", "after:/tmp/in.txt", out.to_str().unwrap()]);
    assert_ne!(r.code, 0, "the tmpfs's file is in the image's /tmp");
}

#[test]
fn cp_both_ways_and_symlinks_stay_inside_the_container() {
    let st = TestStore::with_busybox();
    let victim = st.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let script = format!(
        "mkdir -p /d/sub; echo inside > /d/sub/f; ln -s /etc /d/etc-link; ln -s ../../../../../.. /d/up; ln -s {} /d/abs; exec sleep 1000",
        victim.display()
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "localhost/bb:1",
        "sh",
        "-c",
        &script,
    ]);
    st.ok(&[
        "exec",
        "c",
        "sh",
        "-c",
        "until [ -L /d/abs ]; do sleep 0.01; done",
    ]);
    // Out: a directory, its symlinks copied as symlinks, never followed.
    let out = st.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    st.ok(&["cp", "c:/d", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(out.join("d/sub/f")).unwrap(),
        "inside\n"
    );
    assert_eq!(
        std::fs::read_link(out.join("d/etc-link")).unwrap(),
        Path::new("/etc")
    );
    // Through a symlink inside the container: the container's /etc, not the host's.
    let got = out.join("passwd");
    st.ok(&["cp", "c:/d/etc-link/passwd", got.to_str().unwrap()]);
    let passwd = std::fs::read_to_string(&got).unwrap();
    assert!(
        passwd.starts_with("root:x:0:0:root:/root:/bin/sh\nnobody"),
        "{passwd}"
    );
    let got = out.join("group");
    st.ok(&["cp", "c:/d/up/etc/group", got.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&got).unwrap(),
        "root:x:0:\nnobody:x:65534:\n"
    );
    // In: through a relative symlink climbing out and an absolute one naming a
    // host directory, the file lands inside the container's root.
    let host_file = st.dir.path().join("planted");
    std::fs::write(&host_file, "from the host\n").unwrap();
    // (DEST/ through a link to a directory the container lacks: refused, as
    // podman refuses it, and nothing written anywhere.)
    let r = st.run(&["cp", host_file.to_str().unwrap(), "c:/d/abs/"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&["cp", host_file.to_str().unwrap(), "c:/d/abs"]);
    assert!(
        std::fs::read_dir(&victim).unwrap().next().is_none(),
        "wrote into the host's directory"
    );
    st.ok(&["cp", host_file.to_str().unwrap(), "c:/d/up/planted"]);
    let r = st.ok(&[
        "exec",
        "c",
        "sh",
        "-c",
        "cat /planted; ls /d/abs/ 2>/dev/null; echo .",
    ]);
    assert!(r.stdout.starts_with("from the host\n"), "{}", r.stdout);
    // A plain copy in, read back by the container.
    st.ok(&["cp", host_file.to_str().unwrap(), "c:/d/sub/"]);
    assert_eq!(
        st.ok(&["exec", "c", "cat", "/d/sub/planted"]).stdout,
        "from the host\n"
    );
    let r = st.run(&["cp", "c:/no/such", out.to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = st.run(&["cp", "/etc/hostname", "/tmp/x"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

/// CVE-2018-15664 (docker cp's symlink-exchange race) and CVE-2019-10152
/// (podman cp following a container's symlinks): while the container swaps a
/// directory for a symlink to a host directory and back, as fast as it can,
/// copies in and out never reach the host's directory.
#[test]
fn cp_races_against_symlink_swaps_cve_2018_15664_cve_2019_10152() {
    let st = TestStore::with_busybox();
    let victim = st.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("secret"), "HOST SECRET\n").unwrap();
    let script = format!(
        "mkdir -p /w; while true; do \
           rm -rf /w/swap; mkdir /w/swap; echo container > /w/swap/secret; \
           rm -rf /w/swap; ln -s {v} /w/swap; \
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
    let planted = st.dir.path().join("planted");
    std::fs::write(&planted, "from the host\n").unwrap();
    let out = st.dir.path().join("out");
    let (mut ins, mut outs) = (0, 0);
    for _ in 0..60 {
        if st
            .run(&["cp", planted.to_str().unwrap(), "racer:/w/swap/planted"])
            .code
            == 0
        {
            ins += 1;
        }
        let _ = std::fs::remove_file(&out);
        if st
            .run(&["cp", "racer:/w/swap/secret", out.to_str().unwrap()])
            .code
            == 0
        {
            outs += 1;
            let got = std::fs::read_to_string(&out).unwrap_or_default();
            assert_ne!(
                got, "HOST SECRET\n",
                "cp read the host's file through the symlink"
            );
        }
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
    // The race was real: some copies went through, inside the container.
    assert!(ins + outs > 0, "no copy succeeded: the race proved nothing");
    st.ok(&["rm", "-f", "racer"]);
}

#[test]
fn cp_takes_podmans_pause_flag_and_words_for_stdin() {
    let st = common::store::TestStore::with_busybox();
    st.ok(&["run", "-d", "--name", "c", "localhost/bb:1", "sleep", "100"]);
    let f = st.path().join("f");
    std::fs::write(&f, "x\n").unwrap();
    st.ok(&["cp", "--pause=false", f.to_str().unwrap(), "c:/tmp/f"]);
    assert_eq!(st.ok(&["exec", "c", "cat", "/tmp/f"]).stdout, "x\n");
    let tar = berth_testkit::tar_builder::Tar::new()
        .file("a", b"a")
        .bytes();
    let mut c = st.cmd();
    c.args(["cp", "-", "c:/tmp/f"])
        .stdin(std::process::Stdio::piped());
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &tar).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error: destination must be a directory when copying from stdin"
    );
    st.ok(&["rm", "-f", "-t", "0", "c"]);
}

#[test]
fn cp_gives_the_containers_user_unless_archive_is_false() {
    let st = common::store::TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--user",
        "123:456",
        "--name",
        "u",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    let tar = berth_testkit::tar_builder::Tar::new()
        .file_with("a.txt", b"a", 0o644, 1042, 1043, 1_600_000_000, &[])
        .bytes();
    let cp_stdin = |flags: &[&str]| {
        let mut c = st.cmd();
        c.arg("cp").args(flags).args(["-", "u:/tmp/"]);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        c.stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &tar).unwrap();
        drop(child.stdin.take());
        assert!(child.wait_with_output().unwrap().status.success());
    };
    let owner = || {
        st.ok(&["exec", "u", "stat", "-c", "%u:%g", "/tmp/a.txt"])
            .stdout
    };
    cp_stdin(&["-a=false"]);
    assert_eq!(owner(), "1042:1043\n", "the tar's owners kept");
    cp_stdin(&[]);
    assert_eq!(owner(), "123:456\n", "the container's user by default");
    st.ok(&["rm", "-f", "-t", "0", "u"]);
}

#[test]
fn cp_between_containers_and_overwrite() {
    let st = common::store::TestStore::with_busybox();
    let sh = |name: &str, script: &str| {
        st.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "localhost/bb:1",
            "sh",
            "-c",
            &format!("{script}; sleep 100"),
        ]);
    };
    sh("ctr-file", "echo file > /tmp/foo");
    sh("ctr-dir", "mkdir /tmp/foo; echo dir > /tmp/foo/file.txt");
    // Wait until both scripts ran: their files are there.
    for (c, f) in [("ctr-file", "/tmp/foo"), ("ctr-dir", "/tmp/foo/file.txt")] {
        st.ok(&[
            "exec",
            c,
            "sh",
            "-c",
            &format!("while [ ! -s {f} ]; do :; done"),
        ]);
    }
    let r = st.run(&["cp", "ctr-file:/tmp/foo", "ctr-dir:/tmp"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("error creating \"/tmp/foo\": ") && r.stderr.contains("file exists"),
        "{}",
        r.stderr
    );
    st.ok(&["cp", "--overwrite", "ctr-file:/tmp/foo", "ctr-dir:/tmp"]);
    assert_eq!(
        st.ok(&["exec", "ctr-dir", "cat", "/tmp/foo"]).stdout,
        "file\n"
    );
    // A directory over a file, from the host.
    let d = st.path().join("foo");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("file.txt"), "from host\n").unwrap();
    let r = st.run(&["cp", d.to_str().unwrap(), "ctr-file:/tmp"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&["cp", "--overwrite", d.to_str().unwrap(), "ctr-file:/tmp"]);
    assert_eq!(
        st.ok(&["exec", "ctr-file", "cat", "/tmp/foo/file.txt"])
            .stdout,
        "from host\n"
    );
    st.ok(&["rm", "-f", "-t", "0", "ctr-file", "ctr-dir"]);
}

/// Only `-` is a stream: a device by its path (`/dev/null`, `/dev/stdout`) is
/// refused in podman's words and nothing is written to it.
#[test]
fn cp_to_a_device_path_is_refused() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "c", "localhost/bb:1", "true"]);
    let r = st.run(&["cp", "c:/etc/passwd", "/dev/null"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "Error: invalid destination: \"/dev/null\" must be a directory or a regular file\n"
    );
    // A link to a device (as /dev/stdout is) is judged by what it names, and
    // stays a link: never replaced by a regular file.
    let link = st.path().join("out");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let r = st.run(&["cp", "c:/etc/passwd", link.to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A link to a regular file is written through; the link stays.
    let target = st.path().join("target");
    std::fs::write(&target, "old").unwrap();
    let to_file = st.path().join("to-file");
    std::os::unix::fs::symlink(&target, &to_file).unwrap();
    st.ok(&["cp", "c:/bin/busybox", to_file.to_str().unwrap()]);
    assert!(
        std::fs::symlink_metadata(&to_file)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::metadata(&target).unwrap().len() > 1000);
}

/// A missing container is named in podman's words, by `cp` and by `commit`
/// (which says nothing of signatures before it).
#[test]
fn a_missing_container_is_said_alone() {
    let st = TestStore::with_busybox();
    let r = st.run(&["cp", "nosuch:/a", "/tmp/never-written"]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr, "Error: container \"nosuch\" does not exist\n");
    let r = st.run(&["commit", "nosuch", "img"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr,
        "Error: no container with name or ID \"nosuch\" found: no such container\n"
    );
}
