//! Volumes: anonymous (-v /DEST and an image's VOLUME, filled from the image,
//! gone with rm -v or --rm), relative binds, named volumes copied up once; and
//! ps -s sizes and table templates on the containers made.

mod common;

use common::store::TestStore;
use common::*;

#[test]
fn anonymous_and_relative_volume_flags() {
    let st = TestStore::with_busybox();
    // -v /DEST: an anonymous volume, gone with rm -v.
    st.ok(&[
        "run",
        "--name",
        "anon",
        "-v",
        "/data",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let vols = st.ok(&["volume", "ls", "-q"]).stdout;
    assert_eq!(vols.lines().count(), 1, "{vols}");
    st.ok(&["rm", "-v", "anon"]);
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "");
    // -v ./DIR:DEST: the directory, from where berth runs.
    let here = st.dir.path().join("here");
    std::fs::create_dir_all(here.join("sub")).unwrap();
    std::fs::write(here.join("sub/f"), "relative\n").unwrap();
    let mut c = st.cmd();
    c.current_dir(&here).args([
        "run",
        "--rm",
        "-v",
        "./sub:/mnt",
        "localhost/bb:1",
        "cat",
        "/mnt/f",
    ]);
    let r = run_cmd(&mut c);
    assert_eq!(r.stdout, "relative\n", "{}", r.stderr);
}

#[test]
fn image_volumes_sizes_and_table_templates() {
    let st = TestStore::with_busybox();
    let ctx = st.dir.path().join("vol-ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN mkdir -p /data && echo seed > /data/seed && chown nobody /data\nVOLUME /data\n",
    )
    .unwrap();
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/vol:1",
        ctx.to_str().unwrap(),
    ]);
    let volumes = || {
        st.ok(&["volume", "ls", "-q"])
            .stdout
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // An anonymous volume, filled from the image on first use; it outlives the run.
    let r = st.ok(&[
        "run",
        "--name",
        "v1",
        "localhost/vol:1",
        "sh",
        "-c",
        "cat /data/seed; stat -c %U /data; echo more > /data/more",
    ]);
    assert_eq!(r.stdout, "seed\nnobody\n");
    let anon = volumes();
    assert_eq!(anon.len(), 1, "{anon:?}");
    assert_eq!(anon[0].len(), 64);
    let r = st.ok(&["start", "-a", "v1"]);
    assert_eq!(r.stdout, "seed\nnobody\n", "the same volume on restart");
    // rm keeps it; rm -v takes it.
    st.ok(&["run", "--name", "v2", "localhost/vol:1", "true"]);
    assert_eq!(volumes().len(), 2);
    st.ok(&["rm", "v2"]);
    assert_eq!(
        volumes().len(),
        2,
        "rm without -v keeps the anonymous volume"
    );
    st.ok(&["rm", "-v", "v1"]);
    assert_eq!(volumes().len(), 1);
    // --rm takes its anonymous volume with it; a named volume is filled once.
    st.ok(&["volume", "prune", "-f"]);
    st.ok(&["run", "--rm", "localhost/vol:1", "true"]);
    assert_eq!(volumes(), Vec::<String>::new());
    let r = st.ok(&[
        "run",
        "--rm",
        "-v",
        "named:/data",
        "localhost/vol:1",
        "sh",
        "-c",
        "cat /data/seed; rm /data/seed",
    ]);
    assert_eq!(r.stdout, "seed\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "-v",
        "named:/data",
        "localhost/vol:1",
        "ls",
        "/data",
    ]);
    assert_eq!(r.stdout, "", "copied up on first use only");

    // ps -s: what a container wrote, and with its image.
    st.ok(&["create", "--name", "sized", "localhost/bb:1", "true"]);
    st.ok(&[
        "run",
        "--name",
        "writer",
        "localhost/bb:1",
        "sh",
        "-c",
        "head -c 300000 /dev/zero > /blob",
    ]);
    let t = st.ok(&["ps", "-a", "-s", "--sort", "size"]).stdout;
    let head = t.lines().next().unwrap();
    assert!(head.ends_with("SIZE"), "{t}");
    let last = t.lines().last().unwrap();
    assert!(
        last.contains("writer") && last.contains("300") && last.contains("virtual"),
        "{t}"
    );
    // A table template: podman's headers, aligned columns.
    let t = st
        .ok(&[
            "ps",
            "-a",
            "--format",
            "table {{.ID}}\t{{.Names}}\t{{.Status}}",
        ])
        .stdout;
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[0].starts_with("CONTAINER ID")
            && lines[0].contains("NAMES")
            && lines[0].contains("STATUS"),
        "{t}"
    );
    let col = lines[0].find("NAMES").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.len() > col && l.as_bytes()[col - 1] == b' '),
        "columns are aligned: {t}"
    );
    let t = st
        .ok(&[
            "images",
            "--format",
            "table {{.ID}} {{.Repository}}:{{.Tag}}",
        ])
        .stdout;
    // Fields a space apart are columns too, aligned as podman aligns them.
    let head: Vec<&str> = t
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(head, ["IMAGE ID", "REPOSITORY:TAG"], "{t}");
    st.ok(&["rm", "-af"]);
}

