//! The copy engine: source → digest verification → optional recompression →
//! destination, each blob streamed, blobs in parallel. It knows only the
//! [`ImageSource`] / [`ImageDestination`] interface.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::blob::{self, VerifyingReader};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{
    Compression, Descriptor, ImageIndex, ImageManifest, Manifest, ManifestFormat, Platform,
    RawManifest, is_layer_type,
};
use crate::reference::Reference;
use crate::signature::{Gpg, Payload};
use crate::transport::{BlobInfo, ImageDestination, ImageSource, LayerCompression};

/// Which images of an index to copy (`--multi-arch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MultiArch {
    /// Only the image for the wanted platform; the index is not copied.
    #[default]
    System,
    /// Every image and the index.
    All,
    /// The index alone, without its images.
    IndexOnly,
}

impl MultiArch {
    pub fn parse(s: &str) -> Option<MultiArch> {
        match s {
            "system" => Some(MultiArch::System),
            "all" => Some(MultiArch::All),
            "index-only" => Some(MultiArch::IndexOnly),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// `--format`: the manifest format to write; default: keep the source's.
    pub format: Option<ManifestFormat>,
    pub multi_arch: MultiArch,
    /// `--dest-compress-format`.
    pub compression: Option<Compression>,
    /// `--dest-compress-level`.
    pub compression_level: Option<i32>,
    /// `--dest-decompress`.
    pub decompress: bool,
    /// `--preserve-digests`: fail rather than change any digest.
    pub preserve_digests: bool,
    /// `--image-parallel-copies`.
    pub parallel: usize,
    /// The platform chosen from an index with [`MultiArch::System`].
    pub platform: Platform,
    /// Why digests must not change, for the error; `None`: `--preserve-digests`.
    pub preserve_reason: Option<&'static str>,
    /// `--remove-signatures`: do not carry the source's signatures over.
    pub remove_signatures: bool,
    /// `--sign-by`: sign the written manifest.
    pub sign_by: Option<SignBy>,
}

/// A GPG signature to add to the destination.
#[derive(Clone, Debug)]
pub struct SignBy {
    /// The signing key's fingerprint.
    pub fingerprint: String,
    /// `--sign-passphrase-file`.
    pub passphrase_file: Option<PathBuf>,
    /// `--sign-identity`: the reference to sign for; default the destination's.
    pub identity: Option<Reference>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            format: None,
            multi_arch: MultiArch::System,
            compression: None,
            compression_level: None,
            decompress: false,
            preserve_digests: false,
            parallel: 6,
            platform: Platform::host(),
            preserve_reason: None,
            remove_signatures: false,
            sign_by: None,
        }
    }
}

/// What the engine reports as it works; the front end draws it.
pub trait Progress: Send + Sync {
    /// The copy of one image (its manifest accepted) begins.
    fn copy_started(&self) {}
    fn blob_started(&self, _desc: &Descriptor, _is_config: bool) {}
    fn blob_progress(&self, _desc: &Descriptor, _bytes: u64) {}
    fn blob_done(&self, _desc: &Descriptor, _skipped: bool) {}
    fn writing_manifest(&self) {}
    fn signing(&self) {}
    /// The image's signatures (none, maybe) are stored: the copy's last step.
    fn storing_signatures(&self) {}
}

/// Reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// The result of a copy.
#[derive(Clone, Debug)]
pub struct CopyReport {
    /// The digest of the top-level manifest (or index) written.
    pub manifest_digest: Digest,
    pub manifest: RawManifest,
}

/// Copies an image. Nothing becomes visible at the destination unless everything
/// succeeded: the destination is committed only at the end.
pub fn copy_image(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    copy_image_checked(src, dst, opts, progress, &|_, _| Ok(()))
}

/// Copies the image `src_name` names after the trust `policy` has accepted the
/// very top-level manifest that is then copied (its signatures included).
pub fn copy_image_trusted(
    policy: &crate::signature::Policy,
    src_name: &crate::transport::ImageName,
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let image = crate::signature::PolicyImage::of(src_name);
    let name = src_name.to_string();
    let check = |top: &RawManifest, src: &dyn ImageSource| {
        policy.check(&image, &name, top, &|| src.signatures(&top.digest(), false))
    };
    copy_image_checked(src, dst, opts, progress, &check)
}

