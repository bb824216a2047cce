//! Test support for the CLI's end-to-end tests: a docker-registry on 127.0.0.1,
//! busybox fixture images, a hostile proxy. (To move into berth-testkit.)

#![allow(dead_code)]

pub mod fixtures;
pub mod proxy;
pub mod registry;
