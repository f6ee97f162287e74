//! Native Kustomize engine: load → accumulate → transform → emit.
//!
//! Written by hand because no Rust crate renders Kustomize faithfully; it follows kubectl
//! kustomize (Kustomize v5.5) step by step so its output agrees with kubectl's, and it refuses
//! what Warden must never do for an untrusted repo (remote bases, exec plugins, Helm).
//!
//! Entry point: [`build`] takes a file tree and a directory and returns the rendered objects
//! with their origins, plus every file the build read.

mod build;
pub mod config;
mod crds;
pub mod fieldspec;
pub mod fs;
pub mod generators;
pub mod jsonpatch;
pub mod kustomization;
mod nameref;
pub mod openapi;
mod openapi_field;
pub mod replacements;
pub mod resource;
pub mod selector;
pub mod smp;
mod transform;
pub mod vars;

pub use build::{BuildOptions, Rendered, build, build_reading};

use crate::manifest::Gvk;

/// A build failure: one clear message naming the file and field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg}")]
pub struct Error {
    pub msg: String,
}

impl Error {
    pub fn new(msg: impl Into<String>) -> Error {
        Error { msg: msg.into() }
    }

    /// Prefix the message with where it happened.
    pub fn context(self, ctx: impl std::fmt::Display) -> Error {
        Error {
            msg: format!("{ctx}: {}", self.msg),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// kustomize's effective namespace: cluster-scoped kinds have none, empty means `default`.
pub fn effective_namespace<'a>(gvk: &Gvk, ns: &'a str) -> &'a str {
    if resource::is_cluster_scoped_kind(gvk) {
        "_non_namespaceable_"
    } else if ns.is_empty() {
        "default"
    } else {
        ns
    }
}

/// Does `sel` (empty parts match anything) select `gvk`?
pub fn gvk_selected(gvk: &Gvk, sel: &Gvk) -> bool {
    (sel.group.is_empty() || sel.group == gvk.group)
        && (sel.version.is_empty() || sel.version == gvk.version)
        && (sel.kind.is_empty() || sel.kind == gvk.kind)
}
