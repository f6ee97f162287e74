//! Secrets committed to the repo: plaintext `Secret` objects, and high-confidence credentials
//! (private keys, cloud and SaaS tokens) in any string value of any object.
//!
//! Findings name the kind of credential and the field, never the value.

use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;
use serde_json::Value;

use super::{Finding, Level, Rule, Severity, Subject};
use crate::manifest::{Object, Seg};

/// The rules this module emits.
pub const RULES: &[Rule] = &[
    Rule {
        id: "secret-plaintext",
        default: Level::Error,
        summary: "A Secret with plaintext data is committed to the repo",
        help: "Secret `data` is only base64-encoded, not encrypted: anyone who can read the repo \
               (or its history, or a fork) can read the values. Encrypt the file with SOPS, or \
               commit a SealedSecret, or reference the value from a secret manager with an \
               ExternalSecret. kustomize secretGenerator inputs are plaintext files in git too. \
               Rotate any value that was already committed.",
    },
    Rule {
        id: "secret-leak",
        default: Level::Error,
        summary: "A credential (private key, cloud or SaaS token) appears in a value",
        help: "A high-confidence credential pattern (PEM private key, AWS access key id, GitHub, \
               Slack, Google or Stripe key, service-account JSON) was found in a string value, \
               base64-decoded Secret data included. Remove it, rotate it (it stays in git \
               history), and load it at runtime from an encrypted or external secret.",
    },
];

/// A credential detector: what it finds and how.
struct Detector {
    /// Name shown to users: the kind of credential and its well-known marker.
    name: &'static str,
    re: Regex,
    /// Match only where the field's key (or env var name) suggests a credential.
    needs_context: bool,
    /// Reject matches ending in this (documented example values).
    reject_suffix: Option<&'static str>,
}

/// Cheap first pass: every detector's match contains one of these markers.
static PREFILTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|AIza|k_live_|eyJ")
        .expect("prefilter regex")
});

static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    let d = |name, re: &str, needs_context, reject_suffix| Detector {
        name,
        re: Regex::new(re).expect("detector regex"),
        needs_context,
        reject_suffix,
    };
    vec![
        d(
            "Google service-account private key (JSON \"private_key\")",
            r#""private_key"\s*:\s*"-----BEGIN [A-Z ]*PRIVATE KEY-----"#,
            false,
            None,
        ),
        d(
            "PEM private key (-----BEGIN … PRIVATE KEY-----)",
            r"-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,300}?[A-Za-z0-9+/]{40}",
            false,
            None,
        ),
        d(
            "AWS access key id (AKIA…/ASIA…)",
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
            false,
            Some("EXAMPLE"),
        ),
        d(
            "GitHub token (ghp_/gho_/ghu_/ghs_/ghr_…)",
            r"\bgh[pousr]_[A-Za-z0-9]{36}\b",
            false,
            None,
        ),
        d(
            "GitHub fine-grained token (github_pat_…)",
            r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
            false,
            None,
        ),
        d(
            "Slack token (xox?-…)",
            r"\bxox[abprs]-[0-9]{6,}-[0-9A-Za-z-]{10,}",
            false,
            None,
        ),
        d(
            "Google API key (AIza…)",
            r"(?:^|[^0-9A-Za-z_-])AIza[0-9A-Za-z_-]{35}(?:$|[^0-9A-Za-z_-])",
            false,
            None,
        ),
        d(
            "Stripe live key (sk_live_/rk_live_…)",
            r"\b[sr]k_live_[0-9A-Za-z]{24,}\b",
            false,
            None,
        ),
        d(
            "JSON Web Token in a credential field",
            r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}",
            true,
            None,
        ),
    ]
});