/// Like [`copy_image`], first asking `check` (the trust policy) about the very
/// top-level manifest that is then copied.
pub fn copy_image_checked(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    opts: &CopyOptions,
    progress: &dyn Progress,
    check: &dyn Fn(&RawManifest, &dyn ImageSource) -> Result<()>,
) -> Result<CopyReport> {
    if let Some(repo) = src.repository() {
        dst.set_mount_source(&repo);
    }
    let top = src.manifest(None)?;
    check(&top, src)?;
    progress.copy_started();
    let identity = sign_identity(dst, opts)?;
    let written = match top.parse()? {
        Manifest::Image(m) => {
            let sigs = source_signatures(src, &top.digest(), false, opts)?;
            copy_one_signed(src, dst, &top, m, None, &sigs, opts, progress)?
        }
        Manifest::Index(index) => match opts.multi_arch {
            MultiArch::System => {
                let desc = index.choose(&opts.platform)?;
                let raw = src.manifest(Some(&desc.digest))?;
                let Manifest::Image(m) = raw.parse()? else {
                    return Err(Error::Unsupported(format!(
                        "{}: nested indexes are not supported",
                        src.name()
                    )));
                };
                let sigs = source_signatures(src, &desc.digest, true, opts)?;
                copy_one_signed(src, dst, &raw, m, None, &sigs, opts, progress)?
            }
            MultiArch::All | MultiArch::IndexOnly => {
                let sigs = source_signatures(src, &top.digest(), false, opts)?;
                let o = keep_digests(opts, &sigs);
                let out = copy_index(src, dst, &top, index, &o, progress)?;
                (out, sigs)
            }
        },
    };
    let (written, mut sigs) = written;
    if let (Some(sign), Some(identity)) = (&opts.sign_by, identity) {
        progress.signing();
        sigs.push(sign_manifest(&written.digest(), &identity, sign)?);
    }
    progress.storing_signatures();
    if !sigs.is_empty() {
        dst.put_signatures(&sigs, &written.digest(), false)?;
    }
    dst.commit()?;
    Ok(CopyReport {
        manifest_digest: written.digest(),
        manifest: written,
    })
}

