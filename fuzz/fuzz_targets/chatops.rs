//! Arbitrary bytes as a pull-request comment (anyone who can comment writes them): finding
//! commands must never panic, never yield more than the limit, and an edit that changes nothing
//! adds no command. The stable stand-ins are the proptests in src/chatops/parse_tests.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::chatops::parse::{DEFAULT_PREFIX, MAX_COMMANDS, added, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let p = parse(body, DEFAULT_PREFIX);
    assert!(p.commands.len() <= MAX_COMMANDS);
    assert!(p.commands.is_empty() || p.problems.is_empty());
    for problem in &p.problems {
        let _ = problem.to_string();
    }
    assert!(added(body, body, DEFAULT_PREFIX).commands.is_empty());
    // An edit from the first half of the text to all of it.
    let mut mid = body.len() / 2;
    while !body.is_char_boundary(mid) {
        mid -= 1;
    }
    let _ = added(&body[..mid], body, DEFAULT_PREFIX);
});
