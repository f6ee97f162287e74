//! Auto-merge and promotion. [`eligibility`] decides, purely, whether a pull request may be
//! merged without a person, naming every condition that fails and what would fix it.

pub mod eligibility;
