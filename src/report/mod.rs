//! What Warden says: `warden check` output (text, JSON, SARIF); later the check-run markdown,
//! the sticky comment and annotations. Pure: values in, bytes out.

pub mod check;
