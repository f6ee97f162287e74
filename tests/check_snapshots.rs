//! Snapshots of `warden check`'s reports on the demo repo: the text a person reads, the JSON a
//! tool reads and the SARIF code scanning reads. A change in any byte shows up in review.

use std::process::Command;

fn check(format: &str) -> String {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo");
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args([
            "check", "--repo", repo, "--format", format, "--color", "never",
        ])
        .args(["--repo-name", "acme/demo"])
        .output()
        .expect("run warden");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn demo_text_report() {
    insta::assert_snapshot!(check("text"));
}

#[test]
fn demo_json_report() {
    insta::assert_snapshot!(check("json"));
}

#[test]
fn demo_sarif_report() {
    let sarif = check("sarif");
    // The version changes with every release; everything else is pinned.
    let sarif = sarif.replace(env!("CARGO_PKG_VERSION"), "[version]");
    insta::assert_snapshot!(sarif);
}
