//! Local names stay local: an image named without a registry (`tag`, `import`,
//! `commit`, `build -t`) is `localhost/NAME`, as podman and buildah name it,
//! is found again by its short name, and `push` without a destination never
//! sends it to a public registry.

mod common;

use common::store::TestStore;

fn names(st: &TestStore) -> Vec<String> {
    let out = st
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .stdout;
    let mut v: Vec<String> = out.lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn names_without_a_registry_are_local_and_found_by_their_short_name() {
    let st = TestStore::with_busybox();
    st.ok(&["tag", "localhost/bb:1", "other"]);
    st.ok(&[
        "create",
        "--name",
        "c",
        "other",
        "sh",
        "-c",
        "echo hi > /made",
    ]);
    st.ok(&["start", "c"]);
    st.ok(&["wait", "c"]);
    st.ok(&["commit", "c", "committed"]);
    let ctx = st.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM other\nRUN echo built > /b\n",
    )
    .unwrap();
    st.ok(&["build", "-q", "-t", "built", ctx.to_str().unwrap()]);
    assert_eq!(
        names(&st),
        [
            "localhost/bb:1",
            "localhost/built:latest",
            "localhost/committed:latest",
            "localhost/other:latest"
        ]
    );
    // Found again by the short names.
    assert_eq!(
        st.ok(&["run", "--rm", "committed", "cat", "/made"]).stdout,
        "hi\n"
    );
    assert_eq!(
        st.ok(&["run", "--rm", "built:latest", "cat", "/b"]).stdout,
        "built\n"
    );
    st.ok(&["untag", "other", "other"]);
    st.ok(&["rmi", "committed"]);
    assert_eq!(names(&st), ["localhost/bb:1", "localhost/built:latest"]);
}

#[test]
fn push_without_a_destination_never_guesses_a_public_registry() {
    let st = TestStore::with_busybox();
    st.ok(&["tag", "localhost/bb:1", "myimg"]);
    let r = st.run(&["push", "myimg"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("localhost"), "{}", r.stderr);
    assert!(!r.stderr.contains("docker.io"), "{}", r.stderr);
}

/// An image pulled from a registry is found by the end of its name, as
/// podman's local lookup finds it last (`app`, `team/app`, `app:latest` for
/// `registry.example:5000/team/app:latest`); `rmi` by such a name takes only
/// that name off an image that has others.
#[test]
fn a_registry_image_is_found_by_the_end_of_its_name() {
    let st = TestStore::with_busybox();
    let id = st.inspect("localhost/bb:1", ".Id");
    st.ok(&[
        "tag",
        "localhost/bb:1",
        "registry.example:5000/team/app:latest",
    ]);
    for short in ["app", "team/app", "app:latest"] {
        assert_eq!(st.inspect(short, ".Id"), id, "{short}");
    }
    for not_it in ["pp", "eam/app", "app:2"] {
        assert_eq!(st.run(&["image", "exists", not_it]).code, 1, "{not_it}");
    }
    assert_eq!(
        st.ok(&["rmi", "app"]).stdout,
        "Untagged: registry.example:5000/team/app:latest\n"
    );
    assert_eq!(names(&st), ["localhost/bb:1"]);
}

/// A short name registries.conf resolves neither by alias nor by a search
/// registry is refused in containers/image's words, as podman and buildah
/// refuse it: never a guess at docker.io (a lookup this machine may not make).
#[test]
fn a_short_name_nothing_resolves_is_refused_not_sent_to_docker_io() {
    let st = TestStore::with_busybox();
    let want = "Error: short-name \"nope\" did not resolve to an alias and no \
                unqualified-search registries are defined in \"/dev/null\"\n";
    for args in [
        &["pull", "nope"][..],
        &["run", "--rm", "nope", "true"],
        &["create", "nope"],
        &["builder", "from", "nope"],
    ] {
        let r = st.run(args);
        assert_eq!((r.code, r.stderr.as_str()), (125, want), "{args:?}");
    }
    // A local short name is still found without any registry.
    st.ok(&["tag", "localhost/bb:1", "nope"]);
    st.ok(&["run", "--rm", "nope", "true"]);
}
