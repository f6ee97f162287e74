use super::*;
use crate::repo::config::{Environment, Globs};
use std::path::Path;

const PROD: &str = "overlays/production/kustomization.yaml";
const STAGING: &str = "overlays/staging/kustomization.yaml";

/// The demo repo's files, with some replaced (or removed, with `None`).
fn demo(changes: &[(&str, Option<&str>)]) -> Snapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let disk = Snapshot::from_dir(&dir).expect("demo fixture");
    let mut files: BTreeMap<String, Vec<u8>> = disk
        .files()
        .iter()
        .map(|f| (f.clone(), disk.fs().read(&disk.path(f)).expect("read")))
        .collect();
    for (path, text) in changes {
        match text {
            Some(t) => files.insert(path.to_string(), t.as_bytes().to_vec()),
            None => files.remove(*path),
        };
    }
    Snapshot::from_files(Path::new("/repo"), "test", files)
}

fn config(snap: &Snapshot) -> RepoConfig {
    let (config, errors) = crate::checks::run::load_config(snap, None);
    assert!(errors.is_empty(), "{errors:?}");
    config
}

fn text(snap: &Snapshot, path: &str) -> String {
    snap.read_text(path).expect(path)
}

#[test]
fn demo_staging_to_production_changes_only_the_tag_bytes() {
    let snap = demo(&[]);
    let before = text(&snap, PROD);
    assert!(text(&snap, STAGING).contains("newTag: 1.5.0"));
    let p = plan(&snap, &config(&snap), None, "production").expect("plan");
    assert_eq!(p.from, "staging");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.files.len(), 1);
    let f = &p.files[0];
    assert_eq!(f.path, PROD);
    assert_eq!(f.before, before);
    assert_eq!(f.after, before.replace("newTag: 1.4.0", "newTag: 1.5.0"));
    // Exactly one changed line, and in it only the tag.
    let diff = f.unified_diff();
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(changed, ["-  newTag: 1.4.0", "+  newTag: 1.5.0"]);
    assert_eq!(
        p.targets,
        [TargetPromotion {
            from_dir: "overlays/staging".into(),
            to_dir: "overlays/production".into(),
            file: PROD.into(),
            images: vec![ImageChange {
                name: "ghcr.io/example/shop".into(),
                old: "ghcr.io/example/shop:1.4.0".into(),
                new: "ghcr.io/example/shop:1.5.0".into(),
            }],
        }]
    );
}

#[test]
fn a_newer_tag_in_memory_and_a_digest() {
    let digest = format!("sha256:{}", "a".repeat(64));
    let staging = text(&demo(&[]), STAGING).replace(
        "  newTag: 1.5.0\n",
        &format!("  newTag: \"1.6.0\"  # release\n  digest: {digest}\n"),
    );
    let snap = demo(&[(STAGING, Some(&staging))]);
    let p = plan(&snap, &config(&snap), Some("staging"), "production").expect("plan");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let before = text(&snap, PROD);
    assert_eq!(
        p.files[0].after,
        before.replace(
            "  newTag: 1.4.0\n",
            &format!("  newTag: 1.6.0\n  digest: {digest}\n")
        )
    );
    assert_eq!(
        p.targets[0].images[0].new,
        format!("ghcr.io/example/shop:1.6.0@{digest}")
    );
}

#[test]
fn already_up_to_date() {
    let prod = text(&demo(&[]), PROD).replace("1.4.0", "1.5.0");
    let snap = demo(&[(PROD, Some(&prod))]);
    let p = plan(&snap, &config(&snap), None, "production").expect("plan");
    assert!(p.up_to_date(), "{p:?}");
    assert!(p.targets[0].images.is_empty());
}

#[test]
fn an_overlay_without_images_gets_an_entry() {
    let prod = text(&demo(&[]), PROD).replace(
        "images:\n- name: ghcr.io/example/shop\n  newTag: 1.4.0\n",
        "",
    );
    let snap = demo(&[(PROD, Some(&prod))]);
    let p = plan(&snap, &config(&snap), None, "production").expect("plan");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        p.files[0].after,
        format!("{prod}images:\n- name: ghcr.io/example/shop\n  newTag: 1.5.0\n")
    );
}

