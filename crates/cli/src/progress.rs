//! Copy progress: a line per blob (skopeo's format) when stderr is not a terminal;
//! on a terminal one bar per blob being copied, redrawn in place, which becomes a
//! plain line once its blob is done; nothing with `-q`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth_image::copy::Progress;
use berth_image::manifest::Descriptor;

/// How often bars are redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);
const BAR_WIDTH: usize = 30;

pub struct Lines {
    tty: bool,
    out: Mutex<Board>,
}

/// The bars on the terminal: the last `drawn` lines written are `rows`.
struct Board {
    err: std::io::Stderr,
    rows: Vec<Row>,
    drawn: usize,
    last_draw: Option<Instant>,
}

struct Row {
    desc: Descriptor,
    bytes: u64,
    /// The finished line, once the blob is done.
    done: Option<String>,
}

impl Lines {
    pub fn new() -> Lines {
        let err = std::io::stderr();
        Lines {
            tty: err.is_terminal(),
            out: Mutex::new(Board {
                err,
                rows: Vec::new(),
                drawn: 0,
                last_draw: None,
            }),
        }
    }

    /// A line above the bars.
    fn line(&self, s: &str) {
        let mut b = self.out.lock().expect("stderr");
        if self.tty {
            b.settle();
            b.clear();
            let _ = writeln!(b.err, "\r\x1b[K{s}");
            b.draw();
        } else {
            let _ = writeln!(b.err, "{s}");
        }
    }
}

impl Board {
    /// Moves the cursor back to the first bar.
    fn clear(&mut self) {
        if self.drawn > 0 {
            let _ = write!(self.err, "\x1b[{}A", self.drawn);
        }
        self.drawn = 0;
    }

    fn draw(&mut self) {
        let mut text = String::new();
        for r in &self.rows {
            text.push_str("\r\x1b[K");
            text.push_str(&r.done.clone().unwrap_or_else(|| bar(&r.desc, r.bytes)));
            text.push('\n');
        }
        let _ = self.err.write_all(text.as_bytes());
        let _ = self.err.flush();
        self.drawn = self.rows.len();
        self.last_draw = Some(Instant::now());
    }

    fn redraw(&mut self) {
        self.clear();
        self.draw();
    }

    /// Finished bars at the top stay where they are, as plain lines; the
    /// bars still moving are what gets redrawn.
    fn settle(&mut self) {
        let finished = self.rows.iter().take_while(|r| r.done.is_some()).count();
        if finished > 0 && self.drawn >= finished {
            self.redraw();
            self.rows.drain(..finished);
            self.drawn -= finished;
        }
    }
}

fn bar(d: &Descriptor, bytes: u64) -> String {
    let filled = (bytes.min(d.size) as u128 * BAR_WIDTH as u128)
        .checked_div(d.size as u128)
        .unwrap_or(0) as usize;
    let mut b = "=".repeat(filled);
    if filled < BAR_WIDTH {
        b.push('>');
        b.push_str(&" ".repeat(BAR_WIDTH - filled - 1));
    }
    format!(
        "Copying blob {} [{b}] {} / {}",
        short(d),
        human(bytes),
        human(d.size)
    )
}

fn short(d: &Descriptor) -> &str {
    &d.digest.hex()[..12]
}

impl Progress for Lines {
    /// skopeo's and podman's first line of a copy.
    fn copy_started(&self) {
        self.line("Getting image source signatures");
    }

    fn blob_started(&self, d: &Descriptor, is_config: bool) {
        if is_config || !self.tty {
            return;
        }
        let mut b = self.out.lock().expect("stderr");
        b.rows.push(Row {
            desc: d.clone(),
            bytes: 0,
            done: None,
        });
        b.redraw();
    }

    fn blob_progress(&self, d: &Descriptor, bytes: u64) {
        if !self.tty {
            return;
        }
        let mut b = self.out.lock().expect("stderr");
        if let Some(r) = b.rows.iter_mut().find(|r| r.desc.digest == d.digest) {
            r.bytes = bytes;
        }
        if b.last_draw.is_none_or(|t| t.elapsed() >= REDRAW) {
            b.redraw();
        }
    }

    fn blob_done(&self, d: &Descriptor, skipped: bool) {
        let what = if berth_image::manifest::is_layer_type(&d.media_type) {
            "blob"
        } else {
            "config"
        };
        let line = if skipped {
            format!("Copying {what} {} skipped: already exists", short(d))
        } else {
            format!("Copying {what} {} done", short(d))
        };
        if !self.tty {
            self.line(&line);
            return;
        }
        let mut b = self.out.lock().expect("stderr");
        match b.rows.iter_mut().find(|r| r.desc.digest == d.digest) {
            Some(r) => r.done = Some(line),
            None => b.rows.push(Row {
                desc: d.clone(),
                bytes: d.size,
                done: Some(line),
            }),
        }
        b.redraw();
        b.settle();
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
