//! What a container changed, as an image or a list: commit (with -c changes),
//! export then import, and diff.

mod common;

use common::store::TestStore;
use common::*;

#[test]
fn commit_turns_changes_into_an_image() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run", "-d", "--name", "src", "localhost/bb:1", "sh", "-c",
        "echo changed > /etc/motd; rm /bin/vi; mkdir -p /opt/app && echo v1 > /opt/app/version; exec sleep 1000",
    ]);
    // Wait until the script's changes are there: its last write is visible.
    let r = st.ok(&[
        "exec",
        "src",
        "sh",
        "-c",
        "until [ -f /opt/app/version ]; do sleep 0.01; done; cat /opt/app/version",
    ]);
    assert_eq!(r.stdout, "v1\n");
    let id = st
        .ok(&[
            "commit",
            "-q",
            "-m",
            "add the app",
            "-a",
            "tester",
            "-c",
            "CMD [\"cat\", \"/opt/app/version\"]",
            "-c",
            "ENV MODE=prod",
            "src",
            "localhost/app:1",
        ])
        .stdout;
    assert_eq!(id.trim().len(), 64, "{id}");
    // The container kept running through the commit (paused, then resumed).
    assert_eq!(st.inspect("src", ".State.Status"), "running");
    assert_eq!(st.ok(&["run", "--rm", "localhost/app:1"]).stdout, "v1\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/app:1",
        "sh",
        "-c",
        "cat /etc/motd; echo $MODE; [ -e /bin/vi ] || echo vi-gone",
    ]);
    assert_eq!(r.stdout, "changed\nprod\nvi-gone\n");
    let hist = json(&st.ok(&["image", "inspect", "localhost/app:1"]).stdout);
    let hist = &hist[0];
    assert_eq!(hist["Author"], "tester", "{hist}");
    let layers = hist["RootFS"]["Layers"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(layers, 2, "the image's layer plus the container's: {hist}");
    assert!(
        st.ok(&["history", "localhost/app:1"])
            .stdout
            .contains("add the app")
    );
    let r = st.run(&["commit", "nobody", "localhost/x:1"]);
    assert_eq!(r.code, 125);
    // An instruction --change does not take is refused, and no image is made.
    let r = st.run(&["commit", "-c", "RUN true", "src", "localhost/bad:1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("invalid --change \"RUN true\""),
        "{}",
        r.stderr
    );
    assert_eq!(st.run(&["image", "exists", "localhost/bad:1"]).code, 1);
}

#[test]
fn export_then_import_round_trips_a_containers_files() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "src",
        "localhost/bb:1",
        "sh",
        "-c",
        "mkdir /app && echo v2 > /app/version && ln -s version /app/current",
    ]);
    let tar = st.dir.path().join("src.tar");
    st.ok(&["export", "-o", tar.to_str().unwrap(), "src"]);
    st.ok(&["import", "-q", tar.to_str().unwrap(), "localhost/flat:1"]);
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/flat:1",
        "sh",
        "-c",
        "cat /app/current; readlink /app/current",
    ]);
    assert_eq!(r.stdout, "v2\nversion\n");
    assert_eq!(
        st.run(&["export", "-o", tar.to_str().unwrap(), "nobody"])
            .code,
        125
    );
    assert!(tar.exists(), "a failed export replaced the archive");
    // podman's --arch, --os, --variant: the platform the image says it is for.
    let t = tar.to_str().unwrap();
    let platform = ["--arch", "arm64", "--os", "linux", "--variant", "v8"];
    st.ok(&[&["import", "-q"], &platform[..], &[t, "localhost/arm:1"]].concat());
    let config = |image: &str| {
        let r = st.ok(&["image", "inspect", "--config", image]);
        json(&r.stdout)
    };
    let c = config("containers-storage:localhost/arm:1");
    let got = [&c["architecture"], &c["os"], &c["variant"]];
    assert_eq!(got, ["arm64", "linux", "v8"], "{c}");
    // Without them, this host's.
    let c = config("containers-storage:localhost/flat:1");
    let host = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    assert_eq!([&c["architecture"], &c["os"]], [host, "linux"], "{c}");
}

#[test]
fn diff_lists_what_the_container_changed() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "c",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo x > /etc/motd; mkdir -p /opt/a; echo y > /opt/a/b; rm /bin/vi",
    ]);
    assert_eq!(
        st.ok(&["diff", "c"]).stdout,
        "C /bin\nD /bin/vi\nC /etc\nA /etc/motd\nA /opt\nA /opt/a\nA /opt/a/b\n"
    );
    // The runtime's mount points (/proc, /etc/hosts …) are not changes.
    st.ok(&["run", "--name", "quiet", "localhost/bb:1", "true"]);
    assert_eq!(st.ok(&["diff", "quiet"]).stdout, "");
    let v = json(&st.ok(&["diff", "--format", "json", "c"]).stdout);
    assert_eq!(v["deleted"], serde_json::json!(["/bin/vi"]));
}

#[test]
fn commit_keeps_what_the_container_was_made_with() {
    let st = common::store::TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "myc",
        "--entrypoint",
        "[\"/bin/echo\",\"magic\"]",
        "--env",
        "A=1",
        "--workdir",
        "/tmp",
        "--label",
        "made=here",
        "localhost/bb:1",
    ]);
    st.ok(&["commit", "-q", "myc", "localhost/myi:1"]);
    st.ok(&["rm", "myc"]);
    let r = st.ok(&["run", "--rm", "localhost/myi:1"]);
    assert_eq!(r.stdout, "magic\n");
    let cfg = |f: &str| st.inspect("localhost/myi:1", f);
    assert_eq!(cfg(".Config.WorkingDir"), "/tmp");
    assert_eq!(cfg(".Config.Labels.made"), "here");
    assert!(
        cfg("json .Config.Env").contains("\"A=1\""),
        "{}",
        cfg("json .Config.Env")
    );
}

#[test]
fn commit_takes_onbuild_in_dockers_format_and_warns_in_ocis() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "base", "localhost/bb:1", "true"]);
    let onbuild = |image: &str| {
        let v = json(&st.ok(&["image", "inspect", image]).stdout);
        v[0]["Config"]["OnBuild"].clone()
    };
    let change = ["-c", "ONBUILD RUN echo child", "-c", "onbuild COPY . /src"];
    let args = [&["commit", "-q", "--format", "docker"], &change[..]].concat();
    st.ok(&[&args[..], &["base", "localhost/parent:docker"]].concat());
    assert_eq!(
        onbuild("localhost/parent:docker"),
        serde_json::json!(["RUN echo child", "COPY . /src"])
    );
    // OCI's format has no ONBUILD: left out, with podman's warning.
    let r = st.ok(&[
        &["commit", "-q"],
        &change[..],
        &["base", "localhost/parent:oci"],
    ]
    .concat());
    assert!(
        r.stderr.contains(
            "ONBUILD is not supported for OCI image format, RUN echo child will be ignored. Must use `docker` format"
        ),
        "{}",
        r.stderr
    );
    assert!(onbuild("localhost/parent:oci").is_null());
    // An ONBUILD without a trigger is refused.
    let r = st.run(&["commit", "-c", "ONBUILD", "base", "localhost/x:1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&["rm", "base"]);
}