fn copy_index(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    raw: &RawManifest,
    mut index: ImageIndex,
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<RawManifest> {
    if !dst.supports_index() {
        return Err(Error::Unsupported(format!(
            "{}: cannot store a multi-architecture index (copy one platform instead)",
            dst.name()
        )));
    }
    let src_format = ManifestFormat::of_manifest_type(&raw.effective_media_type());
    let out_format = opts.format.or(src_format).unwrap_or(ManifestFormat::Oci);
    let mut changed = Some(out_format) != src_format;
    if changed {
        check_preserve(opts, "the index")?;
    }
    if opts.multi_arch == MultiArch::All {
        for entry in &mut index.manifests {
            let inst_raw = src.manifest(Some(&entry.digest))?;
            let Manifest::Image(m) = inst_raw.parse()? else {
                return Err(Error::Unsupported(format!(
                    "{}: nested indexes are not supported",
                    src.name()
                )));
            };
            let sigs = source_signatures(src, &entry.digest, true, opts)?;
            let (out, sigs) = copy_one_signed(
                src,
                dst,
                &inst_raw,
                m,
                Some(&entry.digest),
                &sigs,
                opts,
                progress,
            )?;
            if !sigs.is_empty() {
                dst.put_signatures(&sigs, &out.digest(), true)?;
            }
            let d = out.digest();
            if d != entry.digest {
                changed = true;
                entry.digest = d;
                entry.size = out.bytes.len() as u64;
                entry.media_type = out.effective_media_type();
            }
        }
    }
    let out = if changed {
        check_preserve(opts, "the index")?;
        index.media_type = Some(out_format.index_type().to_string());
        RawManifest::new(to_json(&index), out_format.index_type())
    } else {
        raw.clone()
    };
    progress.writing_manifest();
    check_deadline().map_err(Error::Stream)?;
    dst.put_manifest(&out, None)?;
    Ok(out)
}

/// The source's signatures for a manifest, unless they are to be dropped.
fn source_signatures(
    src: &dyn ImageSource,
    manifest: &Digest,
    instance: bool,
    opts: &CopyOptions,
) -> Result<Vec<Vec<u8>>> {
    if opts.remove_signatures {
        return Ok(Vec::new());
    }
    src.signatures(manifest, instance)
}

/// Options that refuse any digest change while there are signatures to keep:
/// a signature covers the manifest's exact bytes.
fn keep_digests(opts: &CopyOptions, sigs: &[Vec<u8>]) -> CopyOptions {
    let mut o = opts.clone();
    if !sigs.is_empty() && !o.preserve_digests {
        o.preserve_digests = true;
        o.preserve_reason = Some(
            "the source is signed and changing it would invalidate its signatures (use --remove-signatures)",
        );
    }
    o
}

/// [`copy_one`] keeping the source's signatures valid; returns them with the manifest.
#[allow(clippy::too_many_arguments)]
fn copy_one_signed(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    raw: &RawManifest,
    manifest: ImageManifest,
    instance: Option<&Digest>,
    sigs: &[Vec<u8>],
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<(RawManifest, Vec<Vec<u8>>)> {
    if !sigs.is_empty() {
        dst.supports_signatures()?;
    }
    let o = keep_digests(opts, sigs);
    let out = copy_one(src, dst, raw, manifest, instance, &o, progress)?;
    Ok((out, sigs.to_vec()))
}

/// The reference a new signature will name, checked before anything is copied;
/// `None` when not signing.
fn sign_identity(dst: &dyn ImageDestination, opts: &CopyOptions) -> Result<Option<Reference>> {
    let Some(sign) = &opts.sign_by else {
        return Ok(None);
    };
    dst.supports_signatures()?;
    let identity = sign
        .identity
        .clone()
        .or_else(|| dst.docker_reference())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: cannot tell which Docker reference to sign for; use --sign-identity",
                dst.name()
            ))
        })?;
    Gpg::user().check_secret_key(&sign.fingerprint)?;
    Ok(Some(identity))
}

fn sign_manifest(manifest: &Digest, identity: &Reference, sign: &SignBy) -> Result<Vec<u8>> {
    let payload = Payload::now(manifest.clone(), identity.to_string());
    Gpg::user().sign(
        &payload.to_json(),
        &sign.fingerprint,
        sign.passphrase_file.as_deref(),
    )
}