#[test]
fn volume_options_make_tmpfs_and_bind_volumes_and_refuse_a_missing_device() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "t",
    ]);
    let r = st.ok(&[
        "run",
        "--rm",
        "-v",
        "t:/vol",
        "localhost/bb:1",
        "stat",
        "-f",
        "-c",
        "%T",
        "/vol",
    ]);
    assert_eq!(r.stdout.trim(), "tmpfs");
    let r = st.run(&[
        "volume",
        "create",
        "-o",
        "type=bind",
        "-o",
        "device=/bogus",
        "b",
    ]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: invalid volume option device for driver 'local': stat /bogus: no such file or directory"
    );
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "t\n", "nothing made");
    let dir = st.path().join("bound");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("f"), "on the host\n").unwrap();
    let device = format!("device={}", dir.display());
    st.ok(&["volume", "create", "-o", "type=bind", "-o", &device, "b"]);
    let r = st.ok(&[
        "run",
        "--rm",
        "-v",
        "b:/vol",
        "localhost/bb:1",
        "cat",
        "/vol/f",
    ]);
    assert_eq!(r.stdout, "on the host\n");
}

#[test]
fn a_volume_tells_whether_it_still_needs_copy_up_and_chown() {
    let st = TestStore::with_busybox();
    st.ok(&["volume", "create", "v"]);
    let fields = |st: &TestStore| {
        st.ok(&[
            "volume",
            "inspect",
            "--format",
            "{{.NeedsCopyUp}} {{.NeedsChown}}",
            "v",
        ])
        .stdout
    };
    assert_eq!(fields(&st), "true true\n");
    // Nothing in the image at /vol: nothing copied yet.
    st.ok(&["run", "--rm", "-v", "v:/vol", "localhost/bb:1", "true"]);
    assert_eq!(fields(&st), "true false\n");
    st.ok(&["run", "--rm", "-v", "v:/etc", "localhost/bb:1", "true"]);
    assert_eq!(fields(&st), "false false\n");
}

#[test]
fn volume_prune_takes_filters() {
    let st = TestStore::with_busybox();
    st.ok(&["volume", "create", "plain"]);
    st.ok(&["volume", "create", "--label", "mylabel", "labelled"]);
    let r = st.ok(&["volume", "prune", "--force", "--filter", "label=mylabel"]);
    assert_eq!(r.stdout, "labelled\n");
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "plain\n");
}

#[test]
fn image_volume_mode_gives_volumes_tmpfs_or_nothing() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "base", "localhost/bb:1", "true"]);
    st.ok(&[
        "commit",
        "-q",
        "--change",
        "VOLUME /data",
        "base",
        "localhost/withvol:1",
    ]);
    let stat = ["stat", "-f", "-c", "%T", "/data"];
    let run = |mode: &str| {
        let mut args = vec!["run", "--rm", "--image-volume", mode, "localhost/withvol:1"];
        args.extend(stat);
        st.run(&args)
    };
    assert_eq!(run("tmpfs").stdout.trim(), "tmpfs");
    let r = run("ignore");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("No such file or directory"),
        "{}",
        r.stderr
    );
    let r = run("bind");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(r.stdout.trim(), "tmpfs");
    let r = st.run(&[
        "run",
        "--rm",
        "--image-volume",
        "sometimes",
        "localhost/withvol:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("--image-volume sometimes"),
        "{}",
        r.stderr
    );
    // containers.conf's [engine] image_volume_mode when no flag says.
    let conf = st.path().join("containers.conf");
    std::fs::write(&conf, "[engine]\nimage_volume_mode=\"tmpfs\"\n").unwrap();
    let mut c = st.cmd();
    c.env("CONTAINERS_CONF", &conf)
        .args(["run", "--rm", "localhost/withvol:1"])
        .args(stat);
    assert_eq!(run_cmd(&mut c).stdout.trim(), "tmpfs");
    st.ok(&["rm", "-af"]);
}

#[test]
fn volumes_from_mounts_another_containers_volumes() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "src",
        "-v",
        "/data",
        "-v",
        "named:/named",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo anon > /data/f; echo named > /named/f",
    ]);
    let r = st.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "src",
        "localhost/bb:1",
        "cat",
        "/data/f",
        "/named/f",
    ]);
    assert_eq!(r.stdout, "anon\nnamed\n");
    let r = st.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "src:ro",
        "localhost/bb:1",
        "touch",
        "/data/g",
    ]);
    assert_eq!(r.code, 1, "read-only: {}", r.stderr);
    // Removing the borrower leaves the owner's volumes alone.
    st.ok(&[
        "run",
        "--name",
        "b",
        "--volumes-from",
        "src",
        "localhost/bb:1",
        "true",
    ]);
    st.ok(&["rm", "-v", "b"]);
    assert_eq!(
        st.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "src",
            "localhost/bb:1",
            "cat",
            "/data/f"
        ])
        .stdout,
        "anon\n"
    );
    st.ok(&["rm", "-v", "src"]);
}

