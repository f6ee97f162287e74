//! Warden's GitHub REST client: octocrab's HTTP stack (rustls on aws-lc-rs, timeouts) with
//! authentication, retries, rate limits, conditional requests and pagination done here, as
//! GitHub documents them:
//!
//! - App endpoints carry a fresh App JWT; installation endpoints an installation token, cached
//!   per installation until 5 minutes before it expires (one request when many ask at once; a
//!   `401` drops it and the request is made once more with a new token).
//! - 5xx, timeouts and connection errors are retried with exponential backoff and full jitter;
//!   `403`/`429` with `Retry-After` wait that long, with `x-ratelimit-remaining: 0` until
//!   `x-ratelimit-reset`; at most `max_attempts` tries, and no wait beyond `max_rate_limit_wait`.
//! - GETs send `If-None-Match` with the last ETag and reuse the body on `304`.
//! - Lists follow `Link: rel="next"` on the API's own origin.
//!
//! Tokens and keys are secrets: they are set as sensitive headers and never formatted into an
//! error or a log line.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::auth::AppKey;
use super::ids::InstallationId;
use super::tarball::TarballError;

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// One request, connection to last byte.
    pub timeout: Duration,
    /// Tries of one request in all.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest rate-limit wait taken; beyond it the request fails (transiently).
    pub max_rate_limit_wait: Duration,
    pub user_agent: String,
    /// Pages of one list at most.
    pub max_pages: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
            user_agent: concat!("warden/", env!("CARGO_PKG_VERSION")).to_string(),
            max_pages: 100,
        }
    }
}

