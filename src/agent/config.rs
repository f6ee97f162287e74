//! `warden-agent`'s configuration, from the environment. Every problem names its variable and
//! never echoes the token.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::github::ids::RepoName;
use crate::signal::Keyring;

/// A configuration problem, naming the variable (the same shape as `warden serve`'s).
pub use crate::app::config::ConfigError as AgentConfigError;
use crate::app::config::{err, parse_duration};

/// What the agent does with an approved commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Write the rendered objects to standard output (a dry run).
    Print,
    /// Pin this Argo CD `Application` (namespace, name) to the approved commit.
    ArgoCd { namespace: String, name: String },
    /// Pin this Flux `GitRepository` (namespace, name) to the approved commit.
    Flux { namespace: String, name: String },
    /// Server-side apply the objects, keeping them as an ApplySet whose parent is the
    /// ConfigMap `inventory_name` in `inventory_namespace` (None: the agent's own namespace).
    Apply {
        inventory_namespace: Option<String>,
        inventory_name: String,
        /// Where objects of namespaced kinds without a namespace go.
        default_namespace: String,
        /// How long CRDs and rollouts may take.
        rollout_timeout: Duration,
    },
}

/// A Kubernetes namespace name (RFC 1123 label).
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Kubernetes object name (RFC 1123 subdomain).
fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns_label)
}

/// Every variable, for `--help`.
pub const KEYS: &[(&str, &str)] = &[
    (
        "WARDEN_GITHUB_API_URL",
        "GitHub's API (default https://api.github.com)",
    ),
    (
        "WARDEN_AGENT_REPO",
        "the config repository, owner/name (required)",
    ),
    (
        "WARDEN_AGENT_BRANCH",
        "the deploy branch it follows (default main)",
    ),
    (
        "WARDEN_AGENT_ENVIRONMENT",
        "the environment whose approvals it deploys (required)",
    ),
    (
        "WARDEN_AGENT_PATH",
        "the overlay to render, relative to the repository root (required)",
    ),
    (
        "WARDEN_AGENT_PUBLIC_KEYS",
        "a PEM file with Warden's public key(s) (required)",
    ),
    (
        "WARDEN_AGENT_TOKEN",
        "a token for private repositories and for reporting back (optional)",
    ),
    (
        "WARDEN_AGENT_MODE",
        "print, apply, argocd or flux (default print)",
    ),
    (
        "WARDEN_AGENT_ARGOCD_APPLICATION",
        "argocd mode: the Application to pin, [namespace/]name (namespace argocd)",
    ),
    (
        "WARDEN_AGENT_FLUX_SOURCE",
        "flux mode: the GitRepository to pin, [namespace/]name (namespace flux-system)",
    ),
    (
        "WARDEN_AGENT_INVENTORY",
        "apply mode: the ApplySet's ConfigMap, [namespace/]name (default \
         warden-agent-<environment> in the agent's namespace)",
    ),
    (
        "WARDEN_AGENT_DEFAULT_NAMESPACE",
        "apply mode: where objects without a namespace go (default default)",
    ),
    (
        "WARDEN_AGENT_ROLLOUT_TIMEOUT",
        "apply mode: how long CRDs and rollouts may take (default 5m)",
    ),
    (
        "WARDEN_AGENT_INTERVAL",
        "time between passes: 30s, 5m, 1h (default 60s)",
    ),
    (
        "WARDEN_AGENT_MAX_AGE",
        "approvals older than this are stale (default 30d)",
    ),
    (
        "WARDEN_AGENT_DEPTH",
        "how many of the branch's newest commits it looks at (default 20)",
    ),
    (
        "WARDEN_AGENT_STATE_FILE",
        "print mode: where the deployed commit is remembered across restarts",
    ),
    (
        "WARDEN_AGENT_LISTEN",
        "address of /healthz, /readyz and /metrics (default 0.0.0.0:9090)",
    ),
];

/// Everything the agent needs.
#[derive(Debug)]
pub struct AgentConfig {
    pub api_url: String,
    pub repo: RepoName,
    pub branch: String,
    pub environment: String,
    /// Repo-relative, no leading `/`, no `..`.
    pub path: String,
    pub keys: Keyring,
    pub token: Option<SecretString>,
    pub mode: Mode,
    pub interval: Duration,
    pub max_age: Duration,
    pub depth: usize,
    pub state_file: Option<PathBuf>,
    pub listen: SocketAddr,
}

