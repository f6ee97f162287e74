//! Arbitrary bytes as a webhook delivery: the first line is the `X-GitHub-Event` header, the
//! rest the body. Typing a delivery must never panic, and a typed event must answer its helpers
//! and map to a job or none. `tests/webhooks.rs` runs mutated real payloads on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::app::intake::job_for;
use warden::github::webhook;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let event = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or(&[]);
    let _ = webhook::verify_signature(b"secret", body, Some(&String::from_utf8_lossy(body)));
    if let Ok(e) = webhook::parse(&event, body) {
        let _ = e.installation();
        let _ = e.repo();
        let _ = job_for(&e, &event, "delivery", body);
    }
});