/// A tmpfs starts with what the image (or a `cp` before the start) has at
/// its destination (podman's tmpcopyup), unless `notmpcopyup`.
#[test]
fn a_tmpfs_starts_with_what_the_image_has_there() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/bin",
        "localhost/bb:1",
        "/bin/sh",
        "-c",
        "ls /bin | grep -c . ; stat -f -c %T /bin",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].parse::<u32>().unwrap() > 10, "{}", r.stdout);
    assert_eq!(lines[1], "tmpfs");
    st.ok(&[
        "create",
        "--name",
        "c",
        "--mount",
        "type=tmpfs,dst=/tmp",
        "localhost/bb:1",
        "cat",
        "/tmp/file",
    ]);
    let f = st.path().join("file");
    std::fs::write(&f, "copied before the start\n").unwrap();
    st.ok(&["cp", f.to_str().unwrap(), "c:/tmp"]);
    let r = st.ok(&["start", "-a", "c"]);
    assert_eq!(r.stdout, "copied before the start\n");
    let r = st.run(&[
        "run",
        "--rm",
        "--tmpfs",
        "/bin:notmpcopyup",
        "localhost/bb:1",
        "/bin/sh",
        "-c",
        "true",
    ]);
    assert_ne!(r.code, 0, "an empty /bin ran a shell: {}", r.stderr);
}

/// `-v SRC:DST:U` (podman's): the source and what it holds become the
/// container's user's, on the host through the container's ID map; only when
/// the source itself is someone else's, so a file given another owner later
/// keeps it across starts.
#[test]
fn the_u_option_gives_the_source_to_the_containers_user() {
    use std::os::unix::fs::MetadataExt;
    let st = TestStore::with_busybox();
    let dir = st.path().join("udata");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("f"), "x").unwrap();
    // A link in the source is taken over itself, never what it points at.
    let outside = st.path().join("outside");
    std::fs::write(&outside, "host's").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
    let vol = format!("{}:/data:U", dir.display());
    let r = st.ok(&[
        "run",
        "--name",
        "u",
        "--user",
        "1000:2000",
        "-v",
        &vol,
        "localhost/bb:1",
        "stat",
        "-c",
        "%u:%g",
        "/data",
        "/data/f",
    ]);
    assert_eq!(r.stdout, "1000:2000\n1000:2000\n");
    let o = std::fs::metadata(&outside).unwrap();
    assert_eq!(
        (o.uid(), o.gid()),
        (0, 0),
        "the link's target changed owner"
    );
    let l = std::fs::symlink_metadata(dir.join("link")).unwrap();
    assert_eq!((l.uid(), l.gid()), (1000, 2000));
    // A system directory is never taken over.
    let r = st.run(&[
        "run",
        "--rm",
        "-v",
        "/etc:/data:U",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("system directory"), "{}", r.stderr);
    assert_eq!(std::fs::metadata("/etc").unwrap().uid(), 0);
    // The top is the user's already: a file given away stays given away.
    std::os::unix::fs::chown(dir.join("f"), Some(100), Some(200)).unwrap();
    st.ok(&["start", "-a", "u"]);
    let f = std::fs::metadata(dir.join("f")).unwrap();
    assert_eq!((f.uid(), f.gid()), (100, 200));
    // Through a map: the container's 5:6 are the host's 200005:200006.
    let r = st.ok(&[
        "run",
        "--rm",
        "--uidmap",
        "0:200000:65536",
        "--user",
        "5:6",
        "-v",
        &vol,
        "localhost/bb:1",
        "stat",
        "-c",
        "%u:%g",
        "/data",
    ]);
    assert_eq!(r.stdout, "5:6\n");
    let d = std::fs::metadata(&dir).unwrap();
    assert_eq!((d.uid(), d.gid()), (200005, 200006));
    st.ok(&["rm", "u"]);
    // A new named volume is its first user's (podman's NeedsChown), then kept.
    let r = st.ok(&[
        "run",
        "--rm",
        "--user",
        "1000:2000",
        "-v",
        "fresh:/v",
        "localhost/bb:1",
        "sh",
        "-c",
        "touch /v/f && stat -c %u:%g /v /v/f",
    ]);
    assert_eq!(r.stdout, "1000:2000\n1000:2000\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "--user",
        "7:7",
        "-v",
        "fresh:/v",
        "localhost/bb:1",
        "stat",
        "-c",
        "%u:%g",
        "/v",
    ]);
    assert_eq!(r.stdout, "1000:2000\n");
    // -o uid=/gid= name the owner: the container's user takes nothing.
    st.ok(&[
        "volume", "create", "-o", "uid=1234", "-o", "gid=5678", "owned",
    ]);
    let r = st.ok(&[
        "run",
        "--rm",
        "--user",
        "7:7",
        "-v",
        "owned:/v",
        "localhost/bb:1",
        "stat",
        "-c",
        "%u:%g",
        "/v",
    ]);
    assert_eq!(r.stdout, "1234:5678\n");
}