impl AgentConfig {
    /// From `env` (such as `std::env::var`) and `read` for the key file.
    pub fn load(
        env: &dyn Fn(&str) -> Option<String>,
        read: &dyn Fn(&str) -> std::io::Result<String>,
    ) -> Result<AgentConfig, AgentConfigError> {
        let get = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let api_url = get("WARDEN_GITHUB_API_URL")
            .unwrap_or_else(|| "https://api.github.com".into())
            .trim_end_matches('/')
            .to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(err(
                "WARDEN_GITHUB_API_URL",
                format!("{api_url:?} is not an http(s) URL"),
            ));
        }
        let repo = get("WARDEN_AGENT_REPO").ok_or_else(|| {
            err(
                "WARDEN_AGENT_REPO",
                "missing: the config repository, owner/name",
            )
        })?;
        let repo = RepoName::parse(&repo).map_err(|e| err("WARDEN_AGENT_REPO", e.to_string()))?;
        let branch = get("WARDEN_AGENT_BRANCH").unwrap_or_else(|| "main".into());
        if branch.contains("..") || branch.starts_with('/') || branch.contains(char::is_whitespace)
        {
            return Err(err(
                "WARDEN_AGENT_BRANCH",
                format!("{branch:?} is not a branch name"),
            ));
        }
        let environment = get("WARDEN_AGENT_ENVIRONMENT").ok_or_else(|| {
            err(
                "WARDEN_AGENT_ENVIRONMENT",
                "missing: the environment whose approvals this agent deploys",
            )
        })?;
        if environment.is_empty()
            || environment.len() > 63
            || !environment
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        {
            return Err(err(
                "WARDEN_AGENT_ENVIRONMENT",
                format!("{environment:?} is not an environment name ([a-z0-9-], at most 63)"),
            ));
        }
        let path = get("WARDEN_AGENT_PATH").ok_or_else(|| {
            err(
                "WARDEN_AGENT_PATH",
                "missing: the overlay to render, such as overlays/production",
            )
        })?;
        let path = path.trim_matches('/').to_string();
        if path
            .split('/')
            .any(|p| p == ".." || p.is_empty() && !path.is_empty())
        {
            return Err(err(
                "WARDEN_AGENT_PATH",
                format!("{path:?} must be a path inside the repository"),
            ));
        }
        let path = if path.is_empty() { ".".into() } else { path };
        let keys_path = get("WARDEN_AGENT_PUBLIC_KEYS").ok_or_else(|| {
            err(
                "WARDEN_AGENT_PUBLIC_KEYS",
                "missing: a PEM file with Warden's public key (`warden keygen` writes it)",
            )
        })?;
        let text = read(&keys_path).map_err(|e| {
            err(
                "WARDEN_AGENT_PUBLIC_KEYS",
                format!("cannot read {keys_path}: {e}"),
            )
        })?;
        let keys = Keyring::from_pem(&text, &keys_path)
            .map_err(|e| err("WARDEN_AGENT_PUBLIC_KEYS", e.to_string()))?;
        let token = get("WARDEN_AGENT_TOKEN").map(SecretString::from);
        let object = |key: &'static str, default_ns: &str, what: &str| {
            let v = get(key).ok_or_else(|| err(key, format!("missing: the {what} to pin")))?;
            let (ns, name) = v.split_once('/').unwrap_or((default_ns, v.as_str()));
            let dns = |s: &str| {
                !s.is_empty()
                    && s.len() <= 253
                    && s.bytes()
                        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.'))
            };
            if !dns(ns) || !dns(name) {
                return Err(err(
                    key,
                    format!("{v:?} is not [namespace/]name of lowercase DNS names"),
                ));
            }
            Ok((ns.to_string(), name.to_string()))
        };
        let duration = |key: &'static str, default: u64, min: u64| -> Result<Duration, _> {
            match get(key) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => parse_duration(&v)
                    .filter(|d| d.as_secs() >= min)
                    .ok_or_else(|| {
                        err(
                            key,
                            format!("{v:?} is not a duration of at least {min}s (30s, 5m, 1h, 7d)"),
                        )
                    }),
            }
        };
        let mode = match get("WARDEN_AGENT_MODE").as_deref() {
            None | Some("print") => Mode::Print,
            Some("argocd") => {
                let (namespace, name) =
                    object("WARDEN_AGENT_ARGOCD_APPLICATION", "argocd", "Application")?;
                Mode::ArgoCd { namespace, name }
            }
            Some("flux") => {
                let (namespace, name) =
                    object("WARDEN_AGENT_FLUX_SOURCE", "flux-system", "GitRepository")?;
                Mode::Flux { namespace, name }
            }
            Some("apply") => {
                let inventory = match get("WARDEN_AGENT_INVENTORY") {
                    Some(v) => {
                        let (ns, name) = match v.split_once('/') {
                            Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                            None => (None, v.clone()),
                        };
                        if !ns.as_deref().is_none_or(dns_label) || !dns_subdomain(&name) {
                            return Err(err(
                                "WARDEN_AGENT_INVENTORY",
                                format!("{v:?} is not [namespace/]name of lowercase DNS names"),
                            ));
                        }
                        (ns, name)
                    }
                    None => {
                        let name = format!("warden-agent-{environment}");
                        if !dns_subdomain(&name) {
                            return Err(err(
                                "WARDEN_AGENT_INVENTORY",
                                format!(
                                    "missing, and {name:?} (from the environment's name) is \
                                     not a ConfigMap name: set [namespace/]name"
                                ),
                            ));
                        }
                        (None, name)
                    }
                };
                let default_namespace =
                    get("WARDEN_AGENT_DEFAULT_NAMESPACE").unwrap_or_else(|| "default".into());
                if !dns_label(&default_namespace) {
                    return Err(err(
                        "WARDEN_AGENT_DEFAULT_NAMESPACE",
                        format!("{default_namespace:?} is not a namespace name"),
                    ));
                }
                Mode::Apply {
                    inventory_namespace: inventory.0,
                    inventory_name: inventory.1,
                    default_namespace,
                    rollout_timeout: duration("WARDEN_AGENT_ROLLOUT_TIMEOUT", 300, 1)?,
                }
            }
            Some(other) => {
                return Err(err(
                    "WARDEN_AGENT_MODE",
                    format!("{other:?} is not one of apply, argocd, flux, print"),
                ));
            }
        };
        let interval = duration("WARDEN_AGENT_INTERVAL", 60, 1)?;
        let max_age = duration("WARDEN_AGENT_MAX_AGE", 30 * 86_400, 60)?;
        let depth = match get("WARDEN_AGENT_DEPTH") {
            None => 20,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    err(
                        "WARDEN_AGENT_DEPTH",
                        format!("{v:?} is not a number from 1 to 100"),
                    )
                })?,
        };
        let listen = get("WARDEN_AGENT_LISTEN").unwrap_or_else(|| "0.0.0.0:9090".into());
        let listen = listen.parse::<SocketAddr>().map_err(|_| {
            err(
                "WARDEN_AGENT_LISTEN",
                format!("{listen:?} is not an address such as 0.0.0.0:9090"),
            )
        })?;
        Ok(AgentConfig {
            api_url,
            repo,
            branch,
            environment,
            path,
            keys,
            token,
            mode,
            interval,
            max_age,
            depth,
            state_file: get("WARDEN_AGENT_STATE_FILE").map(PathBuf::from),
            listen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "-----BEGIN PUBLIC KEY-----\n\
MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n\
-----END PUBLIC KEY-----\n";

    fn load(vars: &[(&str, &str)]) -> Result<AgentConfig, AgentConfigError> {
        let mut env: HashMap<String, String> = [
            ("WARDEN_AGENT_REPO", "acme/gitops"),
            ("WARDEN_AGENT_ENVIRONMENT", "production"),
            ("WARDEN_AGENT_PATH", "overlays/production"),
            ("WARDEN_AGENT_PUBLIC_KEYS", "/keys.pem"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        AgentConfig::load(&|k| env.get(k).cloned(), &|p| {
            if p == "/keys.pem" {
                Ok(KEY.into())
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file",
                ))
            }
        })
    }

    #[test]
    fn defaults_fill_in_what_is_not_set() {
        let c = load(&[]).unwrap();
        assert_eq!(c.api_url, "https://api.github.com");
        assert_eq!(c.branch, "main");
        assert_eq!(c.path, "overlays/production");
        assert_eq!(c.mode, Mode::Print);
        assert_eq!(c.interval, Duration::from_secs(60));
        assert_eq!(c.max_age, Duration::from_secs(30 * 86_400));
        assert_eq!(c.depth, 20);
        assert_eq!(c.keys.key_ids().len(), 1);
        assert!(c.token.is_none());
    }

    #[test]
    fn each_problem_names_its_variable() {
        for (vars, key, says) in [
            (
                vec![("WARDEN_AGENT_REPO", "")],
                "WARDEN_AGENT_REPO",
                "missing",
            ),
            (
                vec![("WARDEN_AGENT_REPO", "acme")],
                "WARDEN_AGENT_REPO",
                "owner/name",
            ),
            (
                vec![("WARDEN_AGENT_ENVIRONMENT", "Prod")],
                "WARDEN_AGENT_ENVIRONMENT",
                "not an environment",
            ),
            (
                vec![("WARDEN_AGENT_PATH", "../secrets")],
                "WARDEN_AGENT_PATH",
                "inside the repository",
            ),
            (
                vec![("WARDEN_AGENT_PUBLIC_KEYS", "/nope.pem")],
                "WARDEN_AGENT_PUBLIC_KEYS",
                "cannot read /nope.pem",
            ),
            (
                vec![("WARDEN_AGENT_MODE", "yolo")],
                "WARDEN_AGENT_MODE",
                "not one of",
            ),
            (
                vec![("WARDEN_AGENT_INTERVAL", "soon")],
                "WARDEN_AGENT_INTERVAL",
                "not a duration",
            ),
            (
                vec![("WARDEN_AGENT_DEPTH", "1000")],
                "WARDEN_AGENT_DEPTH",
                "1 to 100",
            ),
            (
                vec![("WARDEN_GITHUB_API_URL", "ftp://x")],
                "WARDEN_GITHUB_API_URL",
                "not an http(s) URL",
            ),
        ] {
            let e = load(&vars).unwrap_err();
            assert_eq!(e.key, key, "{vars:?}");
            assert!(e.message.contains(says), "{vars:?}: {e}");
        }
    }

    #[test]
    fn pin_modes_name_their_object() {
        let c = load(&[
            ("WARDEN_AGENT_MODE", "argocd"),
            ("WARDEN_AGENT_ARGOCD_APPLICATION", "shop-prod"),
        ])
        .unwrap();
        assert_eq!(
            c.mode,
            Mode::ArgoCd {
                namespace: "argocd".into(),
                name: "shop-prod".into()
            }
        );
        let c = load(&[
            ("WARDEN_AGENT_MODE", "flux"),
            ("WARDEN_AGENT_FLUX_SOURCE", "gitops/fleet"),
        ])
        .unwrap();
        assert_eq!(
            c.mode,
            Mode::Flux {
                namespace: "gitops".into(),
                name: "fleet".into()
            }
        );
        let e = load(&[("WARDEN_AGENT_MODE", "flux")]).unwrap_err();
        assert_eq!(e.key, "WARDEN_AGENT_FLUX_SOURCE");
        let e = load(&[
            ("WARDEN_AGENT_MODE", "argocd"),
            ("WARDEN_AGENT_ARGOCD_APPLICATION", "Argo/App"),
        ])
        .unwrap_err();
        assert!(e.message.contains("DNS names"), "{e}");
    }

    #[test]
    fn apply_mode_names_its_inventory_after_the_environment_unless_told() {
        let c = load(&[("WARDEN_AGENT_MODE", "apply")]).unwrap();
        assert_eq!(
            c.mode,
            Mode::Apply {
                inventory_namespace: None,
                inventory_name: "warden-agent-production".into(),
                default_namespace: "default".into(),
                rollout_timeout: Duration::from_secs(300),
            }
        );
        let c = load(&[
            ("WARDEN_AGENT_MODE", "apply"),
            ("WARDEN_AGENT_INVENTORY", "ops/shop-inventory"),
            ("WARDEN_AGENT_DEFAULT_NAMESPACE", "shop"),
            ("WARDEN_AGENT_ROLLOUT_TIMEOUT", "90s"),
        ])
        .unwrap();
        assert_eq!(
            c.mode,
            Mode::Apply {
                inventory_namespace: Some("ops".into()),
                inventory_name: "shop-inventory".into(),
                default_namespace: "shop".into(),
                rollout_timeout: Duration::from_secs(90),
            }
        );
        for (key, value) in [
            ("WARDEN_AGENT_INVENTORY", "Ops/inv"),
            ("WARDEN_AGENT_INVENTORY", "ops/"),
            ("WARDEN_AGENT_DEFAULT_NAMESPACE", "a.b"),
            ("WARDEN_AGENT_ROLLOUT_TIMEOUT", "soon"),
        ] {
            let e = load(&[("WARDEN_AGENT_MODE", "apply"), (key, value)]).unwrap_err();
            assert_eq!(e.key, key, "{e}");
        }
    }

    #[test]
    fn the_token_is_never_shown() {
        let c = load(&[("WARDEN_AGENT_TOKEN", "ghp_secret123")]).unwrap();
        assert!(!format!("{c:?}").contains("ghp_secret123"));
    }
}