/// A failed GitHub request. Never carries a token, a key or a header.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub answered {status} to {method} {path}: {message}")]
    Status {
        status: u16,
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: no answer within {secs} s")]
    Timeout {
        method: String,
        path: String,
        secs: u64,
    },
    #[error("{method} {path}: rate limited for {wait_secs} s more, longer than Warden waits")]
    RateLimited {
        method: String,
        path: String,
        wait_secs: u64,
    },
    #[error("{path}: unexpected answer: {what}")]
    BadResponse { path: String, what: String },
    #[error("the App's private key: {0}")]
    Key(String),
    #[error("WARDEN_GITHUB_API_URL {0}")]
    Url(String),
    #[error("{0}")]
    Tarball(#[from] TarballError),
}

impl GitHubError {
    /// Worth trying again later.
    pub fn transient(&self) -> bool {
        match self {
            GitHubError::Status { status, .. } => *status >= 500 || *status == 429,
            GitHubError::Transport { .. }
            | GitHubError::Timeout { .. }
            | GitHubError::RateLimited { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status GitHub answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<GitHubError> for crate::app::pipeline::ForgeError {
    fn from(e: GitHubError) -> Self {
        crate::app::pipeline::ForgeError {
            transient: e.transient(),
            message: e.to_string(),
        }
    }
}

/// Who a request is made as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    /// The App itself (JWT).
    App,
    /// An installation (its token).
    Installation(InstallationId),
    /// Nobody (a URL that carries its own credentials, or a public repository).
    Anonymous,
    /// The client's own token (`GitHubClient::with_token`), or nobody when it has none: how
    /// `warden-agent` reads its repository and reports back.
    Token,
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self, path: &str) -> Result<Value, GitHubError> {
        serde_json::from_slice(&self.body).map_err(|e| GitHubError::BadResponse {
            path: path.to_string(),
            what: format!("not JSON ({e})"),
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// (ETag, body, `Link` header) of an answer.
type Cached = (String, Bytes, Option<String>);

#[derive(Clone)]
struct Token {
    secret: SecretString,
    expires_at: u64,
}

/// The client of one App.
pub struct GitHubClient {
    http: Octocrab,
    /// `scheme://authority/prefix`, no trailing slash.
    api: String,
    origin: String,
    app_id: u64,
    /// The App's key (`None` for a token client).
    key: Option<AppKey>,
    /// A token that is not the App's (`warden-agent`'s).
    token: Option<SecretString>,
    pub(crate) opts: ClientOptions,
    tokens: moka::future::Cache<InstallationId, Token>,
    /// (ETag, body, `Link` header) of the last 200 per (installation, URL).
    etags: moka::future::Cache<(u64, String), Arc<Cached>>,
    pub(crate) snapshots: moka::future::Cache<(String, String), Arc<crate::repo::Snapshot>>,
    pub(crate) slug: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api", &self.api)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Tokens are renewed this long before they expire.
pub const TOKEN_MARGIN_SECS: u64 = 5 * 60;

fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// Path and query of a URL, for messages (never a query: it may hold a token).
fn path_of(url: &str) -> String {
    let no_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = no_scheme.find('/').map_or("/", |i| &no_scheme[i..]);
    path.split('?').next().unwrap_or(path).to_string()
}

/// RFC 3339 UTC (`2016-07-11T22:14:10Z`, fractions and offsets allowed) to Unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if s.as_bytes()[4] != b'-' || !matches!(s.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        r if r.len() == 6 && (r.starts_with('+') || r.starts_with('-')) => {
            let oh: i64 = r.get(1..3)?.parse().ok()?;
            let om: i64 = r.get(4..6)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if r.starts_with('-') { -o } else { o }
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// Unix seconds to RFC 3339 UTC.
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

impl GitHubClient {
    /// A client of App `app_id` against the API at `api_url` (`https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server).
    pub fn new(
        api_url: &str,
        app_id: u64,
        private_key: SecretString,
        opts: ClientOptions,
    ) -> Result<GitHubClient, GitHubError> {
        let key = AppKey::from_pem(&private_key)?;
        GitHubClient::build(api_url, app_id, Some(key), None, opts)
    }

    /// A client that is not an App: requests made [`As::Token`] carry `token` (a fine-grained
    /// or installation token), or nothing when it is `None` (public repositories).
    pub fn with_token(
        api_url: &str,
        token: Option<SecretString>,
        opts: ClientOptions,
    ) -> Result<GitHubClient, GitHubError> {
        GitHubClient::build(api_url, 0, None, token, opts)
    }

    fn build(
        api_url: &str,
        app_id: u64,
        key: Option<AppKey>,
        token: Option<SecretString>,
        opts: ClientOptions,
    ) -> Result<GitHubClient, GitHubError> {
        let api = api_url.trim_end_matches('/').to_string();
        let origin = origin_of(&api)
            .filter(|_| api.starts_with("http://") || api.starts_with("https://"))
            .ok_or_else(|| GitHubError::Url(format!("{api:?} is not an http(s) URL")))?;
        let http = Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|e| GitHubError::Url(format!("{api:?}: {e}")))?
            .set_connect_timeout(Some(opts.timeout))
            .set_read_timeout(Some(opts.timeout))
            .set_write_timeout(Some(opts.timeout))
            .build()
            .map_err(|e| GitHubError::Url(format!("{api:?}: {e}")))?;
        Ok(GitHubClient {
            http,
            api,
            origin,
            app_id,
            key,
            token,
            opts,
            tokens: moka::future::Cache::builder().max_capacity(10_000).build(),
            etags: moka::future::Cache::builder()
                .weigher(|_, v: &Arc<Cached>| u32::try_from(v.1.len() + 256).unwrap_or(u32::MAX))
                .max_capacity(64 << 20)
                .build(),
            snapshots: moka::future::Cache::builder()
                .weigher(|_, s: &Arc<crate::repo::Snapshot>| {
                    u32::try_from(s.files().len() + 1).unwrap_or(u32::MAX)
                })
                .max_capacity(200_000)
                .build(),
            slug: tokio::sync::OnceCell::new(),
        })
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// `{api}{path}` for a path starting with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    pub(crate) fn same_origin(&self, url: &str) -> bool {
        origin_of(url).as_deref() == Some(self.origin.as_str())
    }

    async fn token(&self, inst: InstallationId) -> Result<SecretString, GitHubError> {
        if let Some(t) = self.tokens.get(&inst).await {
            if t.expires_at > now_unix() + TOKEN_MARGIN_SECS {
                return Ok(t.secret);
            }
            self.tokens.invalidate(&inst).await;
        }
        let t = self
            .tokens
            .try_get_with(inst, self.new_token(inst))
            .await
            .map_err(|e: Arc<GitHubError>| (*e).clone())?;
        Ok(t.secret)
    }

    async fn new_token(&self, inst: InstallationId) -> Result<Token, GitHubError> {
        let path = format!("/app/installations/{inst}/access_tokens");
        let a = self
            .request(As::App, Method::POST, &self.url(&path), None)
            .await?;
        let v = a.json(&path)?;
        let bad = |what: &str| GitHubError::BadResponse {
            path: path.clone(),
            what: what.to_string(),
        };
        let token = v["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no `token`"))?;
        let expires_at = v["expires_at"]
            .as_str()
            .and_then(parse_time)
            .and_then(|t| u64::try_from(t).ok())
            .ok_or_else(|| bad("no RFC 3339 `expires_at`"))?;
        tracing::debug!(
            installation = inst.0,
            expires_at,
            "installation token issued"
        );
        Ok(Token {
            secret: SecretString::from(token),
            expires_at,
        })
    }

    async fn auth_header(&self, who: As) -> Result<Option<HeaderValue>, GitHubError> {
        let secret = match who {
            As::Anonymous => return Ok(None),
            As::App => match &self.key {
                Some(k) => k.jwt(self.app_id, now_unix())?,
                None => return Err(GitHubError::Key("this client has no App key".into())),
            },
            As::Token => match &self.token {
                Some(t) => t.clone(),
                None => return Ok(None),
            },
            As::Installation(inst) => Box::pin(self.token(inst)).await?,
        };
        let mut v = HeaderValue::from_str(&format!("Bearer {}", secret.expose_secret()))
            .map_err(|_| GitHubError::Key("a token that is not a valid header".into()))?;
        v.set_sensitive(true);
        Ok(Some(v))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .opts
            .base_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.opts.max_backoff);
        // Full jitter.
        cap.mul_f64(fastrand::f64())
    }

    /// How long a rate-limited answer asks to wait, if it is one.
    fn rate_limit_wait(a: &Answer) -> Option<Duration> {
        if a.status != 403 && a.status != 429 {
            return None;
        }
        if let Some(secs) = a
            .header("retry-after")
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_secs(secs));
        }
        if a.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
            let reset = a
                .header("x-ratelimit-reset")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(0);
            return Some(Duration::from_secs(reset.saturating_sub(now_unix()) + 1));
        }
        if a.status == 429 {
            return Some(Duration::from_secs(60));
        }
        // A secondary limit without Retry-After: GitHub advises waiting at least a minute.
        let body = String::from_utf8_lossy(&a.body).to_ascii_lowercase();
        body.contains("secondary rate limit")
            .then(|| Duration::from_secs(60))
    }

    async fn send_once(
        &self,
        who: As,
        method: &Method,
        url: &str,
        body: Option<&Value>,
        extra: &HeaderMap,
    ) -> Result<Answer, GitHubError> {
        let path = path_of(url);
        let mut req = http::Request::builder()
            .method(method.clone())
            .uri(url)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header("user-agent", self.opts.user_agent.as_str());
        if let Some(a) = self.auth_header(who).await? {
            req = req.header(http::header::AUTHORIZATION, a);
        }
        for (k, v) in extra {
            req = req.header(k, v);
        }
        let bytes = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                serde_json::to_vec(b).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let req = req.body(bytes).map_err(|e| GitHubError::Transport {
            method: method.to_string(),
            path: path.clone(),
            message: format!("cannot build the request: {e}"),
        })?;
        let transport = |e: String| GitHubError::Transport {
            method: method.to_string(),
            path: path.clone(),
            message: e.chars().take(300).collect(),
        };
        let fut = async {
            let resp = self
                .http
                .execute(req)
                .await
                .map_err(|e| transport(e.to_string()))?;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| transport(e.to_string()))?
                .to_bytes();
            Ok::<Answer, GitHubError>(Answer {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.opts.timeout, fut)
            .await
            .map_err(|_| GitHubError::Timeout {
                method: method.to_string(),
                path: path.clone(),
                secs: self.opts.timeout.as_secs(),
            })?
    }

    /// One request with retries; any status is returned as an answer except those retried
    /// away. Errors only for transport failures and exhausted retries.
    pub async fn request_raw(
        &self,
        who: As,
        method: Method,
        url: &str,
        body: Option<&Value>,
        extra: &HeaderMap,
    ) -> Result<Answer, GitHubError> {
        let path = path_of(url);
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = attempt >= self.opts.max_attempts;
            let wait = match self.send_once(who, &method, url, body, extra).await {
                Err(e) if e.transient() && !last => {
                    let w = self.backoff(attempt);
                    tracing::warn!(method = %method, path = %path, error = %e, attempt, wait_ms = w.as_millis() as u64, "GitHub request failed; retrying");
                    w
                }
                Err(e) => return Err(e),
                Ok(a) if a.status == 401 && !refreshed => {
                    if let As::Installation(inst) = who {
                        // The token may have been revoked or expired early: one fresh try.
                        self.tokens.invalidate(&inst).await;
                        refreshed = true;
                        attempt -= 1;
                        continue;
                    }
                    return Ok(a);
                }
                Ok(a) => {
                    if let Some(w) = Self::rate_limit_wait(&a) {
                        if w > self.opts.max_rate_limit_wait {
                            return Err(GitHubError::RateLimited {
                                method: method.to_string(),
                                path,
                                wait_secs: w.as_secs(),
                            });
                        }
                        if last {
                            return Ok(a);
                        }
                        tracing::warn!(method = %method, path = %path, status = a.status, wait_s = w.as_secs(), "GitHub rate limit; waiting");
                        w
                    } else if a.status >= 500 && !last {
                        let w = self.backoff(attempt);
                        tracing::warn!(method = %method, path = %path, status = a.status, attempt, wait_ms = w.as_millis() as u64, "GitHub server error; retrying");
                        w
                    } else {
                        return Ok(a);
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// A request whose answer must be 2xx (or 304 for conditional GETs, handled in `get`).
    pub async fn request(
        &self,
        who: As,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Answer, GitHubError> {
        let a = self
            .request_raw(who, method.clone(), url, body, &HeaderMap::new())
            .await?;
        check(&method, url, a)
    }

    /// A GET of JSON, conditional on the last ETag seen for it.
    pub async fn get(&self, who: As, url: &str) -> Result<Answer, GitHubError> {
        let scope = match who {
            As::Installation(i) => i.0,
            _ => 0,
        };
        let key = (scope, url.to_string());
        let cached = self.etags.get(&key).await;
        let mut extra = HeaderMap::new();
        if let Some(c) = &cached
            && let Ok(v) = HeaderValue::from_str(&c.0)
        {
            extra.insert(HeaderName::from_static("if-none-match"), v);
        }
        let a = self
            .request_raw(who, Method::GET, url, None, &extra)
            .await?;
        if a.status == StatusCode::NOT_MODIFIED.as_u16()
            && let Some(c) = cached
        {
            // A 304 need not repeat the `Link` header; pagination must not stop at it.
            let mut headers = a.headers;
            if !headers.contains_key("link")
                && let Some(v) = c.2.as_deref().and_then(|l| HeaderValue::from_str(l).ok())
            {
                headers.insert(HeaderName::from_static("link"), v);
            }
            return Ok(Answer {
                status: 200,
                headers,
                body: c.1.clone(),
            });
        }
        let a = check(&Method::GET, url, a)?;
        if let Some(etag) = a.header("etag") {
            self.etags
                .insert(
                    key,
                    Arc::new((
                        etag.to_string(),
                        a.body.clone(),
                        a.header("link").map(str::to_string),
                    )),
                )
                .await;
        }
        Ok(a)
    }

    /// Every item of a paginated list: `items` names the array in an object answer
    /// (`repositories`, `installations`), `None` for an array answer.
    pub async fn list(
        &self,
        who: As,
        url: &str,
        items: Option<&str>,
    ) -> Result<Vec<Value>, GitHubError> {
        let mut out = Vec::new();
        let mut next = Some(url.to_string());
        let mut pages = 0;
        while let Some(u) = next.take() {
            pages += 1;
            let a = self.get(who, &u).await?;
            let path = path_of(&u);
            let v = a.json(&path)?;
            let arr = match items {
                Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
                None => v,
            };
            match arr {
                Value::Array(xs) => out.extend(xs),
                _ => {
                    return Err(GitHubError::BadResponse {
                        path,
                        what: format!("no list `{}`", items.unwrap_or("[]")),
                    });
                }
            }
            if pages >= self.opts.max_pages {
                tracing::warn!(path = %path, pages, "stopped following a long list");
                break;
            }
            next = a
                .header("link")
                .and_then(next_link)
                .filter(|n| self.same_origin(n));
        }
        Ok(out)
    }

    /// The bytes at `url`, at most `max` of them. A URL on another origin than the API's (a
    /// redirect to codeload, which carries its own token) gets no Authorization header; one on
    /// the API's origin is requested as `who`.
    pub async fn download(&self, who: As, url: &str, max: usize) -> Result<Bytes, GitHubError> {
        let who = if self.same_origin(url) {
            who
        } else {
            As::Anonymous
        };
        let a = self
            .request_raw(who, Method::GET, url, None, &HeaderMap::new())
            .await?;
        let a = check(&Method::GET, url, a)?;
        if a.body.len() > max {
            return Err(GitHubError::Tarball(TarballError::TooLarge(format!(
                "{max} compressed bytes"
            ))));
        }
        Ok(a.body)
    }

    /// The answer of a GET that GitHub answers with a redirect (`Location`).
    pub async fn redirect(&self, who: As, url: &str) -> Result<String, GitHubError> {
        let a = self
            .request_raw(who, Method::GET, url, None, &HeaderMap::new())
            .await?;
        if matches!(a.status, 301 | 302 | 303 | 307 | 308) {
            let loc = a.header("location").unwrap_or_default();
            if loc.starts_with("http://") || loc.starts_with("https://") {
                return Ok(loc.to_string());
            }
            if loc.starts_with('/') {
                return Ok(format!("{}{loc}", self.origin));
            }
            return Err(GitHubError::BadResponse {
                path: path_of(url),
                what: "a redirect without a usable Location".into(),
            });
        }
        let a = check(&Method::GET, url, a)?;
        Err(GitHubError::BadResponse {
            path: path_of(url),
            what: format!("expected a redirect, got {}", a.status),
        })
    }
}

/// A 2xx answer, or the error GitHub's answer says.
fn check(method: &Method, url: &str, a: Answer) -> Result<Answer, GitHubError> {
    if (200..300).contains(&a.status) {
        return Ok(a);
    }
    let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    let mut message = v["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&a.body).chars().take(200).collect());
    if let Some(errors) = v["errors"].as_array() {
        let detail: Vec<String> = errors
            .iter()
            .take(5)
            .map(|e| match e {
                Value::String(s) => s.clone(),
                e => e["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string()),
            })
            .collect();
        if !detail.is_empty() {
            message = format!("{message} ({})", detail.join("; "));
        }
    }
    Err(GitHubError::Status {
        status: a.status,
        method: method.to_string(),
        path: path_of(url),
        message: message.chars().take(500).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_bad_ones_are_refused() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2016-07-11T22:14:10Z"), Some(1_468_275_250));
        assert_eq!(parse_time("2016-07-11T22:14:10.123Z"), Some(1_468_275_250));
        assert_eq!(parse_time("2016-07-12T00:14:10+02:00"), Some(1_468_275_250));
        assert_eq!(format_time(1_468_275_250), "2016-07-11T22:14:10Z");
        for bad in [
            "",
            "2016-07-11",
            "2016-13-11T22:14:10Z",
            "2016-07-11T22:14:10",
            "x016-07-11T22:14:10Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        for t in [0, 951_782_400, 1_800_000_000, 4_102_444_800] {
            assert_eq!(parse_time(&format_time(t)), Some(t));
        }
    }

    #[test]
    fn link_headers_give_the_next_page() {
        let l = r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#;
        assert_eq!(
            next_link(l).as_deref(),
            Some("https://api.github.com/repositories/1/pulls?page=2")
        );
        let last = r#"<https://x/a?page=1>; rel="prev", <https://x/a?page=1>; rel="first""#;
        assert_eq!(next_link(last), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn messages_never_carry_a_query() {
        assert_eq!(
            path_of("http://h:1/x/legacy.tar.gz/abc?token=SECRET"),
            "/x/legacy.tar.gz/abc"
        );
        assert_eq!(
            origin_of("https://api.github.com/x").as_deref(),
            Some("https://api.github.com")
        );
    }

    #[test]
    fn errors_say_whether_to_try_again() {
        let s = |status| GitHubError::Status {
            status,
            method: "GET".into(),
            path: "/".into(),
            message: String::new(),
        };
        assert!(s(502).transient() && s(429).transient());
        assert!(!s(404).transient() && !s(422).transient() && !s(403).transient());
        let f: crate::app::pipeline::ForgeError = s(503).into();
        assert!(f.transient);
    }
}