#[test]
fn an_image_set_by_a_patch_is_left_to_a_person() {
    let prod = text(&demo(&[]), PROD).replace(
        "images:\n- name: ghcr.io/example/shop\n  newTag: 1.4.0\n",
        "",
    );
    let patch = text(&demo(&[]), "overlays/production/resources.yaml").replace(
        "      - name: web\n",
        "      - name: web\n        image: ghcr.io/example/shop:1.3.0\n",
    );
    let snap = demo(&[
        (PROD, Some(&prod)),
        ("overlays/production/resources.yaml", Some(&patch)),
    ]);
    let p = plan(&snap, &config(&snap), None, "production").expect("plan");
    assert!(p.files.is_empty());
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    let msg = p.problems[0].to_string();
    assert!(
        msg.contains(
            "cannot promote automatically, edit overlays/production/resources.yaml by hand"
        ),
        "{msg}"
    );
    assert_eq!(
        p.problems[0].file.as_deref(),
        Some("overlays/production/resources.yaml")
    );
}

#[test]
fn conflicting_entries_are_a_problem() {
    let prod = text(&demo(&[]), PROD).replace(
        "  newTag: 1.4.0\n",
        "  newTag: 1.4.0\n- name: ghcr.io/example/shop\n  newTag: 1.3.0\n",
    );
    let snap = demo(&[(PROD, Some(&prod))]);
    let p = plan(&snap, &config(&snap), None, "production").expect("plan");
    assert!(p.files.is_empty());
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert!(p.problems[0].to_string().contains(PROD));
    assert!(p.problems[0].to_string().contains("two `images:` entries"));
}

#[test]
fn environments_are_checked() {
    let snap = demo(&[]);
    let c = config(&snap);
    assert_eq!(
        source_environment(&c, "production").as_deref(),
        Ok("staging")
    );
    assert_eq!(
        source_environment(&c, "staging"),
        Err(PlanError::FirstEnvironment {
            to: "staging".into()
        })
    );
    assert!(matches!(
        plan(&snap, &c, None, "prod"),
        Err(PlanError::UnknownEnvironment { name, .. }) if name == "prod"
    ));
    assert!(matches!(
        plan(&snap, &c, Some("qa"), "production"),
        Err(PlanError::UnknownEnvironment { name, .. }) if name == "qa"
    ));
    assert!(matches!(
        plan(&snap, &c, Some("staging"), "staging"),
        Err(PlanError::SameEnvironment(_))
    ));
    assert_eq!(
        source_environment(&RepoConfig::default(), "x"),
        Err(PlanError::NoEnvironments)
    );
    // Promoting backwards, with --from, is allowed.
    let back = plan(&snap, &c, Some("production"), "staging").expect("plan");
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert!(back.files[0].after.contains("newTag: 1.4.0"));
}

#[test]
fn unmatched_targets_are_named() {
    // Two production targets, one staging target: only the one named like it matches.
    let extra = text(&demo(&[]), PROD);
    let snap = demo(&[("overlays/production-eu/kustomization.yaml", Some(&extra))]);
    let mut c = config(&snap);
    let env = |name: &str, paths: &[&str]| Environment {
        name: name.into(),
        paths: Globs::new(paths).expect("globs"),
        ..Environment::default()
    };
    c.environments = vec![
        env("staging", &["overlays/staging"]),
        env(
            "production",
            &["overlays/production", "overlays/production-eu"],
        ),
    ];
    let p = plan(&snap, &c, None, "production").expect("plan");
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert_eq!(
        p.problems[0].file.as_deref(),
        Some("overlays/production-eu/kustomization.yaml")
    );
    assert!(
        p.problems[0]
            .message
            .contains("no target of \"staging\" matches")
    );
    assert_eq!(p.files.len(), 1);
}

#[test]
fn a_source_without_the_image_changes_nothing() {
    // Staging renders another image entirely: there is nothing of production's to promote.
    let staging = text(&demo(&[]), STAGING).replace(
        "  newTag: 1.5.0\n",
        "  newName: ghcr.io/example/other\n  newTag: 1.5.0\n",
    );
    let snap = demo(&[(STAGING, Some(&staging))]);
    let p = plan(&snap, &config(&snap), None, "production").expect("plan");
    assert!(p.up_to_date(), "{p:?}");
}
