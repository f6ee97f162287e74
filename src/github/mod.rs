//! GitHub at the edge: typed ids, webhook verification and events, tarballs (pure), and the
//! App's authentication, REST client and the pipeline's forge over it.

pub mod auth;
pub mod client;
pub mod forge;
pub mod ids;
mod merge;
pub mod tarball;
pub mod webhook;
