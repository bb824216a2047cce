//! The lines a build writes to its log, as podman's build and buildah's bud
//! print them on stdout; warnings go to stderr, as theirs do (with --quiet
//! too). Writing them is best effort: a log that cannot be written does not
//! fail the build.

use std::io::Write;

/// Which stage a line is about: its place (from 0) and how many the file has.
#[derive(Clone, Copy)]
pub(super) struct Stage {
    pub(super) index: usize,
    pub(super) count: usize,
}

/// `[2/3] STEP 4/9: COPY a b`: a step, counted over the whole build.
pub(super) fn step(log: &mut dyn Write, stage: Stage, (step, total): (usize, usize), what: &str) {
    line(log, stage, &format!("STEP {step}/{total}: {what}"));
}

/// `[2/3] …`: a line about a stage (of a file with more than one; buildah
/// writes a single stage's lines bare).
pub(super) fn line(log: &mut dyn Write, stage: Stage, what: &str) {
    let _ = match stage.count {
        1 => writeln!(log, "{what}"),
        n => writeln!(log, "[{}/{n}] {what}", stage.index + 1),
    };
}

/// A step or stage whose image was found in the cache.
pub(super) fn using_cache(log: &mut dyn Write, id: &str) {
    let _ = writeln!(log, "--> Using cache {id}");
}

/// The build's image being committed, as buildah says it (`COMMIT NAME`).
pub(super) fn committing(log: &mut dyn Write, name: Option<&str>) {
    let _ = match name {
        Some(n) => writeln!(log, "COMMIT {n}"),
        None => writeln!(log, "COMMIT"),
    };
}

/// A step or stage committed: its image's ID cut to 11 characters, as
/// buildah cuts it.
pub(super) fn done(log: &mut dyn Write, id: &str) {
    let _ = writeln!(log, "--> {}", &id[..11.min(id.len())]);
}

/// The end of a build that succeeded: each name as the store holds it
/// (`localhost/NAME:latest` for `NAME`).
pub(super) fn tagged(log: &mut dyn Write, tags: &[String]) {
    for t in tags {
        let full = berth_storage::store::normalize_name(t).unwrap_or_else(|_| t.clone());
        let _ = writeln!(log, "Successfully tagged {full}");
    }
}

/// An intermediate image that stayed when it should have gone.
pub(super) fn not_removed(image: &str, e: &dyn std::fmt::Display) {
    eprintln!("warning: could not remove intermediate image {image}: {e}");
}

/// A setting the OCI format has no place for, left out of the image.
pub(super) fn dropped(setting: &str) {
    eprintln!(
        "WARN: {setting} is not supported for OCI image format and will be ignored. Must use `docker` format"
    );
}
