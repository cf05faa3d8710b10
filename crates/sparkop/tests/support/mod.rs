//! Helpers shared by the CLI's integration tests (each test binary uses part of them).
#![allow(dead_code)]

pub mod cluster;
pub mod spark;
