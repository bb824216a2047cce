//! `docker://REFERENCE`: an image in a registry.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::context::Context;
use crate::digest::{Algorithm, Digest, DigestingReader};
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, RawManifest, media};
use crate::reference::Reference;
use crate::signature::lookaside::{self, RegistriesD};
use crate::transport::registry_client::{
    Body, Client, SendError, TlsSettings, cert_dirs, pull_scope, push_scope,
};
use crate::transport::{BlobInfo, BlobStream, ImageDestination, ImageSource, LayerCompression};

const MANIFEST_LIMIT: u64 = 4 << 20;

/// Every manifest type berth reads, for `Accept`.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws, \
application/vnd.docker.distribution.manifest.v1+json";

/// Connects to the registry of `reference` (mirror endpoints are handled by the caller).
pub fn connect(reference: &Reference, insecure: bool, ctx: &Context) -> Result<Client> {
    let for_this = |server: &str| registry_host(server) == registry_host(reference.registry());
    let creds = match &ctx.credentials {
        _ if ctx.anonymous => None,
        Some(c) if ctx.credentials_registry.as_deref().is_none_or(for_this) => Some(c.clone()),
        _ => crate::auth::lookup(reference, ctx.auth_file.as_deref())?,
    };
    let verify = match ctx.tls_verify {
        Some(v) => v,
        None => !insecure && !ctx.registries()?.is_insecure(reference.registry()),
    };
    let tls = TlsSettings {
        verify,
        cert_dirs: cert_dirs(reference.registry(), ctx.cert_dir.as_deref()),
    };
    let client = Client::connect(reference.registry(), creds, &tls, ctx.retries)?;
    Ok(client
        .with_bearer_token(ctx.registry_token.clone())
        .with_retry_delay(ctx.retry_delay))
}

/// A registry as a host (`https://index.docker.io/v1/` and `docker.io` are one).
fn registry_host(server: &str) -> &str {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        h => h,
    }
}

pub struct DockerSource {
    client: Client,
    reference: Reference,
    /// The name asked for (not a mirror's): signatures are looked up by it.
    logical: Reference,
    registries_d: Option<PathBuf>,
    top: RawManifest,
}

impl DockerSource {
    /// Opens the image, trying registries.conf mirrors first. The manifest is fetched
    /// here so that a missing image is reported at once.
    pub fn open(reference: &Reference, ctx: &Context) -> Result<DockerSource> {
        let endpoints = ctx.registries()?.pull_endpoints(reference)?;
        let mut last_err = None;
        for ep in endpoints {
            let attempt = connect(&ep.reference, ep.insecure, ctx).and_then(|client| {
                let top =
                    fetch_manifest(&client, &ep.reference, &ep.reference.manifest_reference())?;
                Ok(DockerSource {
                    client,
                    reference: ep.reference.clone(),
                    logical: reference.clone(),
                    registries_d: ctx.registries_d.clone(),
                    top,
                })
            });
            match attempt {
                Ok(s) => return Ok(s),
                Err(e) if ep.is_mirror => last_err = Some(e),
                Err(e) => return Err(initializing(reference, e)),
            }
        }
        let e = last_err.unwrap_or_else(|| Error::ImageNotFound(reference.to_string()));
        Err(initializing(reference, e))
    }

    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The digest of the manifest the reference names, as served.
    pub fn manifest_digest(&self) -> Digest {
        self.top.digest()
    }
}

/// GETs a manifest; one asked for by digest must hash to it.
pub fn fetch_manifest(client: &Client, reference: &Reference, which: &str) -> Result<RawManifest> {
    let repo = reference.repository();
    let url = client.url(&format!("/v2/{repo}/manifests/{which}"));
    let resp = client
        .send(
            "GET",
            &url,
            &[pull_scope(repo)],
            &[("Accept", ACCEPT.to_string())],
            Body::Empty,
        )
        .map_err(|e| match e {
            SendError::Status(f) if is_not_found(&f) => Error::ManifestUnknown {
                which: which.to_string(),
                repository: reference.name(),
                said: f.said(),
            },
            e => client.send_error(&url, e),
        })?;
    let mt = resp.header("Content-Type").unwrap_or("").to_string();
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(MANIFEST_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::Stream)?;
    if bytes.len() as u64 > MANIFEST_LIMIT {
        return Err(Error::Registry {
            url,
            message: format!("manifest larger than {MANIFEST_LIMIT} bytes"),
        });
    }
    if let Ok(d) = which.parse::<Digest>() {
        let actual = d.of_same_kind(&bytes);
        if actual != d {
            return Err(Error::ManifestDigestMismatch {
                expected: d,
                actual,
            });
        }
    }
    let mt = mt.split(';').next().unwrap_or("").trim().to_string();
    Ok(RawManifest::new(bytes, mt))
}

