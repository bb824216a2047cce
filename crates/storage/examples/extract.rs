//! Layer extraction for `bench/storage/extract.sh`.
//!
//! `extract layers DEST BLOB...` applies each layer blob into `DEST/N` in overlay form,
//! one thread per layer, one syncfs per layer, and prints `SECONDS UNCOMPRESSED_BYTES`.
//! `extract pull ROOT LAYOUT TAG` copies `oci:LAYOUT:TAG` into a fresh store at ROOT
//! (overlay), as a cold pull without the network, and prints `SECONDS`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use berth_storage::archive::{ApplyOptions, WhiteoutMode, apply_layer};
use berth_storage::{DriverKind, StorageDestination, Store, StoreConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("layers") if args.len() >= 3 => layers(Path::new(&args[1]), &args[2..]),
        Some("pull") if args.len() == 4 => pull(Path::new(&args[1]), Path::new(&args[2]), &args[3]),
        _ => {
            eprintln!("usage: extract layers DEST BLOB... | extract pull ROOT LAYOUT TAG");
            std::process::exit(2);
        }
    }
}

fn layers(dest: &Path, blobs: &[String]) {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = blobs
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let dir: PathBuf = dest.join(i.to_string());
                s.spawn(move || {
                    std::fs::create_dir_all(&dir).unwrap();
                    let f = std::fs::File::open(b).unwrap();
                    let opts = ApplyOptions::new(WhiteoutMode::Overlay);
                    apply_layer(f, &dir, &opts, None)
                        .unwrap_or_else(|e| panic!("{b}: {e}"))
                        .uncompressed_size
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!("{:.4} {total}", start.elapsed().as_secs_f64());
}

fn pull(root: &Path, layout: &Path, tag: &str) {
    let start = Instant::now();
    let cfg = StoreConfig::at(root.join("root"), root.join("run"), DriverKind::Overlay);
    let store = Arc::new(Store::open(cfg).unwrap());
    let src = berth_image::transport::oci_layout::OciSource::open(layout, Some(tag)).unwrap();
    let dst = StorageDestination::new(store, Some("bench/large:latest")).unwrap();
    berth_image::copy::copy_image(
        &src,
        &dst,
        &berth_image::copy::CopyOptions::default(),
        &berth_image::copy::Silent,
    )
    .unwrap();
    println!("{:.4}", start.elapsed().as_secs_f64());
}
