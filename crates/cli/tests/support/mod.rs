//! Test support for the CLI's end-to-end tests, from berth-testkit: a
//! docker-registry on 127.0.0.1, the fixture images, a hostile proxy.

#![allow(unused_imports)]

pub use berth_testkit::{fixtures, proxy, registry};
