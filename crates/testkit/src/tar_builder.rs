//! A tar builder that writes names and link targets into headers verbatim, so
//! that tests can make the hostile layers a careful builder would refuse
//! (`..`, absolute paths, escaping links, lying sizes), and the special entries
//! layers carry (whiteouts, device nodes, xattrs).

use std::io::Write;

use tar::{EntryType, Header};

/// Builds a tar entry by entry, writing names into the header verbatim.
pub struct Tar {
    b: tar::Builder<Vec<u8>>,
}

impl Default for Tar {
    fn default() -> Self {
        Self::new()
    }
}

impl Tar {
    pub fn new() -> Tar {
        Tar {
            b: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: EntryType, name: &str, mode: u32, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let gnu = h.as_gnu_mut().expect("gnu");
        assert!(name.len() < gnu.name.len());
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        h
    }

    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.file_with(name, data, 0o644, 0, 0, 1_600_000_000, &[])
    }

    #[allow(clippy::too_many_arguments)]
    pub fn file_with(
        mut self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
        xattrs: &[(&str, &[u8])],
    ) -> Self {
        if !xattrs.is_empty() {
            let keys: Vec<(String, &[u8])> = xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), *v))
                .collect();
            self.b
                .append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), *v)))
                .unwrap();
        }
        let mut h = Self::header(EntryType::Regular, name, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    pub fn dir(mut self, name: &str) -> Self {
        let mut h = Self::header(EntryType::Directory, name, 0o755, 0);
        h.set_cksum();
        self.b.append(&h, &[][..]).unwrap();
        self
    }

    pub fn dir_with(mut self, name: &str, mode: u32, uid: u64, mtime: u64) -> Self {
        let mut h = Self::header(EntryType::Directory, name, mode, 0);
        h.set_uid(uid);
        h.set_mtime(mtime);
        h.set_cksum();
        self.b.append(&h, &[][..]).unwrap();
        self
    }

    fn link_entry(mut self, kind: EntryType, name: &str, target: &str) -> Self {
        let mut h = Self::header(kind, name, 0o777, 0);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
        h.set_cksum();
        self.b.append(&h, &[][..]).unwrap();
        self
    }

    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.link_entry(EntryType::Symlink, name, target)
    }

    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.link_entry(EntryType::Link, name, target)
    }

    pub fn node(mut self, kind: EntryType, name: &str, major: u32, minor: u32) -> Self {
        let mut h = Self::header(kind, name, 0o640, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        h.set_cksum();
        self.b.append(&h, &[][..]).unwrap();
        self
    }

    /// A regular-file header claiming `size` bytes, followed by nothing.
    pub fn claim(mut self, name: &str, size: u64) -> Self {
        let mut h = Self::header(EntryType::Regular, name, 0o644, size);
        h.set_cksum();
        self.b.append(&h, &[][..]).ok();
        self
    }

    pub fn whiteout(self, name: &str) -> Self {
        self.file(name, b"")
    }

    pub fn bytes(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }

    pub fn gzip(self) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&self.bytes()).unwrap();
        e.finish().unwrap()
    }

    pub fn zstd(self) -> Vec<u8> {
        zstd::encode_all(&self.bytes()[..], 3).unwrap()
    }
}
