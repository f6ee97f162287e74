//! Auto-merge and promotion.
//!
//! - [`eligibility`] decides, purely, whether a pull request may be merged without a person,
//!   naming every condition that fails and what would fix it.
//! - [`plan`] computes an environment promotion (pure): the image versions of the source
//!   environment's targets brought into the matching targets of the destination, as edits of
//!   the destination overlays' `images:` entries, checked by rendering the result. Every image
//!   that cannot be promoted automatically is a listed problem naming the file to edit.
//! - [`edit`] is the surgical editor behind [`plan`]: only the bytes of `newName`, `newTag` and
//!   `digest` values change; comments, key order and quoting stay as they were.
//! - [`verdict`] writes the decision into the `warden` check run (merged, queued, or each failed
//!   condition with its fix).
//!
//! `warden promote` (src/main.rs) runs a promotion on a local checkout; see docs/promote.md.

pub mod edit;
pub mod eligibility;
pub mod plan;
pub mod verdict;
