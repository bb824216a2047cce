//! What `run` says when the store changes under it.

use std::sync::Arc;

use berth_engine::RunError;
use berth_engine::images::{ImportOptions, import};

fn store(dir: &std::path::Path) -> Arc<berth_storage::Store> {
    let cfg = berth_storage::StoreConfig::at(
        dir.join("root"),
        dir.join("run"),
        berth_storage::DriverKind::Vfs,
    );
    Arc::new(berth_storage::Store::open(cfg).unwrap())
}

#[test]
fn an_image_removed_after_its_lookup_is_not_known() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let tar = berth_testkit::tar_builder::Tar::new()
        .file("hello", b"hi")
        .bytes();
    let o = ImportOptions {
        source: "test".into(),
        reference: Some("localhost/gone:1".into()),
        ..Default::default()
    };
    import(&store, &mut &tar[..], &o).unwrap();
    // An rmi between run's lookup (or its pull) and its read of the config.
    let id = store.image("localhost/gone:1").unwrap().id;
    store.remove_image(&id).unwrap();
    let e = berth_engine::run::image_config(&store, &id).unwrap_err();
    assert!(matches!(e, RunError::ImageNotKnown(_)), "{e}");
    assert_eq!(e.to_string(), format!("{id}: image not known"));
    assert_eq!(e.exit_code(), 125);
}
