//! What Warden says: `warden check` output (text, JSON, SARIF), `warden diff` output (terminal
//! text, JSON), the check-run markdown, the sticky PR comment and check-run annotations.
//! Pure: values in, bytes out.

pub mod annotations;
pub mod check;
pub mod diff;
pub mod markdown;
