//! Copy progress: a line per blob (skopeo's format) when the output is not a
//! terminal; on a terminal one bar per blob being copied (indicatif), which
//! becomes a plain line once its blob is done; nothing with `-q`. podman's
//! verbs report on stderr, skopeo's on stdout.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use berth_image::copy::Progress;
use berth_image::manifest::{Descriptor, is_layer_type};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Copy progress as a podman verb's `--quiet` asks: lines (or bars) on
/// stderr, or nothing.
pub fn unless_quiet(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(berth_image::copy::Silent)
    } else {
        Box::new(Lines::new(false))
    }
}

/// [`unless_quiet`] for skopeo's verbs, which report on stdout.
pub fn unless_quiet_on_stdout(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(berth_image::copy::Silent)
    } else {
        Box::new(Lines::new(true))
    }
}

pub struct Lines {
    /// None when the output is not a terminal: plain lines only.
    bars: Option<MultiProgress>,
    /// The bar of each blob being copied, by digest.
    moving: Mutex<HashMap<String, ProgressBar>>,
    stdout: bool,
}

impl Lines {
    pub fn new(stdout: bool) -> Lines {
        let (tty, target) = match stdout {
            true => (
                std::io::stdout().is_terminal(),
                ProgressDrawTarget::stdout(),
            ),
            false => (
                std::io::stderr().is_terminal(),
                ProgressDrawTarget::stderr(),
            ),
        };
        Lines {
            bars: tty.then(|| MultiProgress::with_draw_target(target)),
            moving: Mutex::new(HashMap::new()),
            stdout,
        }
    }

    /// A line above the bars.
    fn line(&self, s: &str) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(s);
            }
            None if self.stdout => println!("{s}"),
            None => eprintln!("{s}"),
        }
    }
}

fn short(d: &Descriptor) -> &str {
    &d.digest.hex()[..12]
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "Copying blob {prefix} [{bar:30}] {binary_bytes} / {binary_total_bytes}",
    )
    .expect("a valid template")
    .progress_chars("=> ")
}

impl Progress for Lines {
    /// skopeo's and podman's first line of a copy.
    fn copy_started(&self) {
        self.line("Getting image source signatures");
    }

    fn blob_started(&self, d: &Descriptor, is_config: bool) {
        let Some(m) = &self.bars else { return };
        if is_config {
            return;
        }
        let bar = m.add(ProgressBar::new(d.size).with_style(bar_style()));
        bar.set_prefix(short(d).to_string());
        let mut moving = self.moving.lock().expect("progress");
        moving.insert(d.digest.to_string(), bar);
    }

    fn blob_progress(&self, d: &Descriptor, bytes: u64) {
        let moving = self.moving.lock().expect("progress");
        if let Some(bar) = moving.get(&d.digest.to_string()) {
            bar.set_position(bytes);
        }
    }

    fn blob_done(&self, d: &Descriptor, skipped: bool) {
        let what = if is_layer_type(&d.media_type) {
            "blob"
        } else {
            "config"
        };
        let line = if skipped {
            format!("Copying {what} {} skipped: already exists", short(d))
        } else {
            format!("Copying {what} {} done", short(d))
        };
        let bar = self
            .moving
            .lock()
            .expect("progress")
            .remove(&d.digest.to_string());
        match bar {
            // The bar becomes the finished line, where it stands.
            Some(bar) => {
                bar.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
                bar.finish_with_message(line);
            }
            None => self.line(&line),
        }
    }

    fn writing_manifest(&self) {
        self.line("Writing manifest to image destination");
    }

    fn signing(&self) {
        self.line("Signing manifest using simple signing");
    }

    fn storing_signatures(&self) {
        self.line("Storing signatures");
    }
}
