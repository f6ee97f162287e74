//! Arbitrary bytes as a commit status description (anyone with `statuses:write` writes them):
//! parsing and verifying must never panic, and never accept what the key did not sign. The
//! stable stand-ins are the proptests in src/signal/tests.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::signal::{Approval, Claim, Keyring, Signer};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Approval::parse(text);
    let signer = Signer::from_seed(&[7u8; 32]);
    let claim = Claim::new("acme/gitops", 1, &"a".repeat(40), "staging").expect("claim");
    if let Ok(a) = Keyring::from(&signer).verify(&claim, text, u64::MAX / 2, None) {
        // Only Warden's own signature of this claim verifies; Ed25519 signing is deterministic.
        assert_eq!(signer.approve(&claim, a.timestamp).description(), text);
    }
    let _ = Keyring::from_pem(text, "fuzz");
});
