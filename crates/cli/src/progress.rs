//! Copy progress: a line per blob (skopeo's format) when stderr is not a terminal,
//! a redrawn status line per blob when it is; nothing with `-q`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use berth_image::copy::Progress;
use berth_image::manifest::Descriptor;

pub struct Lines {
    tty: bool,
    out: Mutex<std::io::Stderr>,
    last: Mutex<std::collections::HashMap<String, u64>>,
}

impl Lines {
    pub fn new() -> Lines {
        let err = std::io::stderr();
        Lines {
            tty: err.is_terminal(),
            out: Mutex::new(err),
            last: Mutex::new(Default::default()),
        }
    }

    fn line(&self, s: &str) {
        let mut o = self.out.lock().expect("stderr");
        let _ = writeln!(o, "{s}");
    }
}

fn short(d: &Descriptor) -> &str {
    &d.digest.hex()[..12]
}

impl Progress for Lines {
    fn blob_started(&self, d: &Descriptor, is_config: bool) {
        if is_config {
            return;
        }
        if self.tty {
            self.last
                .lock()
                .expect("lock")
                .insert(d.digest.to_string(), 0);
        }
    }

    fn blob_progress(&self, d: &Descriptor, bytes: u64) {
        if !self.tty {
            return;
        }
        // Redraw at most every 4 MiB per blob.
        let mut last = self.last.lock().expect("lock");
        let prev = last.entry(d.digest.to_string()).or_insert(0);
        if bytes < *prev + (4 << 20) && bytes < d.size {
            return;
        }
        *prev = bytes;
        drop(last);
        let pct = (bytes * 100).checked_div(d.size).unwrap_or(100);
        let mut o = self.out.lock().expect("stderr");
        let _ = write!(
            o,
            "\rCopying blob {} [{:>3}%] {} / {}",
            short(d),
            pct.min(100),
            human(bytes),
            human(d.size)
        );
        let _ = o.flush();
    }

    fn blob_done(&self, d: &Descriptor, skipped: bool) {
        let what = if berth_image::manifest::is_layer_type(&d.media_type) {
            "blob"
        } else {
            "config"
        };
        let prefix = if self.tty { "\r\x1b[K" } else { "" };
        if skipped {
            self.line(&format!(
                "{prefix}Copying {what} {} skipped: already exists",
                short(d)
            ));
        } else {
            self.line(&format!("{prefix}Copying {what} {} done", short(d)));
        }
    }

    fn writing_manifest(&self) {
        self.line("Writing manifest to image destination");
    }

    fn signing(&self) {
        self.line("Signing manifest using simple signing");
    }
}

pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