/// An error opening `reference`, as containers/image words it.
fn initializing(reference: &Reference, e: Error) -> Error {
    match e {
        // Blocked in registries.conf or a bad name: said as it is.
        Error::Blocked { .. } | Error::ImageName(..) => e,
        e => Error::InitializingSource {
            name: reference.to_string(),
            source: Box::new(e),
        },
    }
}

fn not_found_or(client: &Client, e: SendError, url: &str, what: impl Fn() -> String) -> Error {
    match e {
        SendError::Status(f) if is_not_found(&f) => Error::ImageNotFound(what()),
        e => client.send_error(url, e),
    }
}

fn is_not_found(f: &super::registry_client::Failure) -> bool {
    f.status == 404 || f.code == "MANIFEST_UNKNOWN" || f.code == "NAME_UNKNOWN"
}

impl ImageSource for DockerSource {
    fn name(&self) -> String {
        format!("docker://{}", self.reference)
    }

    fn signatures(&self, manifest: &Digest, _instance: bool) -> Result<Vec<Vec<u8>>> {
        let conf = RegistriesD::load(self.registries_d.as_deref())?;
        let base = conf.base_url(&self.logical, false);
        lookaside::read_signatures(&base, &self.logical, manifest)
    }

    fn manifest(&self, instance: Option<&Digest>) -> Result<RawManifest> {
        match instance {
            None => Ok(self.top.clone()),
            Some(d) => fetch_manifest(&self.client, &self.reference, &d.to_string()),
        }
    }

    fn blob(&self, desc: &Descriptor) -> Result<BlobStream> {
        let (reader, size) = self
            .client
            .get_blob(self.reference.repository(), &desc.digest)?;
        Ok(BlobStream { reader, size })
    }

    fn repository(&self) -> Option<String> {
        Some(self.reference.name())
    }

    fn tags(&self) -> Result<Vec<String>> {
        list_tags(&self.client, &self.reference)
    }
}

/// All tags of the repository, following `Link` pagination.
pub fn list_tags(client: &Client, reference: &Reference) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct TagList {
        tags: Option<Vec<String>>,
    }
    let repo = reference.repository();
    let list = Listing {
        path: format!("/v2/{repo}/tags/list"),
        scope: pull_scope(repo),
        what: "tag list",
        name: reference.name(),
    };
    paged(client, &list, |page: TagList| page.tags.unwrap_or_default())
}

/// The repositories a registry lists (`/v2/_catalog`, every page), for
/// `search`; `client` is connected to any reference on that registry.
pub fn catalog(client: &Client) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Catalog {
        repositories: Option<Vec<String>>,
    }
    let list = Listing {
        path: "/v2/_catalog".into(),
        scope: "registry:catalog:*".into(),
        what: "catalog",
        name: "the registry's catalog".into(),
    };
    paged(client, &list, |page: Catalog| {
        page.repositories.unwrap_or_default()
    })
}

/// A paginated list of the registry API.
struct Listing {
    path: String,
    scope: String,
    /// What the list is, for errors.
    what: &'static str,
    /// What is not found when the registry answers 404.
    name: String,
}

/// Every page of `list`, following `Link` headers, as `items` reads each.
fn paged<P: serde::de::DeserializeOwned>(
    client: &Client,
    list: &Listing,
    items: impl Fn(P) -> Vec<String>,
) -> Result<Vec<String>> {
    let mut url = client.url(&list.path);
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let resp = client
            .send(
                "GET",
                &url,
                std::slice::from_ref(&list.scope),
                &[],
                Body::Empty,
            )
            .map_err(|e| not_found_or(client, e, &url, || list.name.clone()))?;
        let next = resp
            .header("Link")
            .and_then(parse_link_next)
            .map(|l| client.resolve(&l));
        let mut text = Vec::new();
        resp.into_reader()
            .take(64 << 20)
            .read_to_end(&mut text)
            .map_err(Error::Stream)?;
        let page: P = serde_json::from_slice(&text).map_err(|e| Error::Registry {
            url: url.clone(),
            message: format!("invalid {}: {e}", list.what),
        })?;
        out.extend(items(page));
        match next {
            Some(n) => url = n,
            None => return Ok(out),
        }
    }
    Err(Error::Registry {
        url,
        message: format!("{} pagination does not end", list.what),
    })
}

