//! Arbitrary bytes as a commit tarball from codeload: unpacking must never panic, never keep a
//! path outside the tree, and stay within its limits. The stable stand-in is the proptest
//! `mutated_bytes_never_panic` in src/github/tarball.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use warden::github::tarball::{TarballLimits, unpack};

fuzz_target!(|data: &[u8]| {
    let limits = TarballLimits {
        max_uncompressed: 16 << 20,
        max_file: 4 << 20,
        max_files: 10_000,
        ..TarballLimits::default()
    };
    if let Ok(s) = unpack(data, "fuzz", Path::new("/repo"), &limits) {
        for f in s.files() {
            assert!(!f.starts_with('/') && !f.split('/').any(|p| p == ".." || p.is_empty()), "{f}");
        }
    }
});
