//! A config repo at one commit: its files, its `.github/warden.yml`, the targets (kustomization
//! roots and their environments) found in it, and which of them a change affects.

pub mod config;
pub mod git;
pub mod snapshot;
pub mod targets;

pub use snapshot::{Snapshot, SnapshotError};