/// `</v2/...?n=100&last=x>; rel="next"` → the URL.
fn parse_link_next(h: &str) -> Option<String> {
    h.split(',').find_map(|part| {
        let part = part.trim();
        if !part.contains("rel=\"next\"") && !part.contains("rel=next") {
            return None;
        }
        let start = part.find('<')? + 1;
        let end = part[start..].find('>')? + start;
        Some(part[start..end].to_string())
    })
}

/// Deletes the manifest a reference names (by digest, as the API requires).
pub fn delete(reference: &Reference, ctx: &Context) -> Result<Digest> {
    let client = connect(reference, false, ctx)?;
    let repo = reference.repository();
    let digest = match reference.digest() {
        Some(d) => d.clone(),
        None => fetch_manifest(&client, reference, &reference.manifest_reference())?.digest(),
    };
    let url = client.url(&format!("/v2/{repo}/manifests/{digest}"));
    let scopes = vec![format!("repository:{repo}:delete"), push_scope(repo)];
    client
        .send("DELETE", &url, &scopes, &[], Body::Empty)
        .map_err(|e| not_found_or(&client, e, &url, || reference.to_string()))?;
    Ok(digest)
}

pub struct DockerDestination {
    client: Client,
    reference: Reference,
    registries_d: Option<PathBuf>,
    mount_from: Mutex<Option<String>>,
}

impl DockerDestination {
    pub fn open(reference: &Reference, ctx: &Context) -> Result<DockerDestination> {
        let entry = ctx.registries()?.find(reference).cloned();
        if entry.as_ref().is_some_and(|e| e.blocked) {
            return Err(Error::Blocked {
                registry: reference.registry().to_string(),
            });
        }
        let insecure = entry.is_some_and(|e| e.insecure);
        let client = connect(reference, insecure, ctx)?;
        Ok(DockerDestination {
            client,
            reference: reference.clone(),
            registries_d: ctx.registries_d.clone(),
            mount_from: Mutex::new(None),
        })
    }

    fn repo(&self) -> &str {
        self.reference.repository()
    }

    fn scopes(&self) -> Vec<String> {
        let mut s = vec![push_scope(self.repo())];
        if let Some(from) = self.mount_from.lock().expect("lock").as_ref() {
            s.push(pull_scope(from));
        }
        s
    }

    /// Tries a cross-repository mount; true when the registry mounted the blob.
    fn try_mount(&self, digest: &Digest) -> Result<bool> {
        let Some(from) = self.mount_from.lock().expect("lock").clone() else {
            return Ok(false);
        };
        let url = self.client.url(&format!(
            "/v2/{}/blobs/uploads/?mount={digest}&from={from}",
            self.repo()
        ));
        let resp = self
            .client
            .send(
                "POST",
                &url,
                &self.scopes(),
                &[("Content-Length", "0".into())],
                Body::Empty,
            )
            .map_err(|e| self.client.send_error(&url, e))?;
        if resp.status() == 201 {
            return Ok(true);
        }
        // The registry started an upload instead: cancel it.
        if let Some(loc) = resp.header("Location") {
            let loc = self.client.resolve(loc);
            let _ = self
                .client
                .send("DELETE", &loc, &self.scopes(), &[], Body::Empty);
        }
        Ok(false)
    }

    fn start_upload(&self) -> Result<String> {
        let url = self
            .client
            .url(&format!("/v2/{}/blobs/uploads/", self.repo()));
        let resp = self
            .client
            .send(
                "POST",
                &url,
                &self.scopes(),
                &[("Content-Length", "0".into())],
                Body::Empty,
            )
            .map_err(|e| self.client.send_error(&url, e))?;
        let loc = resp.header("Location").ok_or_else(|| Error::Registry {
            url: url.clone(),
            message: "upload started without a Location".into(),
        })?;
        Ok(self.client.resolve(loc))
    }

