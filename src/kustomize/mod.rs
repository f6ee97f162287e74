//! Native Kustomize engine: load → accumulate → transform → emit.

pub mod fieldspec;
pub mod generators;
pub mod openapi;
pub mod replacements;
pub mod resource;
pub mod selector;
pub mod smp;
pub mod vars;
