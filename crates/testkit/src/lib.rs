//! berth-testkit: what berth's tests share. Fixture images are made here from
//! Debian's busybox-static (no internet on test machines), reproducibly; the
//! registry and proxy are real processes and sockets on 127.0.0.1.

pub mod files;
pub mod fixtures;
pub mod proxy;
pub mod registry;
pub mod tar_builder;

pub use tar_builder::Tar;
