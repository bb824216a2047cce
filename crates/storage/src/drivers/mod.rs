//! Storage drivers: where a layer's files live and how a container's root is put
//! together. Every layer is `GRAPHROOT/DRIVER/ID/diff`; overlay keeps only the
//! layer's changes there (whiteouts in overlayfs form) and stacks lowerdirs at mount,
//! vfs keeps a full copy of the tree.

pub mod overlay;
pub mod vfs;

use std::path::{Path, PathBuf};

use crate::archive::WhiteoutMode;
use crate::config::DriverKind;

/// A driver bound to a store root.
#[derive(Clone, Debug)]
pub struct Driver {
    pub kind: DriverKind,
    /// `GRAPHROOT/DRIVER`
    pub home: PathBuf,
    pub options: Vec<(String, String)>,
}

impl Driver {
    pub fn new(kind: DriverKind, graph_root: &Path, options: Vec<(String, String)>) -> Driver {
        Driver {
            kind,
            home: graph_root.join(kind.name()),
            options,
        }
    }

    pub fn whiteouts(&self) -> WhiteoutMode {
        match self.kind {
            DriverKind::Overlay => WhiteoutMode::Overlay,
            DriverKind::Vfs => WhiteoutMode::Delete,
        }
    }

    pub fn layer_dir(&self, id: &str) -> PathBuf {
        self.home.join(id)
    }

    pub fn diff_dir(&self, id: &str) -> PathBuf {
        self.home.join(id).join("diff")
    }

    /// Extra mount options (`overlay.mountopt`).
    pub fn mount_options(&self) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == "mountopt")
            .map(|(_, v)| v.as_str())
    }
}
