//! The App's own authentication: a JWT signed with its private key (RS256), which GitHub
//! accepts on the `/app` endpoints and exchanges for installation tokens. Pure: the caller
//! passes the time.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};

use super::client::GitHubError;

/// How far in the past `iat` is set, against clock drift (GitHub's advice: 60 s).
pub const IAT_SKEW_SECS: u64 = 60;
/// How long a JWT is valid after `now` (GitHub allows at most 10 minutes after `iat`).
pub const JWT_TTL_SECS: u64 = 540;

/// The App's private key, ready to sign.
pub struct AppKey(EncodingKey);

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppKey(<redacted>)")
    }
}

#[derive(serde::Serialize)]
struct Claims {
    iat: u64,
    exp: u64,
    iss: String,
}

impl AppKey {
    /// From the PEM GitHub gave (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).
    pub fn from_pem(pem: &SecretString) -> Result<AppKey, GitHubError> {
        EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes())
            .map(AppKey)
            .map_err(|e| {
                GitHubError::Key(format!(
                    "not an RSA private key in PEM form ({})",
                    e.to_string().chars().take(120).collect::<String>()
                ))
            })
    }

    /// A JWT for App `app_id` at `now_unix`: `iat` 60 s in the past, `exp` 9 minutes ahead,
    /// `iss` the App id.
    pub fn jwt(&self, app_id: u64, now_unix: u64) -> Result<SecretString, GitHubError> {
        let claims = Claims {
            iat: now_unix.saturating_sub(IAT_SKEW_SECS),
            exp: now_unix + JWT_TTL_SECS,
            iss: app_id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.0)
            .map(SecretString::from)
            .map_err(|e| GitHubError::Key(format!("cannot sign the App JWT: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    const PRIVATE: &str = include_str!("../../fixtures/keys/app-private.pem");
    const PUBLIC: &str = include_str!("../../fixtures/keys/app-public.pem");
    const OTHER: &str = include_str!("../../fixtures/keys/other-private.pem");

    #[derive(serde::Deserialize)]
    struct Seen {
        iat: u64,
        exp: u64,
        iss: String,
    }

    fn claims(token: &str) -> Result<Seen, jsonwebtoken::errors::Error> {
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let key = DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
        decode::<Seen>(token, &key, &v).map(|d| d.claims)
    }

    #[test]
    fn the_jwt_is_signed_by_the_app_key_with_githubs_claims() {
        let key = AppKey::from_pem(&SecretString::from(PRIVATE)).unwrap();
        let now = 1_800_000_000;
        let t = key.jwt(1001, now).unwrap();
        let c = claims(t.expose_secret()).unwrap();
        assert_eq!(
            (c.iat, c.exp, c.iss.as_str()),
            (now - 60, now + 540, "1001")
        );
        assert!(c.exp - c.iat <= 600);
        let other = AppKey::from_pem(&SecretString::from(OTHER)).unwrap();
        assert!(claims(other.jwt(1001, now).unwrap().expose_secret()).is_err());
    }

    #[test]
    fn a_bad_key_is_a_clear_error_that_does_not_echo_it() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END RSA PRIVATE KEY-----\n";
        let e = AppKey::from_pem(&SecretString::from(pem))
            .unwrap_err()
            .to_string();
        assert!(e.contains("RSA private key"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "{e}");
        assert_eq!(
            format!(
                "{:?}",
                AppKey::from_pem(&SecretString::from(PRIVATE)).unwrap()
            ),
            "AppKey(<redacted>)"
        );
    }
}
