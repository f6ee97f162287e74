//! Deploy approvals: the statement Warden signs for each environment of a deploy-branch commit
//! that passed its gates, how it travels in a commit status's description, and how the agent in
//! the cluster checks it. Shared by `warden serve` (signs) and `warden-agent` (verifies). Pure:
//! the time is passed in, keys are passed in.
//!
//! The statement binds the repository (owner/name and numeric id), the full commit SHA, the
//! environment, the key id and the signing time. The agent rebuilds it from what *it* knows (its
//! configured repository and environment, the commit it is looking at), so an approval copied to
//! another commit, repository or environment does not verify. The format, with test vectors, is
//! in docs/approvals.md.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The first line of every statement: the format and its version.
pub const STATEMENT_HEADER: &str = "warden-approval-v1";
/// The first word of an approval's status description.
pub const DESCRIPTION_TAG: &str = "warden1";
/// GitHub's limit on a commit status's description.
pub const MAX_DESCRIPTION: usize = 140;
/// How far in the future a signing time may lie (clock skew between Warden and the agent).
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The status context of an environment's approval: `warden/approve/<environment>`.
pub fn approve_context(environment: &str) -> String {
    format!("warden/approve/{environment}")
}

/// The status context the agent reports a deployment under: `warden/deployed/<environment>`.
pub fn deployed_context(environment: &str) -> String {
    format!("warden/deployed/{environment}")
}

/// Why an approval, a key or a claim was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error("{0}")]
    Claim(String),
    #[error("{label}: {message}")]
    Key { label: String, message: String },
}

