//! What Warden says: `warden check` output (text, JSON, SARIF), `warden diff` output (terminal
//! text, JSON), the check-run markdown, the sticky PR comment and check-run annotations.
//! Pure: values in, bytes out.

pub mod annotations;
pub mod check;
pub mod diff;
pub mod markdown;

/// ANSI colors for terminal output, or none.
struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}
