//! `warden demo` end to end: what it reports is what happened on the simulator.

use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_checks_both_pull_requests_then_approves_and_deploys_the_merge() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let report = warden::demo::run(&dir, 2).await.expect("demo");
    let conclusions: Vec<&str> = report
        .pulls
        .iter()
        .map(|p| p.run.conclusion.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(conclusions, ["success", "failure"]);
    assert!(report.pulls[0].comment.is_some());
    assert!(!report.pulls[1].run.annotations.is_empty());
    // Warden merged the Renovate bump itself, and said why the production change waits.
    let summary = |i: usize| report.pulls[i].run.summary.clone().unwrap_or_default();
    assert!(
        summary(0).contains("**Merged** by Warden (squash)"),
        "{}",
        summary(0)
    );
    assert!(summary(1).contains("**Not auto-merged**"), "{}", summary(1));
    assert!(
        summary(1).contains("@alice is not a trusted author"),
        "{}",
        summary(1)
    );

    let d = &report.deploy;
    let envs: Vec<(&str, &str)> = d
        .approvals
        .iter()
        .map(|(e, s, _)| (e.as_str(), s.as_str()))
        .collect();
    assert_eq!(envs, [("staging", "success"), ("production", "success")]);
    for (_, _, description) in &d.approvals {
        assert!(
            description.starts_with(&format!("warden1 kid={} ", d.key_id)),
            "{description}"
        );
    }
    assert_eq!(
        d.agent,
        format!(
            "deployed {} to staging (deployed: applied 4 objects, pruned 0, 1 rolled out)",
            d.merged.short()
        )
    );
    assert_eq!(d.images, ["ghcr.io/example/shop:1.5.1"]);
    assert_eq!(d.objects, 4);
    let mut text = Vec::new();
    warden::demo::write_text(&report, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("warden/approve/production: success"));
    assert!(text.contains("warden-agent (staging, apply mode"));
}
