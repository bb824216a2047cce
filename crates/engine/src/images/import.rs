//! `import`: a root filesystem tarball becomes a one-layer image, stored as
//! it came (plain, gzip or zstd) with its diff ID computed on the way in.

use std::io::Read;
use std::sync::Arc;

use berth_image::blob::{decompress, sniff};
use berth_image::copy::{self, Silent};
use berth_image::digest::{Algorithm, DigestingReader};
use berth_image::manifest::{Compression, Descriptor, RawManifest, media};
use berth_image::transport::ImageName;
use berth_image::{Context, Digest};
use berth_storage::{StorageDestination, Store};
use serde_json::{Value, json};

use super::{ImageError, apply_change};

/// What `import` records.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Where the tarball came from, for messages and the default comment.
    pub source: String,
    /// `--change` instructions for the config.
    pub changes: Vec<String>,
    /// The history comment (default "imported from SOURCE").
    pub message: Option<String>,
    /// The new image's name.
    pub reference: Option<String>,
    /// `--arch`, `--os`, `--variant`: the platform the image says it is for
    /// (default: this host's).
    pub arch: Option<String>,
    pub os: Option<String>,
    pub variant: Option<String>,
}

/// The largest tarball `import` takes.
const MAX_TARBALL: u64 = 64 << 30;

/// Imports the tarball read from `input`; returns the new image's ID
/// (`sha256:…`).
pub fn import(
    store: &Arc<Store>,
    input: &mut dyn Read,
    o: &ImportOptions,
) -> Result<String, ImageError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        ImageError::Import(format!("{}: {what}: {e}", o.source))
    };
    // Config first: a bad --change fails before anything is read.
    let mut cfg = json!({});
    for c in &o.changes {
        apply_change(&mut cfg, c)?;
    }
    let tmp = tempfile::tempdir().map_err(|e| fail("temporary directory", &e))?;
    let spool = tmp.path().join("layer");
    let mut f = std::fs::File::create(&spool).map_err(|e| fail("spool", &e))?;
    std::io::copy(&mut input.take(MAX_TARBALL), &mut f)
        .map_err(|e| ImageError::Import(format!("{}: {e}", o.source)))?;
    drop(f);
    let open = || std::fs::File::open(&spool).map_err(|e| fail("spool", &e));
    let (compression, r) = sniff(open()?).map_err(|e| fail("read", &e))?;
    let mut plain = DigestingReader::new(decompress(r, compression), Algorithm::Sha256);
    check_tar(&mut plain)
        .map_err(|e| ImageError::Import(format!("{}: not a tar archive: {e}", o.source)))?;
    let (diff_id, _) = plain.finish();
    let config = serde_json::to_vec(&image_config(&diff_id, cfg, o)).expect("serialises");
    let layout = tmp.path().join("layout");
    let name = ImageName::Oci {
        path: layout,
        tag: Some("import".into()),
    };
    let ctx = Context::default();
    let write = |e: berth_image::Error| fail("write", &e);
    let dst = name.open_destination(&ctx).map_err(write)?;
    let layer = dst.put_blob(&mut open()?, None).map_err(write)?;
    let c = dst.put_blob(&mut &config[..], None).map_err(write)?;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
        "config": Descriptor::new(media::OCI_CONFIG, c.digest.clone(), c.size),
        "layers": [Descriptor::new(layer_type(compression), layer.digest, layer.size)],
    });
    let raw = RawManifest::new(
        serde_json::to_vec(&manifest).expect("serialises"),
        media::OCI_MANIFEST,
    );
    dst.put_manifest(&raw, None).map_err(write)?;
    dst.commit().map_err(write)?;
    let src = name.open_source(&ctx).map_err(write)?;
    let sd = StorageDestination::new(store.clone(), o.reference.as_deref())?;
    copy::copy_image(src.as_ref(), &sd, &copy::CopyOptions::default(), &Silent).map_err(write)?;
    Ok(format!("sha256:{}", c.digest.hex()))
}

fn layer_type(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => media::OCI_LAYER_GZIP,
        Compression::Zstd => media::OCI_LAYER_ZSTD,
        Compression::None => media::OCI_LAYER,
    }
}

/// Reads the stream to its end as a tar, so a non-tar input is refused here.
fn check_tar(r: &mut dyn Read) -> std::io::Result<()> {
    let mut ar = tar::Archive::new(&mut *r);
    for e in ar.entries()? {
        e?;
    }
    // The digest covers the padding after the end-of-archive blocks too.
    std::io::copy(r, &mut std::io::sink())?;
    Ok(())
}

fn image_config(diff_id: &Digest, cfg: Value, o: &ImportOptions) -> Value {
    let created = crate::time::format_rfc3339(crate::time::now_secs());
    let host = berth_image::manifest::Platform::host();
    let comment = o
        .message
        .clone()
        .unwrap_or_else(|| format!("imported from {}", o.source));
    let mut config = json!({
        "created": created,
        "architecture": o.arch.as_deref().unwrap_or(&host.architecture),
        "os": o.os.as_deref().unwrap_or(&host.os),
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [{"created": created, "created_by": "/bin/sh -c #(nop) ADD file in / ", "comment": comment}],
    });
    // A variant is the architecture's: the host's goes with the host's only.
    let variant = match (&o.variant, &o.arch) {
        (Some(v), _) => Some(v.clone()),
        (None, None) => host.variant.clone(),
        (None, Some(_)) => None,
    };
    if let Some(v) = variant.filter(|v| !v.is_empty()) {
        config["variant"] = json!(v);
    }
    config
}
