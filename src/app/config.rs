//! `warden serve`'s configuration: environment variables, or a TOML file with the same keys
//! (`WARDEN_CONFIG=/etc/warden.toml`; the environment wins). Every problem names its key and
//! never echoes a secret.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
}

pub(crate) fn err(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        message: message.into(),
    }
}

/// Everything `warden serve` needs.
#[derive(Debug)]
pub struct ServeConfig {
    /// `WARDEN_APP_ID`.
    pub app_id: u64,
    /// `WARDEN_PRIVATE_KEY` (PEM) or the file at `WARDEN_PRIVATE_KEY_PATH`.
    pub private_key: SecretString,
    /// `WARDEN_WEBHOOK_SECRET`.
    pub webhook_secret: SecretString,
    /// `WARDEN_GITHUB_API_URL`, default `https://api.github.com`.
    pub api_url: String,
    /// `WARDEN_LISTEN`, default `0.0.0.0:3000`.
    pub listen: SocketAddr,
    /// `WARDEN_DATA_DIR`, default `./warden-data`: the embedded state database lives here.
    pub data_dir: PathBuf,
    /// `WARDEN_WORKERS`, default 4: jobs run at once.
    pub workers: usize,
    /// `WARDEN_RECONCILE_INTERVAL`, default 10 minutes: how often missed deliveries are
    /// redelivered and open PRs without a run are checked (also once at start-up).
    pub reconcile_interval: std::time::Duration,
    /// `WARDEN_SIGNING_KEY_PATH`: the Ed25519 key (from `warden keygen`) that signs deploy
    /// approvals; without it Warden posts none.
    pub signer: Option<crate::signal::Signer>,
}

/// `90`, `90s`, `15m`, `1h`, `7d`.
pub(crate) fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(secs))
}

/// Every key, for `--help` and the file's validation.
pub const KEYS: &[&str] = &[
    "WARDEN_APP_ID",
    "WARDEN_PRIVATE_KEY",
    "WARDEN_PRIVATE_KEY_PATH",
    "WARDEN_WEBHOOK_SECRET",
    "WARDEN_GITHUB_API_URL",
    "WARDEN_LISTEN",
    "WARDEN_DATA_DIR",
    "WARDEN_WORKERS",
    "WARDEN_RECONCILE_INTERVAL",
    "WARDEN_SIGNING_KEY_PATH",
];

