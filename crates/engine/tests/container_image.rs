//! The image `run` and `create` make a container from: what is pulled first.

use std::sync::Arc;

use berth_engine::{PullOptions, PullPolicy, pull};

fn store(dir: &std::path::Path) -> Arc<berth_storage::Store> {
    let cfg = berth_storage::StoreConfig::at(
        dir.join("root"),
        dir.join("run"),
        berth_storage::DriverKind::Vfs,
    );
    Arc::new(berth_storage::Store::open(cfg).unwrap())
}

fn accept_anything(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("policy.json");
    std::fs::write(&p, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
    p
}

#[test]
fn only_other_transports_are_from_elsewhere() {
    assert!(pull::from_elsewhere("oci:/some/layout:latest"));
    assert!(pull::from_elsewhere("docker-archive:/a.tar"));
    assert!(!pull::from_elsewhere("docker://quay.io/x/y"));
    assert!(!pull::from_elsewhere("alpine"));
    assert!(!pull::from_elsewhere("localhost/mine:1"));
}

#[test]
fn never_pulls_nothing_and_the_name_stands() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let o = PullOptions {
        policy: PullPolicy::Never,
        ..Default::default()
    };
    let silent = &berth_image::copy::Silent;
    let got = pull::for_container(&store, "quay.io/not/here", o, silent, &mut |_| {});
    assert_eq!(got.unwrap(), "quay.io/not/here");
    assert!(store.images().unwrap().is_empty());
}

#[test]
fn an_image_from_elsewhere_is_copied_in_whatever_the_policy_and_named_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let layout = dir.path().join("layout");
    berth_testkit::fixtures::small(&layout).unwrap();
    let name = format!("oci:{}:latest", layout.display());
    let o = PullOptions {
        policy: PullPolicy::Never,
        signature_policy: Some(accept_anything(dir.path())),
        ..Default::default()
    };
    let silent = &berth_image::copy::Silent;
    let id = pull::for_container(&store, &name, o, silent, &mut |_| {}).unwrap();
    assert_eq!(store.image(&id).unwrap().id, id);
}