    /// Sends the whole blob in one PUT (size and digest known up front).
    fn upload_monolithic(&self, loc: &str, reader: &mut dyn Read, info: &BlobInfo) -> Result<()> {
        let url = with_query(loc, "digest", &info.digest.to_string());
        let headers = [
            ("Content-Type", "application/octet-stream".to_string()),
            ("Content-Length", info.size.to_string()),
        ];
        let scopes = self.scopes();
        if let Some(r) = self
            .client
            .put_raw(&url, &scopes, &headers, reader, info.size)
        {
            return r.map_err(|e| self.client.send_error(loc, e));
        }
        self.client
            .send("PUT", &url, &scopes, &headers, Body::Stream(reader))
            .map_err(|e| self.client.send_error(loc, e))?;
        Ok(())
    }

    /// Sends a blob of unknown size (a recompressed layer) in chunks, each a PATCH
    /// with its Content-Range. A chunk that fails part-way is resumed from the
    /// offset the registry reports holding, so a dropped connection costs one chunk
    /// at most. Then closes the upload with the digest computed on the way.
    fn upload_chunked(&self, loc: &str, reader: &mut dyn Read) -> Result<BlobInfo> {
        let mut hashing = DigestingReader::new(reader, Algorithm::Sha256);
        let mut buf = vec![0u8; upload_chunk_size()];
        let mut loc = loc.to_string();
        let mut offset: u64 = 0;
        loop {
            let n = read_full(&mut hashing, &mut buf).map_err(Error::Stream)?;
            if n == 0 {
                break;
            }
            loc = self.send_chunk(&loc, offset, &buf[..n])?;
            offset += n as u64;
        }
        let (digest, size) = hashing.finish();
        let url = with_query(&loc, "digest", &digest.to_string());
        self.client
            .send(
                "PUT",
                &url,
                &self.scopes(),
                &[("Content-Length", "0".into())],
                Body::Empty,
            )
            .map_err(|e| self.client.send_error(&loc, e))?;
        Ok(BlobInfo { digest, size })
    }

    /// One chunk at `offset`; returns the upload's next location.
    fn send_chunk(&self, loc: &str, offset: u64, chunk: &[u8]) -> Result<String> {
        let mut loc = loc.to_string();
        let mut sent = 0usize;
        let mut resumes = 0;
        while sent < chunk.len() {
            let start = offset + sent as u64;
            let end = offset + chunk.len() as u64 - 1;
            let headers = [
                ("Content-Type", "application/octet-stream".to_string()),
                ("Content-Range", format!("{start}-{end}")),
                ("Content-Length", (chunk.len() - sent).to_string()),
            ];
            match self.client.send(
                "PATCH",
                &loc,
                &self.scopes(),
                &headers,
                Body::Bytes(&chunk[sent..]),
            ) {
                Ok(resp) => {
                    if let Some(l) = resp.header("Location") {
                        loc = self.client.resolve(l);
                    }
                    sent = chunk.len();
                }
                Err(e) if resumes < 3 => {
                    resumes += 1;
                    let held = self
                        .upload_offset(&loc)
                        .map_err(|_| self.client.send_error(&loc, e))?;
                    if held < offset || held > offset + chunk.len() as u64 {
                        return Err(Error::Registry {
                            url: loc,
                            message: format!(
                                "upload holds {held} bytes, expected {offset}..{}",
                                offset + chunk.len() as u64
                            ),
                        });
                    }
                    sent = (held - offset) as usize;
                }
                Err(e) => return Err(self.client.send_error(&loc, e)),
            }
        }
        Ok(loc)
    }

    /// How many bytes an upload in progress holds (its `Range: 0-N`).
    fn upload_offset(&self, loc: &str) -> std::result::Result<u64, SendError> {
        let resp = self
            .client
            .send("GET", loc, &self.scopes(), &[], Body::Empty)?;
        Ok(resp
            .header("Range")
            .and_then(|r| r.rsplit('-').next())
            .and_then(|n| n.trim().parse::<u64>().ok())
            .map_or(0, |last| last + 1))
    }
}