impl ServeConfig {
    /// From `env` (a lookup such as `std::env::var`), the optional TOML `file` text (its path
    /// for messages) and `read` for `WARDEN_PRIVATE_KEY_PATH`.
    pub fn load(
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<(&str, &str)>,
        read: &dyn Fn(&str) -> std::io::Result<String>,
    ) -> Result<ServeConfig, ConfigError> {
        let table = match file {
            Some((path, text)) => parse_file(path, text)?,
            None => toml::Table::new(),
        };
        let get = |key: &'static str| -> Option<String> {
            env(key)
                .filter(|v| !v.is_empty())
                .or_else(|| match table.get(key) {
                    Some(toml::Value::String(s)) => Some(s.clone()),
                    Some(toml::Value::Integer(i)) => Some(i.to_string()),
                    _ => None,
                })
        };
        let app_id = get("WARDEN_APP_ID").ok_or_else(|| {
            err(
                "WARDEN_APP_ID",
                "missing: the App's numeric id (App settings → About)",
            )
        })?;
        let app_id = app_id
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                err(
                    "WARDEN_APP_ID",
                    format!("{app_id:?} is not a positive number"),
                )
            })?;
        let private_key = match (get("WARDEN_PRIVATE_KEY"), get("WARDEN_PRIVATE_KEY_PATH")) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "WARDEN_PRIVATE_KEY",
                    "set either WARDEN_PRIVATE_KEY or WARDEN_PRIVATE_KEY_PATH, not both",
                ));
            }
            (Some(pem), None) => pem,
            (None, Some(path)) => read(&path).map_err(|e| {
                err(
                    "WARDEN_PRIVATE_KEY_PATH",
                    format!("cannot read {path}: {e}"),
                )
            })?,
            (None, None) => {
                return Err(err(
                    "WARDEN_PRIVATE_KEY",
                    "missing: the App's private key (PEM), or its file in WARDEN_PRIVATE_KEY_PATH",
                ));
            }
        };
        if !private_key.contains("-----BEGIN") || !private_key.contains("PRIVATE KEY-----") {
            return Err(err(
                "WARDEN_PRIVATE_KEY",
                "is not a PEM private key (expected -----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)",
            ));
        }
        let webhook_secret = get("WARDEN_WEBHOOK_SECRET").ok_or_else(|| {
            err(
                "WARDEN_WEBHOOK_SECRET",
                "missing: the webhook secret set in the App's settings",
            )
        })?;
        let api_url =
            get("WARDEN_GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
        let api_url = api_url.trim_end_matches('/').to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(err(
                "WARDEN_GITHUB_API_URL",
                format!("{api_url:?} is not an http(s) URL"),
            ));
        }
        let listen = get("WARDEN_LISTEN").unwrap_or_else(|| "0.0.0.0:3000".into());
        let listen = listen.parse::<SocketAddr>().map_err(|_| {
            err(
                "WARDEN_LISTEN",
                format!("{listen:?} is not an address such as 0.0.0.0:3000"),
            )
        })?;
        let data_dir =
            PathBuf::from(get("WARDEN_DATA_DIR").unwrap_or_else(|| "warden-data".into()));
        let workers = match get("WARDEN_WORKERS") {
            None => 4,
            Some(w) => w
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| {
                    err(
                        "WARDEN_WORKERS",
                        format!("{w:?} is not a number from 1 to 256"),
                    )
                })?,
        };
        let reconcile_interval = match get("WARDEN_RECONCILE_INTERVAL") {
            None => std::time::Duration::from_secs(600),
            Some(v) => parse_duration(&v)
                .filter(|d| d.as_secs() >= 10)
                .ok_or_else(|| {
                    err(
                        "WARDEN_RECONCILE_INTERVAL",
                        format!("{v:?} is not a duration of at least 10s such as 90s, 10m or 1h"),
                    )
                })?,
        };
        let signer = match get("WARDEN_SIGNING_KEY_PATH") {
            None => None,
            Some(path) => {
                let pem = read(&path).map_err(|e| {
                    err(
                        "WARDEN_SIGNING_KEY_PATH",
                        format!("cannot read {path}: {e}"),
                    )
                })?;
                let signer = crate::signal::Signer::from_pem(&SecretString::from(pem), &path)
                    .map_err(|e| err("WARDEN_SIGNING_KEY_PATH", e.to_string()))?;
                Some(signer)
            }
        };
        Ok(ServeConfig {
            signer,
            app_id,
            private_key: SecretString::from(private_key),
            webhook_secret: SecretString::from(webhook_secret),
            api_url,
            listen,
            data_dir,
            workers,
            reconcile_interval,
        })
    }
}