/// A key id: the first 8 bytes of the SHA-256 of the raw 32-byte public key, written as 16
/// lowercase hex digits. It tells the agent which of its public keys to verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    pub fn of(key: &VerifyingKey) -> KeyId {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// From its 16 lowercase hex digits.
    pub fn parse(s: &str) -> Option<KeyId> {
        if s.len() != 16 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut id = [0u8; 8];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(KeyId(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// What an approval is about: one environment of one commit of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    repository: String,
    repository_id: u64,
    commit: String,
    environment: String,
}

impl Claim {
    /// `repository` is `owner/name` (compared without case, as GitHub does: it is lowercased);
    /// `commit` the full SHA (40 or 64 lowercase hex digits); `environment` `[a-z0-9-]`, at most
    /// 63 characters. Anything else is refused, so no two claims share their canonical bytes.
    pub fn new(
        repository: &str,
        repository_id: u64,
        commit: &str,
        environment: &str,
    ) -> Result<Claim, SignalError> {
        let part_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        match repository.split_once('/') {
            Some((o, n)) if part_ok(o) && part_ok(n) => {}
            _ => {
                return Err(SignalError::Claim(format!(
                    "{:?} is not a repository name (owner/name)",
                    cut(repository)
                )));
            }
        }
        if !(commit.len() == 40 || commit.len() == 64)
            || !commit
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(SignalError::Claim(format!(
                "{:?} is not a full commit SHA",
                cut(commit)
            )));
        }
        if environment.is_empty()
            || environment.len() > 63
            || !environment
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        {
            return Err(SignalError::Claim(format!(
                "{:?} is not an environment name ([a-z0-9-], at most 63 characters)",
                cut(environment)
            )));
        }
        Ok(Claim {
            repository: repository.to_ascii_lowercase(),
            repository_id,
            commit: commit.to_string(),
            environment: environment.to_string(),
        })
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn commit(&self) -> &str {
        &self.commit
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The bytes that are signed: seven `name: value` lines, each ending in `\n`.
    pub fn statement(&self, key_id: KeyId, timestamp: u64) -> Vec<u8> {
        format!(
            "{STATEMENT_HEADER}\nrepository: {}\nrepository-id: {}\ncommit: {}\nenvironment: {}\n\
             key-id: {key_id}\ntimestamp: {timestamp}\n",
            self.repository, self.repository_id, self.commit, self.environment
        )
        .into_bytes()
    }
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

/// A signed approval, as carried in a status description:
/// `warden1 kid=<16 hex> ts=<unix seconds> sig=<86 base64url characters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub key_id: KeyId,
    pub timestamp: u64,
    pub signature: [u8; 64],
}

impl Approval {
    /// The status description (at most 133 characters until the year 2286).
    pub fn description(&self) -> String {
        format!(
            "{DESCRIPTION_TAG} kid={} ts={} sig={}",
            self.key_id,
            self.timestamp,
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    /// Read a description written by [`Approval::description`]; anything else (extra spaces,
    /// other fields, padding, leading zeros) is not an approval.
    pub fn parse(description: &str) -> Result<Approval, Refusal> {
        let malformed = |why: &str| Refusal::Malformed(why.to_string());
        if description.len() > MAX_DESCRIPTION {
            return Err(malformed("longer than a status description can be"));
        }
        let mut words = description.split(' ');
        if words.next() != Some(DESCRIPTION_TAG) {
            return Err(malformed("not a Warden approval (no warden1 tag)"));
        }
        let mut field = |name: &str| -> Result<&str, Refusal> {
            words
                .next()
                .and_then(|w| w.strip_prefix(name))
                .and_then(|w| w.strip_prefix('='))
                .ok_or_else(|| Refusal::Malformed(format!("no {name}= field where expected")))
        };
        let kid = field("kid")?;
        let ts = field("ts")?;
        let sig = field("sig")?;
        if words.next().is_some() {
            return Err(malformed("text after the signature"));
        }
        let key_id = KeyId::parse(kid).ok_or_else(|| malformed("kid is not 16 hex digits"))?;
        let ts_ok = !ts.is_empty()
            && ts.len() <= 19
            && ts.bytes().all(|b| b.is_ascii_digit())
            && (ts == "0" || !ts.starts_with('0'));
        let timestamp: u64 = ts
            .parse()
            .ok()
            .filter(|_| ts_ok)
            .ok_or_else(|| malformed("ts is not a number of seconds"))?;
        let raw = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| malformed("sig is not base64url"))?;
        let signature: [u8; 64] = raw
            .try_into()
            .map_err(|_| malformed("sig is not 64 bytes"))?;
        // One encoding per signature: the decoder accepts non-zero trailing bits.
        if URL_SAFE_NO_PAD.encode(signature) != sig {
            return Err(malformed("sig is not in canonical base64url"));
        }
        Ok(Approval {
            key_id,
            timestamp,
            signature,
        })
    }
}

/// Why the agent did not accept an approval. Each leaves the cluster as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("malformed approval: {0}")]
    Malformed(String),
    #[error("signed by key {0}, which is not one of the agent's public keys")]
    UnknownKey(KeyId),
    #[error(
        "the signature does not match this repository, commit and environment (forged, or \
         copied from another commit, repository or environment)"
    )]
    BadSignature,
    #[error("signed {age_secs} s ago, more than the {max_age_secs} s an approval is good for")]
    Stale { age_secs: u64, max_age_secs: u64 },
    #[error("signed {ahead_secs} s in the future")]
    FromFuture { ahead_secs: u64 },
    #[error(
        "approved, but not ahead of the deployed commit {deployed} (a replayed approval of an \
         older commit; roll back by committing a revert)"
    )]
    NotAhead { deployed: String },
}

impl Refusal {
    /// A short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::UnknownKey(_) => "unknown-key",
            Refusal::BadSignature => "bad-signature",
            Refusal::Stale { .. } => "stale",
            Refusal::FromFuture { .. } => "future",
            Refusal::NotAhead { .. } => "not-ahead",
        }
    }
}

/// Warden's signing key.
pub struct Signer {
    key: SigningKey,
    id: KeyId,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("key_id", &self.id).finish()
    }
}

impl Signer {
    /// From 32 random bytes (`warden keygen` reads them from the operating system).
    pub fn from_seed(seed: &[u8; 32]) -> Signer {
        let key = SigningKey::from_bytes(seed);
        let id = KeyId::of(&key.verifying_key());
        Signer { key, id }
    }

    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as `warden keygen` writes it. The error
    /// names `label` (the file) and never repeats the key.
    pub fn from_pem(pem: &SecretString, label: &str) -> Result<Signer, SignalError> {
        let key = SigningKey::from_pkcs8_pem(pem.expose_secret().trim()).map_err(|_| {
            SignalError::Key {
                label: label.to_string(),
                message: "not an Ed25519 private key in PKCS#8 PEM (BEGIN PRIVATE KEY); make one \
                          with `warden keygen`"
                    .into(),
            }
        })?;
        let id = KeyId::of(&key.verifying_key());
        Ok(Signer { key, id })
    }