/// Words in a key (or env var name) that make a JWT-looking value a credential.
fn credential_context(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "auth",
        "jwt",
        "bearer",
        "credential",
        "apikey",
        "api_key",
        "api-key",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// The kinds of credential found in `text` (each at most once, in detector order).
/// `context` is the key (or env var name) the value is stored under.
pub fn scan(text: &str, context: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if text.len() < 20 || !PREFILTER.is_match(text) {
        return found;
    }
    let in_context = credential_context(context) || text.contains("Bearer ");
    for d in DETECTORS.iter() {
        if d.needs_context && !in_context {
            continue;
        }
        let hit = d.re.find_iter(text).any(|m| {
            d.reject_suffix
                .is_none_or(|suffix| !m.as_str().trim_end().ends_with(suffix))
        });
        if hit {
            // A service-account private key is also a PEM key: name it once.
            if d.name.starts_with("PEM") && found.iter().any(|f: &&str| f.starts_with("Google")) {
                continue;
            }
            found.push(d.name);
        }
    }
    found
}

fn sev(rule: &str) -> Severity {
    super::default_severity(RULES, rule)
}

/// A path under construction, kept on the stack while walking.
#[derive(Clone, Copy)]
enum Frame<'a> {
    Root,
    Key(&'a str, &'a Frame<'a>),
    Index(usize, &'a Frame<'a>),
}

impl Frame<'_> {
    fn to_path(self) -> Vec<Seg> {
        let mut segs = Vec::new();
        let mut cur = self;
        loop {
            match cur {
                Frame::Root => break,
                Frame::Key(k, up) => {
                    segs.push(Seg::Key(k.to_string()));
                    cur = *up;
                }
                Frame::Index(i, up) => {
                    segs.push(Seg::Index(i));
                    cur = *up;
                }
            }
        }
        segs.reverse();
        segs
    }
}

fn is_core_secret(obj: &Object) -> bool {
    obj.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && obj.get("kind").and_then(Value::as_str) == Some("Secret")
}

fn is_sops(obj: &Object) -> bool {
    obj.get("sops").is_some_and(Value::is_object)
}

fn is_encrypted(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with("ENC["))
}

/// Run the secret rules on one object.
pub fn check(index: usize, subject: &Subject<'_>, out: &mut Vec<Finding>) {
    let obj = subject.obj;
    let secret = is_core_secret(obj);
    if secret {
        plaintext(index, subject, out);
    }
    let sops = is_sops(obj);
    let root = Frame::Root;
    for (k, v) in obj {
        if sops && k == "sops" {
            continue;
        }
        let frame = Frame::Key(k, &root);
        if secret && k == "data" {
            if let Some(m) = v.as_object() {
                for (dk, dv) in m {
                    if let Some(s) = dv.as_str() {
                        let f = Frame::Key(dk, &frame);
                        scan_decoded(index, s, dk, f, out);
                    }
                }
            }
            continue;
        }
        walk(index, v, k, frame, out);
    }
}

fn plaintext(index: usize, subject: &Subject<'_>, out: &mut Vec<Finding>) {
    let obj = subject.obj;
    let sops = is_sops(obj);
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    for field in ["data", "stringData"] {
        let Some(m) = obj.get(field).and_then(Value::as_object) else {
            continue;
        };
        let keys: Vec<&str> = m
            .iter()
            .filter(|(_, v)| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                _ => true,
            })
            .filter(|(_, v)| !(sops && is_encrypted(v)))
            .map(|(k, _)| k.as_str())
            .collect();
        if keys.is_empty() {
            continue;
        }
        let mut list = keys.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        if keys.len() > 5 {
            list.push_str(&format!(" and {} more", keys.len() - 5));
        }
        let msg = if subject.origin.generator.is_some() {
            format!(
                "Secret `{name}` is made by kustomize's secretGenerator from files or literals \
                 committed to the repo, so `{field}` ({list}) is plaintext in git; encrypt the \
                 inputs (SOPS) or use a SealedSecret or ExternalSecret, and rotate the values"
            )
        } else if sops {
            format!(
                "Secret `{name}` is SOPS-encrypted but `{field}` keys {list} are not \
                 (`ENC[…]`); re-encrypt the file with a matching `encrypted_regex`"
            )
        } else {
            format!(
                "Secret `{name}` has plaintext `{field}` ({list}) committed to the repo \
                 (base64 is not encryption); encrypt it with SOPS or use a SealedSecret or \
                 ExternalSecret, and rotate the values"
            )
        };
        out.push(Finding::at(
            "secret-plaintext",
            sev("secret-plaintext"),
            index,
            vec![Seg::Key(field.to_string())],
            msg,
        ));
    }
}

