use super::*;
use proptest::prelude::*;

/// RFC 8032's first Ed25519 test key (section 7.1, TEST 1).
const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n\
-----END PUBLIC KEY-----\n";
const PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
-----END PRIVATE KEY-----\n";
const KEY_ID: &str = "21fe31dfa154a261";
const COMMIT: &str = "8f2a6c1d9e0b4a7f3c5d2e1b0a9f8e7d6c5b4a39";
const TS: u64 = 1_765_090_000;
// Signatures made by `openssl pkeyutl -sign -rawin` over the statement bytes (docs/approvals.md),
// so the vectors do not come from the code they test.
const SIG_PRODUCTION: &str =
    "oK2Yh--fN8LKW8L8hUauuJ23aY-9TRt0faHUwi_lylkqdfwzHuaRFI10Q1SnkojqH5ZhgsMjJfX0J3V0-e1ODQ";
const SIG_STAGING: &str =
    "ARDAFAbHNaSIScKQ_sXzt3pbFtXiPYllwPmv-HxDkEe36TgnGaN9dCzQyKyfia0YxeIBFmh1WTg-Bh9Zx_3vAQ";

fn seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in s.iter_mut().enumerate() {
        *b = u8::from_str_radix(&SEED_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    s
}

fn claim(env: &str) -> Claim {
    Claim::new("acme/config", 123_456, COMMIT, env).unwrap()
}

#[test]
fn vectors_match_openssl() {
    let signer = Signer::from_seed(&seed());
    assert_eq!(signer.key_id().to_string(), KEY_ID);
    assert_eq!(signer.public_pem(), PUBLIC_PEM);
    assert_eq!(signer.private_pem().expose_secret(), PRIVATE_PEM);
    for (env, sig) in [("production", SIG_PRODUCTION), ("staging", SIG_STAGING)] {
        let approval = signer.approve(&claim(env), TS);
        let want = format!("warden1 kid={KEY_ID} ts={TS} sig={sig}");
        assert_eq!(approval.description(), want);
        assert!(want.len() <= MAX_DESCRIPTION, "{}", want.len());
        let ring = Keyring::from_pem(PUBLIC_PEM, "keys.pem").unwrap();
        assert_eq!(
            ring.verify(&claim(env), &want, TS + 60, Some(3600)),
            Ok(approval)
        );
    }
}

#[test]
fn statement_bytes_are_the_documented_ones() {
    let key_id = KeyId::parse(KEY_ID).unwrap();
    let text = String::from_utf8(claim("production").statement(key_id, TS)).unwrap();
    assert_eq!(
        text,
        "warden-approval-v1\nrepository: acme/config\nrepository-id: 123456\n\
         commit: 8f2a6c1d9e0b4a7f3c5d2e1b0a9f8e7d6c5b4a39\nenvironment: production\n\
         key-id: 21fe31dfa154a261\ntimestamp: 1765090000\n"
    );
    // The repository is compared without case.
    let upper = Claim::new("Acme/Config", 123_456, COMMIT, "production").unwrap();
    assert_eq!(
        upper.statement(key_id, TS),
        claim("production").statement(key_id, TS)
    );
}

#[test]
fn private_key_round_trips_through_pem() {
    let signer = Signer::from_pem(&SecretString::from(PRIVATE_PEM), "key.pem").unwrap();
    assert_eq!(signer.key_id().to_string(), KEY_ID);
    let bad = Signer::from_pem(&SecretString::from(PUBLIC_PEM), "key.pem").unwrap_err();
    let msg = bad.to_string();
    assert!(
        msg.starts_with("key.pem: not an Ed25519 private key"),
        "{msg}"
    );
    assert!(!msg.contains("MCow"), "{msg}");
}

#[test]
fn keyring_holds_several_keys_and_picks_by_id() {
    let old = Signer::from_seed(&[7u8; 32]);
    let new = Signer::from_seed(&seed());
    let text = format!(
        "# rotated 2026-12\n{}\n# the old key, until every commit is re-approved\n{}",
        new.public_pem(),
        old.public_pem()
    );
    let ring = Keyring::from_pem(&text, "keys.pem").unwrap();
    assert_eq!(ring.key_ids().len(), 2);
    for s in [&old, &new] {
        let d = s.approve(&claim("staging"), TS).description();
        assert!(ring.verify(&claim("staging"), &d, TS, None).is_ok());
    }
    let stranger = Signer::from_seed(&[9u8; 32]);
    let d = stranger.approve(&claim("staging"), TS).description();
    assert_eq!(
        ring.verify(&claim("staging"), &d, TS, None),
        Err(Refusal::UnknownKey(stranger.key_id()))
    );
}

#[test]
fn keyring_errors_name_the_file_and_block() {
    let e = Keyring::from_pem("nothing here", "keys.pem").unwrap_err();
    assert_eq!(
        e.to_string(),
        "keys.pem: no public key (-----BEGIN PUBLIC KEY-----) in it"
    );
    let two = format!("{PUBLIC_PEM}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    let e = Keyring::from_pem(&two, "keys.pem").unwrap_err();
    assert_eq!(
        e.to_string(),
        "keys.pem: public key 2 is not an Ed25519 public key"
    );
    let e = Keyring::from_pem(PRIVATE_PEM, "keys.pem").unwrap_err();
    assert!(e.to_string().contains("holds a private key"), "{e}");
    let e = Keyring::from_pem("-----BEGIN PUBLIC KEY-----\nMCow", "k").unwrap_err();
    assert_eq!(e.to_string(), "k: public key 1 has no END line");
}

#[test]
fn copied_approvals_do_not_verify() {
    let signer = Signer::from_seed(&seed());
    let ring = Keyring::from(&signer);
    let d = signer.approve(&claim("staging"), TS).description();
    let other_commit = Claim::new("acme/config", 123_456, &"a".repeat(40), "staging").unwrap();
    let other_repo = Claim::new("acme/other", 123_456, COMMIT, "staging").unwrap();
    let recreated = Claim::new("acme/config", 999, COMMIT, "staging").unwrap();
    for c in [&other_commit, &other_repo, &recreated, &claim("production")] {
        assert_eq!(ring.verify(c, &d, TS, None), Err(Refusal::BadSignature));
    }
}

#[test]
fn stale_and_future_approvals_are_refused() {
    let signer = Signer::from_seed(&seed());
    let ring = Keyring::from(&signer);
    let d = signer.approve(&claim("staging"), TS).description();
    assert_eq!(
        ring.verify(&claim("staging"), &d, TS + 100, Some(99)),
        Err(Refusal::Stale {
            age_secs: 100,
            max_age_secs: 99
        })
    );
    assert!(
        ring.verify(&claim("staging"), &d, TS + 99, Some(99))
            .is_ok()
    );
    assert!(
        ring.verify(&claim("staging"), &d, TS - MAX_CLOCK_SKEW_SECS, None)
            .is_ok()
    );
    assert_eq!(
        ring.verify(&claim("staging"), &d, TS - MAX_CLOCK_SKEW_SECS - 1, None),
        Err(Refusal::FromFuture {
            ahead_secs: MAX_CLOCK_SKEW_SECS + 1
        })
    );
}

#[test]
fn malformed_descriptions_are_refused_with_a_reason() {
    let signer = Signer::from_seed(&seed());
    let good = signer.approve(&claim("staging"), TS).description();
    let cases = [
        ("", "no warden1 tag"),
        ("Deployed by Warden", "no warden1 tag"),
        ("warden1", "no kid= field"),
        (
            "warden1 kid=21fe31dfa154a26 ts=1 sig=x",
            "kid is not 16 hex digits",
        ),
        (
            "warden1 kid=21FE31DFA154A261 ts=1 sig=x",
            "kid is not 16 hex digits",
        ),
        (
            "warden1 kid=21fe31dfa154a261 ts=01 sig=x",
            "ts is not a number",
        ),
        (
            "warden1 kid=21fe31dfa154a261 ts=-1 sig=x",
            "ts is not a number",
        ),
        (
            "warden1 kid=21fe31dfa154a261 ts=1 sig=***",
            "sig is not base64url",
        ),
        (
            "warden1 kid=21fe31dfa154a261 ts=1 sig=AAAA",
            "sig is not 64 bytes",
        ),
        (
            "warden1  kid=21fe31dfa154a261 ts=1 sig=AAAA",
            "no kid= field",
        ),
    ];
    for (text, why) in cases {
        match Approval::parse(text) {
            Err(Refusal::Malformed(m)) => assert!(m.contains(why), "{text:?}: {m}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    let trailing = format!("{good} extra");
    assert!(matches!(
        Approval::parse(&trailing),
        Err(Refusal::Malformed(_))
    ));
    // A signature with non-zero padding bits decodes to the same bytes; only one spelling counts.
    let mut tweaked = good.clone();
    let last = tweaked.pop().unwrap();
    let idx = URL_SAFE_NO_PAD_ALPHABET.find(last).unwrap();
    tweaked.push(URL_SAFE_NO_PAD_ALPHABET.as_bytes()[idx ^ 1] as char);
    assert!(Approval::parse(&tweaked).is_err(), "{tweaked}");
}

const URL_SAFE_NO_PAD_ALPHABET: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[test]
fn claims_refuse_values_that_could_blur_the_statement() {
    for (repo, sha, env) in [
        ("acme", COMMIT, "staging"),
        ("acme/con fig", COMMIT, "staging"),
        ("acme/config\nenvironment: production", COMMIT, "staging"),
        ("acme/config", "8f2a6c1", "staging"),
        ("acme/config", &COMMIT.to_uppercase(), "staging"),
        ("acme/config", COMMIT, "Staging"),
        ("acme/config", COMMIT, "staging\nkey-id: x"),
        ("acme/config", COMMIT, ""),
    ] {
        assert!(
            Claim::new(repo, 1, sha, env).is_err(),
            "{repo:?} {sha:?} {env:?}"
        );
    }
    assert!(Claim::new("acme/config", 1, &"a".repeat(64), "prod-eu1").is_ok());
}

fn arb_claim() -> impl Strategy<Value = (String, u64, String, String)> {
    (
        "[a-z0-9][a-z0-9-]{0,10}/[a-z0-9._-]{1,12}",
        any::<u64>(),
        "[0-9a-f]{40}",
        "[a-z0-9-]{1,20}",
    )
}

proptest! {
    #[test]
    fn sign_then_verify_round_trips(
        (repo, id, sha, env) in arb_claim(),
        seed in any::<[u8; 32]>(),
        ts in 0u64..10_000_000_000,
    ) {
        let signer = Signer::from_seed(&seed);
        let c = Claim::new(&repo, id, &sha, &env).unwrap();
        let d = signer.approve(&c, ts).description();
        prop_assert!(d.len() <= MAX_DESCRIPTION);
        prop_assert!(Keyring::from(&signer).verify(&c, &d, ts, Some(0)).is_ok());
    }

    /// Any change to any field of the statement, or another key, fails verification.
    #[test]
    fn any_changed_field_or_key_fails(
        (repo, id, sha, env) in arb_claim(),
        (repo2, id2, sha2, env2) in arb_claim(),
        field in 0usize..6,
        seed in any::<[u8; 32]>(),
        other_seed in any::<[u8; 32]>(),
        ts in 0u64..5_000_000_000,
        ts2 in 0u64..5_000_000_000,
    ) {
        let signer = Signer::from_seed(&seed);
        let ring = Keyring::from(&signer);
        let c = Claim::new(&repo, id, &sha, &env).unwrap();
        let approval = signer.approve(&c, ts);
        let now = ts.max(ts2);
        let changed = match field {
            0 => Claim::new(&repo2, id, &sha, &env).unwrap(),
            1 => Claim::new(&repo, id2, &sha, &env).unwrap(),
            2 => Claim::new(&repo, id, &sha2, &env).unwrap(),
            3 => Claim::new(&repo, id, &sha, &env2).unwrap(),
            _ => c.clone(),
        };
        match field {
            4 => {
                // The signing time changed in the description.
                prop_assume!(ts2 != ts);
                let d = Approval { timestamp: ts2, ..approval.clone() }.description();
                prop_assert_eq!(ring.verify(&c, &d, now, None), Err(Refusal::BadSignature));
            }
            5 => {
                // Another key, under the right key id or its own.
                prop_assume!(other_seed != seed);
                let other = Signer::from_seed(&other_seed);
                let forged = other.approve(&c, ts);
                let d = Approval { key_id: signer.key_id(), ..forged.clone() }.description();
                prop_assert_eq!(ring.verify(&c, &d, now, None), Err(Refusal::BadSignature));
                prop_assert_eq!(
                    ring.verify(&c, &forged.description(), now, None),
                    Err(Refusal::UnknownKey(other.key_id()))
                );
            }
            _ => {
                prop_assume!(changed != c);
                let d = approval.description();
                prop_assert_eq!(ring.verify(&changed, &d, now, None), Err(Refusal::BadSignature));
            }
        }
    }

    /// Any text parses or is refused; it never panics.
    #[test]
    fn parse_never_panics(text in ".{0,160}") {
        let _ = Approval::parse(&text);
    }

    /// Flipping one character of a valid description never yields a verified approval.
    #[test]
    fn one_changed_character_fails(seed in any::<[u8; 32]>(), pos in 0usize..140, c in any::<char>()) {
        let signer = Signer::from_seed(&seed);
        let cl = claim("staging");
        let d = signer.approve(&cl, TS).description();
        let pos = pos % d.len();
        let mut chars: Vec<char> = d.chars().collect();
        prop_assume!(chars[pos] != c);
        chars[pos] = c;
        let changed: String = chars.into_iter().collect();
        prop_assert!(Keyring::from(&signer).verify(&cl, &changed, TS, None).is_err());
    }
}
