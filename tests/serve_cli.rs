//! `warden serve` as a process: a missing or bad setting stops start-up with a message naming
//! it (and never the secret); a good configuration serves `/healthz` and stops cleanly on
//! SIGTERM.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn warden() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.env_clear().arg("serve");
    c
}

fn key() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys/app-private.pem")
        .display()
        .to_string()
}

#[test]
fn a_missing_or_bad_setting_names_itself_and_not_the_secret() {
    let out = warden().output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WARDEN_APP_ID"), "{err}");

    let out = warden()
        .env("WARDEN_APP_ID", "12")
        .env("WARDEN_PRIVATE_KEY_PATH", key())
        .env("WARDEN_WEBHOOK_SECRET", "s3cr3t-value")
        .env("WARDEN_LISTEN", "not-an-address")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("WARDEN_LISTEN"), "{err}");
    assert!(!err.contains("s3cr3t-value"), "{err}");

    let out = warden()
        .env("WARDEN_APP_ID", "12")
        .env(
            "WARDEN_PRIVATE_KEY",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        )
        .env("WARDEN_WEBHOOK_SECRET", "s3cr3t-value")
        .env("WARDEN_LISTEN", "127.0.0.1:0")
        .env("WARDEN_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("WARDEN_PRIVATE_KEY"), "{err}");
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[cfg(unix)]
#[test]
fn it_serves_health_and_stops_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let mut child = warden()
        .env("WARDEN_APP_ID", "12")
        .env("WARDEN_PRIVATE_KEY_PATH", key())
        .env("WARDEN_WEBHOOK_SECRET", "s3cr3t-value")
        // Nothing listens there: the reconcile pass fails and is logged, the server stays up.
        .env("WARDEN_GITHUB_API_URL", "http://127.0.0.1:9")
        .env("WARDEN_LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_DATA_DIR", data.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Some(r) = get(port, "/healthz") {
            break r;
        }
        assert!(Instant::now() < deadline, "never came up");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(get(port, "/readyz").unwrap().starts_with("HTTP/1.1 200"));
    assert!(data.path().join("warden.db").exists());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    // JSON lines, and no secret in them.
    assert!(
        logs.lines()
            .any(|l| l.starts_with('{') && l.contains("listening")),
        "{logs}"
    );
    assert!(!logs.contains("s3cr3t-value"));
    assert!(!logs.contains("PRIVATE KEY"));
}