/// Chunk size for uploads of unknown size: big enough that request overhead is
/// negligible, small enough that parallel uploads stay within a few tens of MiB.
/// `BERTH_UPLOAD_CHUNK_SIZE` (bytes) overrides it.
fn upload_chunk_size() -> usize {
    std::env::var("BERTH_UPLOAD_CHUNK_SIZE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n >= 1024)
        .unwrap_or(8 << 20)
}

/// Reads until `buf` is full or the reader ends.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={value}")
}

impl ImageDestination for DockerDestination {
    fn name(&self) -> String {
        format!("docker://{}", self.reference)
    }

    fn supported_manifest_types(&self) -> Vec<&'static str> {
        vec![media::OCI_MANIFEST, media::DOCKER_MANIFEST]
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Compress
    }

    fn set_mount_source(&self, source: &str) {
        // Only a repository of the same registry can be mounted from.
        if let Some(repo) = source
            .strip_prefix(self.reference.registry())
            .and_then(|r| r.strip_prefix('/'))
            && repo != self.repo()
        {
            *self.mount_from.lock().expect("lock") = Some(repo.to_string());
        }
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        let url = self
            .client
            .url(&format!("/v2/{}/blobs/{}", self.repo(), desc.digest));
        match self
            .client
            .send("HEAD", &url, &self.scopes(), &[], Body::Empty)
        {
            Ok(_) => Ok(true),
            Err(SendError::Status(f)) if f.status == 404 => self.try_mount(&desc.digest),
            Err(e) => Err(self.client.send_error(&url, e)),
        }
    }

    fn put_blob(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> Result<BlobInfo> {
        let loc = self.start_upload()?;
        let result = match known {
            Some(info) => self
                .upload_monolithic(&loc, reader, info)
                .map(|_| info.clone()),
            None => self.upload_chunked(&loc, reader),
        };
        if result.is_err() {
            // Best effort: tell the registry to drop the partial upload.
            let _ = self
                .client
                .send("DELETE", &loc, &self.scopes(), &[], Body::Empty);
        }
        result
    }

    fn put_manifest(&self, manifest: &RawManifest, instance: Option<&Digest>) -> Result<()> {
        let which = match instance {
            Some(d) => d.to_string(),
            None => self.reference.manifest_reference(),
        };
        if let Some(d) = self.reference.digest().filter(|_| instance.is_none()) {
            let actual = manifest.digest();
            if actual != *d {
                return Err(Error::Invalid(format!(
                    "{}: the manifest written hashes to {actual}, not to the digest in the reference",
                    self.name()
                )));
            }
        }
        let url = self
            .client
            .url(&format!("/v2/{}/manifests/{which}", self.repo()));
        let headers = [("Content-Type", manifest.effective_media_type())];
        self.client
            .send(
                "PUT",
                &url,
                &self.scopes(),
                &headers,
                Body::Bytes(&manifest.bytes),
            )
            .map_err(|e| self.client.send_error(&url, e))?;
        Ok(())
    }

    fn docker_reference(&self) -> Option<Reference> {
        Some(self.reference.clone())
    }

    fn verifies_digests(&self) -> bool {
        // A monolithic PUT carries `?digest=`, which the registry must check
        // before it accepts the blob.
        true
    }

    fn supports_signatures(&self) -> Result<()> {
        let conf = RegistriesD::load(self.registries_d.as_deref())?;
        let base = conf.base_url(&self.reference, true);
        if base.starts_with("file://") {
            Ok(())
        } else {
            Err(Error::Unsupported(format!(
                "{}: signatures can only be written to file:// lookaside storage, not {base}",
                self.name()
            )))
        }
    }

    fn put_signatures(&self, sigs: &[Vec<u8>], manifest: &Digest, _instance: bool) -> Result<()> {
        let conf = RegistriesD::load(self.registries_d.as_deref())?;
        let base = conf.base_url(&self.reference, true);
        lookaside::write_signatures(&base, &self.reference, manifest, sigs)
    }

    fn commit(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_server_address_names_its_registry() {
        assert_eq!(registry_host("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(registry_host("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(registry_host("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_ne!(registry_host("quay.io"), registry_host("127.0.0.1:5000"));
    }

    #[test]
    fn link_header() {
        assert_eq!(
            parse_link_next(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(parse_link_next(r#"<x>; rel="prev""#), None);
    }
}