/// Copies one image's config and layers, then writes its manifest.
/// `instance` is the manifest's digest in the source index, when copying an index.
fn copy_one(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    raw: &RawManifest,
    mut manifest: ImageManifest,
    instance: Option<&Digest>,
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<RawManifest> {
    let src_format = ManifestFormat::of_manifest_type(&raw.effective_media_type());
    let out_format = choose_format(opts.format, src_format, &dst.supported_manifest_types())?;
    let mut changed = Some(out_format) != src_format;
    if changed {
        check_preserve(opts, "the manifest")?;
    }

    let plans = manifest
        .layers
        .iter()
        .map(|l| plan_layer(l, out_format, dst.desired_layer_compression(), opts))
        .collect::<Result<Vec<_>>>()?;
    if plans.iter().any(|p| p.from != p.to) {
        check_preserve(opts, "a layer")?;
    }
    // The config goes beside the layers rather than before them: its round
    // trips are then off the copy's critical path (the biggest layer).
    let config = &manifest.config;
    let (config_copied, new_layers) = std::thread::scope(|s| {
        let c = s.spawn(|| copy_blob(src, dst, config, true, progress, &AtomicBool::new(false)));
        let layers = copy_layers(src, dst, &manifest.layers, &plans, opts, progress);
        (c.join().expect("config copy thread"), layers)
    });
    config_copied?;
    let new_layers = new_layers?;
    for (old, new) in manifest.layers.iter_mut().zip(new_layers) {
        if *old != new {
            changed = true;
            *old = new;
        }
    }
    let out = if changed {
        check_preserve(opts, "the manifest")?;
        manifest.media_type = Some(out_format.manifest_type().to_string());
        manifest.config.media_type = convert_config_type(&manifest.config.media_type, out_format);
        for l in &mut manifest.layers {
            if is_layer_type(&l.media_type) {
                l.media_type = out_format
                    .layer_type(Compression::of_layer_type(&l.media_type))?
                    .to_string();
            }
        }
        RawManifest::new(to_json(&manifest), out_format.manifest_type())
    } else {
        raw.clone()
    };
    progress.writing_manifest();
    let inst = instance.map(|_| out.digest());
    check_deadline().map_err(Error::Stream)?;
    dst.put_manifest(&out, inst.as_ref())?;
    Ok(out)
}

fn convert_config_type(mt: &str, format: ManifestFormat) -> String {
    use crate::manifest::media;
    if mt == media::OCI_CONFIG || mt == media::DOCKER_CONFIG {
        format.config_type().to_string()
    } else {
        mt.to_string()
    }
}

fn check_preserve(opts: &CopyOptions, what: &str) -> Result<()> {
    if opts.preserve_digests {
        let why = opts.preserve_reason.unwrap_or("--preserve-digests is set");
        return Err(Error::Invalid(format!(
            "the copy would change the digest of {what}, but {why}"
        )));
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("manifest serialises")
}

/// The format to write: the one asked for, else the source's if the destination
/// takes it, else the destination's first choice.
fn choose_format(
    wanted: Option<ManifestFormat>,
    src: Option<ManifestFormat>,
    supported: &[&str],
) -> Result<ManifestFormat> {
    let ok = |f: ManifestFormat| supported.is_empty() || supported.contains(&f.manifest_type());
    if let Some(w) = wanted {
        return if ok(w) {
            Ok(w)
        } else {
            Err(Error::Unsupported(format!(
                "the destination does not store {} manifests",
                w.manifest_type()
            )))
        };
    }
    if let Some(s) = src.filter(|s| ok(*s)) {
        return Ok(s);
    }
    supported
        .iter()
        .find_map(|t| ManifestFormat::of_manifest_type(t))
        .ok_or_else(|| Error::Unsupported("no manifest format in common".into()))
}

/// How one layer is to be copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LayerPlan {
    from: Compression,
    to: Compression,
}

fn plan_layer(
    layer: &Descriptor,
    format: ManifestFormat,
    desire: LayerCompression,
    opts: &CopyOptions,
) -> Result<LayerPlan> {
    let from = Compression::of_layer_type(&layer.media_type);
    if !is_layer_type(&layer.media_type) {
        return Ok(LayerPlan { from, to: from });
    }
    let mut to = if opts.decompress || desire == LayerCompression::Decompress {
        Compression::None
    } else if let Some(c) = opts.compression {
        c
    } else if desire == LayerCompression::Compress && from == Compression::None {
        Compression::Gzip
    } else {
        from
    };
    if format == ManifestFormat::DockerV2S2 && to == Compression::Zstd {
        if opts.compression == Some(Compression::Zstd) {
            format.layer_type(to)?;
        }
        to = Compression::Gzip;
    }
    Ok(LayerPlan { from, to })
}

/// Copies the layers with up to `opts.parallel` at once; the first failure stops
/// the others at their next read.
fn copy_layers(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    layers: &[Descriptor],
    plans: &[LayerPlan],
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<Vec<Descriptor>> {
    let next = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let results: Vec<std::sync::Mutex<Option<Result<Descriptor>>>> =
        layers.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let workers = opts.parallel.clamp(1, layers.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= layers.len() || cancel.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = copy_layer(src, dst, &layers[i], plans[i], opts, progress, &cancel);
                    if r.is_err() {
                        cancel.store(true, Ordering::SeqCst);
                    }
                    *results[i].lock().expect("lock") = Some(r);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(layers.len());
    let mut first_err = None;
    for r in results {
        match r.into_inner().expect("lock") {
            Some(Ok(d)) => out.push(d),
            // Prefer the root cause over the "cancelled" errors it triggered.
            Some(Err(e)) if first_err.as_ref().is_none_or(is_cancelled) => first_err = Some(e),
            Some(Err(_)) => {}
            None => {}
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn copy_layer(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    layer: &Descriptor,
    plan: LayerPlan,
    opts: &CopyOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Descriptor> {
    if plan.from == plan.to {
        copy_blob(src, dst, layer, false, progress, cancel)?;
        return Ok(layer.clone());
    }
    progress.blob_started(layer, false);
    let stream = src.blob(layer)?;
    let verified = VerifyingReader::new(stream.reader, layer.digest.clone(), Some(layer.size));
    let counted = Counting::new(verified, layer, progress, cancel);
    let plain = blob::decompress(counted, plan.from);
    let mut out = blob::compress(plain, plan.to, opts.compression_level);
    let info = dst.put_blob(&mut out, None)?;
    progress.blob_done(layer, false);
    let mut new = layer.clone();
    new.digest = info.digest;
    new.size = info.size;
    new.media_type = recompressed_type(&layer.media_type, plan.to);
    Ok(new)
}

/// The layer media type after recompression, in the layer's own format family;
/// the manifest conversion fixes the family afterwards.
fn recompressed_type(mt: &str, to: Compression) -> String {
    let format = if mt.starts_with("application/vnd.docker.") {
        ManifestFormat::DockerV2S2
    } else {
        ManifestFormat::Oci
    };
    format
        .layer_type(to)
        .or_else(|_| ManifestFormat::Oci.layer_type(to))
        .map(str::to_string)
        .unwrap_or_else(|_| mt.to_string())
}

/// How many times a blob whose upload failed transiently is sent again.
const BLOB_RETRIES: u32 = 3;

/// Copies a blob unchanged, unless the destination has it already. An upload
/// that fails transiently (a 5xx, a dropped connection) is sent again from a
/// fresh read of the source, after a backoff.
fn copy_blob(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    desc: &Descriptor,
    is_config: bool,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<()> {
    check_deadline().map_err(Error::Stream)?;
    progress.blob_started(desc, is_config);
    if dst.has_blob(desc)? {
        progress.blob_done(desc, true);
        return Ok(());
    }
    let mut attempt = 0;
    loop {
        match send_blob(src, dst, desc, progress, cancel) {
            // Only the upload is tried again here: the source's client has
            // its own retry count (`--retry`).
            Err((e, true))
                if e.is_transient() && attempt < BLOB_RETRIES && !cancel.load(Ordering::SeqCst) =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(200 << attempt));
            }
            Err((e, _)) => return Err(e),
            Ok(()) => break,
        }
    }
    progress.blob_done(desc, false);
    Ok(())
}

/// One try at a blob; a failure says whether it was the upload's.
fn send_blob(
    src: &dyn ImageSource,
    dst: &dyn ImageDestination,
    desc: &Descriptor,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> std::result::Result<(), (Error, bool)> {
    let stream = src.blob(desc).map_err(|e| (e, false))?;
    if let Some(n) = stream.size
        && n != desc.size
    {
        return Err((
            Error::SizeMismatch {
                digest: desc.digest.clone(),
                expected: desc.size,
                actual: n,
            },
            false,
        ));
    }
    let verified = if dst.verifies_digests() {
        VerifyingReader::size_only(stream.reader, desc.digest.clone(), desc.size)
    } else {
        VerifyingReader::new(stream.reader, desc.digest.clone(), Some(desc.size))
    };
    let mut counted = Counting::new(verified, desc, progress, cancel);
    let known = BlobInfo {
        digest: desc.digest.clone(),
        size: desc.size,
    };
    dst.put_blob(&mut counted, Some(&known))
        .map(drop)
        .map_err(|e| (e, true))
}

/// When the whole command must give up (skopeo's `--command-timeout`), as
/// nanoseconds of [`std::time::Instant`]-free wall time; 0: never;
/// [`INTERRUPTED`]: at once, the process was interrupted. One word, so that
/// a blob read without either asks one atomic load.
static DEADLINE_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// [`DEADLINE_NS`] of a process that was interrupted ([`interrupt`]).
const INTERRUPTED: u64 = 1;

/// From now on every copy in this process stops at `at` with "context
/// deadline exceeded", through its usual error path: the blobs it was
/// writing are removed as for any failed copy, and no manifest is written.
pub fn set_deadline(at: std::time::SystemTime) {
    let ns = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64);
    DEADLINE_NS.store(ns.max(INTERRUPTED + 1), Ordering::SeqCst);
}

/// Every copy in this process stops at its next read of a blob, as at a
/// deadline, with "copy interrupted": staging directories and partial blobs
/// go with it. One atomic store, so that a signal handler may call it.
pub fn interrupt() {
    DEADLINE_NS.store(INTERRUPTED, Ordering::SeqCst);
}

/// The error a copy stops with once its deadline passed.
#[derive(Debug)]
struct DeadlineExceeded;

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("context deadline exceeded")
    }
}

impl std::error::Error for DeadlineExceeded {}

/// Err once the process's copy deadline ([`set_deadline`]) has passed or the
/// process was interrupted ([`interrupt`]).
fn check_deadline() -> io::Result<()> {
    // Every read of a blob asks: without a deadline, one atomic load.
    let at = DEADLINE_NS.load(Ordering::Relaxed);
    if at == 0 {
        return Ok(());
    }
    if at == INTERRUPTED {
        return Err(io::Error::other("copy interrupted"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    if now >= at {
        return Err(io::Error::other(DeadlineExceeded));
    }
    Ok(())
}

/// A writer that stops as a copy's blob reads do, once the process was
/// interrupted or its deadline passed: for the archive a copy packs at its
/// end, which may take as long as the copy.
pub struct Stoppable<W>(pub W);

impl<W: io::Write> io::Write for Stoppable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        check_deadline()?;
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The error a blob copy stops with when another one failed first.
#[derive(Debug)]
struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("copy cancelled: another blob failed")
    }
}

impl std::error::Error for Cancelled {}

/// Whether `e` is the cancellation another blob's failure caused, however a
/// destination wrapped it (its error chain, or its words where a wrapper kept
/// only those): the root cause is what the copy reports.
fn is_cancelled(e: &Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let io_cancelled = err
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .is_some_and(|i| i.is::<Cancelled>());
        if io_cancelled || err.is::<Cancelled>() {
            return true;
        }
        cur = err.source();
    }
    e.to_string().contains(&Cancelled.to_string())
}

/// Reports progress and stops when another blob of the copy failed.
struct Counting<'a, R> {
    inner: R,
    desc: &'a Descriptor,
    progress: &'a dyn Progress,
    cancel: &'a AtomicBool,
    done: u64,
}

impl<'a, R> Counting<'a, R> {
    fn new(
        inner: R,
        desc: &'a Descriptor,
        progress: &'a dyn Progress,
        cancel: &'a AtomicBool,
    ) -> Self {
        Counting {
            inner,
            desc,
            progress,
            cancel,
            done: 0,
        }
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other(Cancelled));
        }
        check_deadline()?;
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.progress.blob_progress(self.desc, self.done);
        Ok(n)
    }
}

/// An `Arc`'d progress works as well.
impl<P: Progress + ?Sized> Progress for Arc<P> {
    fn copy_started(&self) {
        (**self).copy_started()
    }
    fn signing(&self) {
        (**self).signing()
    }
    fn storing_signatures(&self) {
        (**self).storing_signatures()
    }
    fn blob_started(&self, d: &Descriptor, c: bool) {
        (**self).blob_started(d, c)
    }
    fn blob_progress(&self, d: &Descriptor, b: u64) {
        (**self).blob_progress(d, b)
    }
    fn blob_done(&self, d: &Descriptor, s: bool) {
        (**self).blob_done(d, s)
    }
    fn writing_manifest(&self) {
        (**self).writing_manifest()
    }
}

#[cfg(test)]
mod cancel_tests {
    use super::*;

    /// However a destination wrapped the cancellation, it is not taken for
    /// the copy's cause; a real failure is.
    #[test]
    fn cancellations_are_known_however_wrapped() {
        let direct = Error::Stream(io::Error::other(Cancelled));
        let chained = Error::Io {
            path: "layer".into(),
            source: io::Error::other(Error::Stream(io::Error::other(Cancelled))),
        };
        let worded = Error::Invalid(format!("layer stream: {Cancelled}"));
        for e in [direct, chained, worded] {
            assert!(is_cancelled(&e), "{e}");
        }
        let real =
            Error::Invalid("layer entry \"hl\" refused: hardlink target does not exist".into());
        assert!(!is_cancelled(&real));
    }
}