    /// The private key as PKCS#8 v1 PEM (the seed alone, as OpenSSL writes and reads it).
    pub fn private_pem(&self) -> SecretString {
        let bytes = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        let pem = bytes
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key always encodes");
        SecretString::from(pem.as_str())
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), for the agent.
    pub fn public_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 key always encodes")
    }

    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Sign `claim` at `timestamp` (unix seconds).
    pub fn approve(&self, claim: &Claim, timestamp: u64) -> Approval {
        let signature = self.key.sign(&claim.statement(self.id, timestamp));
        Approval {
            key_id: self.id,
            timestamp,
            signature: signature.to_bytes(),
        }
    }
}

/// The public keys an agent accepts, by key id (several during a key rotation).
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: BTreeMap<KeyId, VerifyingKey>,
}

impl Keyring {
    /// Every `-----BEGIN PUBLIC KEY-----` block of `text` (text between blocks, such as
    /// comments, is ignored). At least one key; errors name `label` and the block.
    pub fn from_pem(text: &str, label: &str) -> Result<Keyring, SignalError> {
        const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
        const END: &str = "-----END PUBLIC KEY-----";
        let err = |message: String| SignalError::Key {
            label: label.to_string(),
            message,
        };
        if text.contains("PRIVATE KEY-----") {
            return Err(err(
                "holds a private key; the agent needs only the public key (`warden keygen` \
                 prints it)"
                    .into(),
            ));
        }
        let mut ring = Keyring::default();
        let mut rest = text;
        let mut n = 0;
        while let Some(start) = rest.find(BEGIN) {
            n += 1;
            let after = &rest[start..];
            let end = after
                .find(END)
                .ok_or_else(|| err(format!("public key {n} has no END line")))?;
            let block = &after[..end + END.len()];
            let key = VerifyingKey::from_public_key_pem(block)
                .map_err(|_| err(format!("public key {n} is not an Ed25519 public key")))?;
            ring.keys.insert(KeyId::of(&key), key);
            rest = &after[end + END.len()..];
        }
        if ring.keys.is_empty() {
            return Err(err(
                "no public key (-----BEGIN PUBLIC KEY-----) in it".into()
            ));
        }
        Ok(ring)
    }

    /// One key.
    pub fn single(key: VerifyingKey) -> Keyring {
        let mut ring = Keyring::default();
        ring.keys.insert(KeyId::of(&key), key);
        ring
    }

    /// The ids of the keys, in order.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.keys.keys().copied().collect()
    }

    /// Check a status description as an approval of `claim`, at `now` (unix seconds). An
    /// approval older than `max_age_secs` (when set) is stale.
    pub fn verify(
        &self,
        claim: &Claim,
        description: &str,
        now: u64,
        max_age_secs: Option<u64>,
    ) -> Result<Approval, Refusal> {
        let approval = Approval::parse(description)?;
        let key = self
            .keys
            .get(&approval.key_id)
            .ok_or(Refusal::UnknownKey(approval.key_id))?;
        let signature = Signature::from_bytes(&approval.signature);
        key.verify_strict(
            &claim.statement(approval.key_id, approval.timestamp),
            &signature,
        )
        .map_err(|_| Refusal::BadSignature)?;
        if approval.timestamp > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(Refusal::FromFuture {
                ahead_secs: approval.timestamp - now,
            });
        }
        if let Some(max) = max_age_secs {
            let age = now.saturating_sub(approval.timestamp);
            if age > max {
                return Err(Refusal::Stale {
                    age_secs: age,
                    max_age_secs: max,
                });
            }
        }
        Ok(approval)
    }
}

impl From<&Signer> for Keyring {
    fn from(s: &Signer) -> Keyring {
        Keyring::single(s.key.verifying_key())
    }
}

#[cfg(test)]
mod tests;