fn parse_file(path: &str, text: &str) -> Result<toml::Table, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err("WARDEN_CONFIG", format!("{path}: {}", e.message())))?;
    for key in table.keys() {
        if !KEYS.contains(&key.as_str()) {
            let hint = KEYS
                .iter()
                .max_by(|a, b| strsim::jaro(a, key).total_cmp(&strsim::jaro(b, key)))
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            return Err(err(
                "WARDEN_CONFIG",
                format!("{path}: unknown key {key}{hint}"),
            ));
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIsecret\n-----END RSA PRIVATE KEY-----\n";

    fn load(vars: &[(&str, &str)], file: Option<&str>) -> Result<ServeConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServeConfig::load(
            &|k| map.get(k).cloned(),
            file.map(|t| ("warden.toml", t)),
            &|p| {
                if p == "/keys/app.pem" {
                    Ok(PEM.to_string())
                } else {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "No such file",
                    ))
                }
            },
        )
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("WARDEN_APP_ID", "12345"),
        ("WARDEN_PRIVATE_KEY", PEM),
        ("WARDEN_WEBHOOK_SECRET", "s3cret-hook"),
    ];

    #[test]
    fn defaults_fill_the_rest() {
        let c = load(MINIMAL, None).unwrap();
        assert_eq!(c.app_id, 12345);
        assert_eq!(c.api_url, "https://api.github.com");
        assert_eq!(c.listen.to_string(), "0.0.0.0:3000");
        assert_eq!(c.workers, 4);
        assert_eq!(c.reconcile_interval.as_secs(), 600);
        assert_eq!(c.private_key.expose_secret(), PEM);
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("MIIsecret") && !debug.contains("s3cret-hook"),
            "{debug}"
        );
    }

    #[test]
    fn each_problem_names_its_key_and_no_secret() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "WARDEN_APP_ID"),
            (&[("WARDEN_APP_ID", "abc")], "WARDEN_APP_ID"),
            (&[("WARDEN_APP_ID", "1")], "WARDEN_PRIVATE_KEY"),
            (
                &[("WARDEN_APP_ID", "1"), ("WARDEN_PRIVATE_KEY", "hunter2")],
                "WARDEN_PRIVATE_KEY",
            ),
            (
                &[
                    ("WARDEN_APP_ID", "1"),
                    ("WARDEN_PRIVATE_KEY_PATH", "/nope.pem"),
                ],
                "WARDEN_PRIVATE_KEY_PATH",
            ),
            (
                &[("WARDEN_APP_ID", "1"), ("WARDEN_PRIVATE_KEY", PEM)],
                "WARDEN_WEBHOOK_SECRET",
            ),
        ];
        for (vars, key) in cases {
            let e = load(vars, None).unwrap_err();
            assert_eq!(e.key, *key, "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        let mut bad = MINIMAL.to_vec();
        bad.push(("WARDEN_LISTEN", "everywhere"));
        assert_eq!(load(&bad, None).unwrap_err().key, "WARDEN_LISTEN");
        let mut bad = MINIMAL.to_vec();
        bad.push(("WARDEN_GITHUB_API_URL", "ftp://x"));
        assert_eq!(load(&bad, None).unwrap_err().key, "WARDEN_GITHUB_API_URL");
        for (v, ok) in [
            ("90", Some(90)),
            ("90s", Some(90)),
            ("15m", Some(900)),
            ("1h", Some(3600)),
            ("5s", None),
            ("soon", None),
            ("10x", None),
            ("", Some(600)),
        ] {
            let mut vars = MINIMAL.to_vec();
            vars.push(("WARDEN_RECONCILE_INTERVAL", v));
            let got = load(&vars, None);
            match ok {
                Some(secs) => assert_eq!(got.unwrap().reconcile_interval.as_secs(), secs, "{v}"),
                None => assert_eq!(got.unwrap_err().key, "WARDEN_RECONCILE_INTERVAL", "{v}"),
            }
        }
    }

    #[test]
    fn a_toml_file_has_the_same_keys_and_the_environment_wins() {
        let file = "WARDEN_APP_ID = 7\nWARDEN_PRIVATE_KEY_PATH = \"/keys/app.pem\"\nWARDEN_WEBHOOK_SECRET = \"x\"\nWARDEN_WORKERS = 8\n";
        let c = load(&[("WARDEN_WORKERS", "2")], Some(file)).unwrap();
        assert_eq!((c.app_id, c.workers), (7, 2));
        let e = load(&[], Some("WARDEN_APP_IDD = 7\n")).unwrap_err();
        assert!(e.to_string().contains("did you mean WARDEN_APP_ID?"), "{e}");
        assert_eq!(
            load(&[], Some("not toml [")).unwrap_err().key,
            "WARDEN_CONFIG"
        );
    }
}
