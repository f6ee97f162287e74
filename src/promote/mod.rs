//! Auto-merge and promotion.
//!
//! - [`eligibility`] decides, purely, whether a pull request may be merged without a person,
//!   naming every condition that fails and what would fix it.
//! - [`verdict`] writes the decision into the `warden` check run (merged, queued, or each failed
//!   condition with its fix).

pub mod eligibility;
pub mod verdict;