fn walk(index: usize, v: &Value, key: &str, frame: Frame<'_>, out: &mut Vec<Finding>) {
    match v {
        Value::String(s) => report(index, s, key, frame, false, out),
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                walk(index, item, key, Frame::Index(i, &frame), out);
            }
        }
        Value::Object(m) => {
            // An env var (`{name, value}`) is named by its `name`.
            let env_name = m.get("name").and_then(Value::as_str);
            for (k, item) in m {
                let ctx = if k == "value" {
                    env_name.unwrap_or(k)
                } else {
                    k
                };
                walk(index, item, ctx, Frame::Key(k, &frame), out);
            }
        }
        _ => {}
    }
}

fn scan_decoded(index: usize, s: &str, key: &str, frame: Frame<'_>, out: &mut Vec<Finding>) {
    if s.starts_with("ENC[") {
        return;
    }
    let compact: String;
    let input = if s.bytes().any(|b| b.is_ascii_whitespace()) {
        compact = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        compact.as_str()
    } else {
        s
    };
    match base64::engine::general_purpose::STANDARD.decode(input) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            report(index, &text, key, frame, true, out);
        }
        // Not valid base64: the API server would reject it, but scan it as it is.
        Err(_) => report(index, s, key, frame, false, out),
    }
}

fn report(
    index: usize,
    s: &str,
    key: &str,
    frame: Frame<'_>,
    decoded: bool,
    out: &mut Vec<Finding>,
) {
    if s.starts_with("ENC[") {
        return;
    }
    let kinds = scan(s, key);
    if kinds.is_empty() {
        return;
    }
    let path = frame.to_path();
    let at = super::path_to_string(&path);
    let how = if decoded { " (base64-decoded)" } else { "" };
    for kind in kinds {
        out.push(Finding::at(
            "secret-leak",
            sev("secret-leak"),
            index,
            path.clone(),
            format!(
                "{kind} found in `{at}`{how}; remove it from the repo, rotate it (it stays in git \
                 history) and load it from an encrypted or external secret"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Origin;

    // Assembled at run time so this file holds no credential-shaped literal.
    fn fake(prefix: &str, body_len: usize, alphabet: &str) -> String {
        let a: Vec<char> = alphabet.chars().collect();
        let mut s = prefix.to_string();
        for i in 0..body_len {
            s.push(a[(i * 7 + 3) % a.len()]);
        }
        s
    }
    const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    fn pem() -> String {
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n{}\n-----END RSA PRIVATE KEY-----\n",
            fake("MIIEow", 58, ALNUM),
            fake("", 64, ALNUM)
        )
    }

    fn samples() -> Vec<(String, &'static str)> {
        vec![
            (pem(), "PEM"),
            (fake("AKIA", 16, UPPER_DIGITS), "AWS"),
            (fake("ASIA", 16, UPPER_DIGITS), "AWS"),
            (fake("ghp_", 36, ALNUM), "GitHub token"),
            (fake("ghs_", 36, ALNUM), "GitHub token"),
            (
                format!("{}_{}", fake("github_pat_", 22, ALNUM), fake("", 59, ALNUM)),
                "GitHub fine-grained",
            ),
            (format!("xoxb-1234567890-{}", fake("", 24, ALNUM)), "Slack"),
            (fake("AIza", 35, ALNUM), "Google API key"),
            (fake("sk_live_", 24, ALNUM), "Stripe"),
            (
                format!(
                    "{{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n\"}}",
                    fake("MIIE", 60, ALNUM)
                ),
                "Google service-account",
            ),
        ]
    }

    #[test]
    fn detects_each_credential_kind() {
        for (value, kind) in samples() {
            let found = scan(&format!("config: {value} end"), "config");
            assert_eq!(found.len(), 1, "{kind}: {found:?}");
            assert!(found[0].starts_with(kind), "{kind}: {found:?}");
        }
    }

    #[test]
    fn ignores_lookalikes() {
        for s in [
            "AKIAIOSFODNN7EXAMPLE is the documented example",
            "ghp_tooShort123",
            "xoxb-not-a-real-token-this-will-not-work",
            "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
            "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n",
            "sk_test_abcdefghijklmnopqrstuvwxyz0123",
            "image: registry.example.com/app:AKIA",
        ] {
            assert!(scan(s, "value").is_empty(), "{s}");
        }
        let header = format!(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.{}",
            fake("", 43, ALNUM)
        );
        assert!(scan(&header, "example").is_empty());
        assert_eq!(scan(&header, "API_TOKEN").len(), 1);
    }

    fn subject_check(obj: Value, origin: &Origin) -> Vec<Finding> {
        let obj = obj.as_object().unwrap().clone();
        let mut out = Vec::new();
        check(3, &Subject { obj: &obj, origin }, &mut out);
        out
    }

    #[test]
    fn messages_never_contain_the_value() {
        let b64 = base64::engine::general_purpose::STANDARD;
        for (value, kind) in samples() {
            let encoded = b64.encode(&value);
            let obj = serde_json::json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
                  "annotations": {"note": value.clone()}},
                "data": {"key": encoded.clone()},
                "stringData": {"raw": value.clone()},
            });
            let out = subject_check(obj, &Origin::default());
            let leaks: Vec<_> = out.iter().filter(|f| f.rule == "secret-leak").collect();
            assert_eq!(leaks.len(), 3, "{kind}: {out:?}");
            assert!(out.iter().any(|f| f.rule == "secret-plaintext"));
            // The distinctive part of the value (past any well-known marker) never appears:
            // every sample's body starts with the same generated run of characters.
            let body = [fake("", 10, ALNUM), fake("", 10, UPPER_DIGITS)];
            assert!(body.iter().any(|b| value.contains(b.as_str())), "{kind}");
            for f in &out {
                for b in &body {
                    assert!(!f.message.contains(b.as_str()), "{kind}: {}", f.message);
                }
                assert!(!f.message.contains(&encoded[..16]), "{kind}: {}", f.message);
            }
            let paths: Vec<_> = leaks
                .iter()
                .map(|f| super::super::path_to_string(&f.path))
                .collect();
            assert!(paths.contains(&"data.key".to_string()));
            assert!(paths.contains(&"metadata.annotations.note".to_string()));
            assert!(paths.contains(&"stringData.raw".to_string()));
            assert!(leaks.iter().any(|f| f.message.contains("base64-decoded")));
        }
    }

    #[test]
    fn sops_and_generated_secrets() {
        let sops = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "ENC[AES256_GCM,data:abc,type:str]"},
            "sops": {"version": "3.8.1"},
        });
        assert!(subject_check(sops, &Origin::default()).is_empty());
        let partly = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "ENC[AES256_GCM,data:abc,type:str]", "b": "cGxhaW4="},
            "sops": {"version": "3.8.1"},
        });
        let out = subject_check(partly, &Origin::default());
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains(" b "), "{}", out[0].message);
        let generated = Origin {
            generator: Some("SecretGenerator".into()),
            ..Origin::default()
        };
        let gen_obj = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "cGxhaW4="},
        });
        let out = subject_check(gen_obj, &generated);
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("secretGenerator"));
    }
}
