//! Arbitrary bytes (read as lossy UTF-8) through the YAML reader with default limits; every
//! document that parses must also print, and printing must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::yaml::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for dup in [false, true] {
        let limits = Limits {
            allow_duplicate_keys: dup,
            ..Limits::default()
        };
        if let Ok(docs) = yaml::parse_stream(&text, &limits) {
            for d in &docs {
                let _ = yaml::to_yaml(&d.value);
            }
        }
    }
});
