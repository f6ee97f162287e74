use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::checks::run::load_config;
use crate::diff::run::{DiffOptions, changed_files, diff_snapshots};
use crate::repo::Snapshot;

fn demo() -> BTreeMap<String, Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn edit(files: &mut BTreeMap<String, Vec<u8>>, path: &str, from: &str, to: &str) {
    let text = String::from_utf8(files[path].clone()).unwrap();
    assert!(text.contains(from), "{path} has no {from:?}");
    files.insert(path.into(), text.replace(from, to).into_bytes());
}

struct Case {
    config: RepoConfig,
    diff: DiffReport,
    files: Vec<String>,
}

fn case(change: impl FnOnce(&mut BTreeMap<String, Vec<u8>>)) -> Case {
    let base_files = demo();
    let mut head_files = base_files.clone();
    change(&mut head_files);
    let base = Snapshot::from_files(Path::new("/repo"), "base", base_files);
    let head = Snapshot::from_files(Path::new("/repo"), "head", head_files);
    let (config, problems) = load_config(&base, None);
    assert!(problems.is_empty(), "{problems:?}");
    let diff = diff_snapshots(
        &base,
        &head,
        &config,
        &DiffOptions {
            environment: None,
            threads: 1,
        },
    );
    Case {
        files: changed_files(&base, &head),
        config,
        diff,
    }
}

fn candidate<'a>(c: &'a Case, author: &'a str) -> Candidate<'a> {
    Candidate {
        author,
        author_teams: &[],
        vouched_by: None,
        draft: false,
        from_fork: false,
        labels: &[],
        holds: &[],
        today: Date::parse("2026-12-07").unwrap(),
        changed_files: &c.files,
        diff: &c.diff,
        warden_passed: true,
        required: &[],
        mergeable: Some(true),
        reviews_needed: 0,
        approvals: 0,
        changes_requested: &[],
    }
}

fn bump_staging(files: &mut BTreeMap<String, Vec<u8>>) {
    edit(
        files,
        "overlays/staging/kustomization.yaml",
        "newTag: 1.5.0",
        "newTag: 1.5.1",
    );
}

#[test]
fn a_trusted_bots_staging_bump_is_eligible() {
    let c = case(bump_staging);
    let v = evaluate(&c.config, &candidate(&c, "renovate[bot]"));
    assert!(v.eligible(), "{:?}", v.unmet);
}

#[test]
fn a_production_line_a_policy_file_or_the_config_makes_it_ineligible() {
    let c = case(|f| {
        bump_staging(f);
        edit(
            f,
            "overlays/production/kustomization.yaml",
            "newTag: 1.4.0",
            "newTag: 1.4.1",
        );
    });
    let v = evaluate(&c.config, &candidate(&c, "renovate[bot]"));
    assert_eq!(
        v.unmet.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
        ["it changes `overlays/production` (production), where auto-merge is not allowed"]
    );
    assert!(v.unmet[0].fix().contains("own pull request"));
    let c = case(|f| {
        bump_staging(f);
        f.insert("policy/extra.rego".into(), b"package main\n".to_vec());
        f.insert(".github/workflows/ci.yml".into(), b"on: push\n".to_vec());
    });
    let v = evaluate(&c.config, &candidate(&c, "renovate[bot]"));
    let got: Vec<String> = v.unmet.iter().map(|u| u.to_string()).collect();
    assert_eq!(
        got,
        [
            "it changes `.github/workflows/ci.yml`",
            "it changes `policy/extra.rego`"
        ]
    );
}

#[test]
fn any_other_class_of_change_in_staging_is_not_auto_merged() {
    let c = case(|f| {
        edit(
            f,
            "overlays/staging/kustomization.yaml",
            "LOG_LEVEL=debug",
            "LOG_LEVEL=info",
        );
    });
    let v = evaluate(&c.config, &candidate(&c, "renovate[bot]"));
    assert_eq!(v.unmet.len(), 1, "{:?}", v.unmet);
    assert!(
        v.unmet[0]
            .to_string()
            .starts_with("its changes to `overlays/staging` are of class config"),
        "{}",
        v.unmet[0]
    );
}

#[test]
fn every_other_condition_is_named() {
    let c = case(bump_staging);
    let hold = Hold {
        repo: "acme/gitops".into(),
        pr: None,
        environment: Some("staging".into()),
        reason: "migration".into(),
        by: "alice".into(),
        comment_url: String::new(),
        created_ms: 0,
    };
    let other_env = Hold {
        environment: Some("production".into()),
        ..hold.clone()
    };
    let holds = [hold, other_env];
    let labels = ["Do-Not-Merge".to_string()];
    let required = [
        Required {
            name: "ci/test".into(),
            state: "pending".into(),
        },
        Required {
            name: "lint".into(),
            state: "success".into(),
        },
    ];
    let mut config = c.config.clone();
    config
        .automerge
        .freeze
        .push(crate::repo::config::FreezeWindow {
            from: Date::parse("2026-12-01").unwrap(),
            to: Date::parse("2026-12-31").unwrap(),
        });
    let changes = ["bob".to_string()];
    let cand = Candidate {
        draft: true,
        from_fork: true,
        labels: &labels,
        holds: &holds,
        warden_passed: false,
        required: &required,
        mergeable: None,
        reviews_needed: 2,
        approvals: 1,
        changes_requested: &changes,
        ..candidate(&c, "mallory")
    };
    let got: Vec<String> = evaluate(&config, &cand)
        .unmet
        .iter()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(
        got,
        [
            "Warden's check did not pass",
            "the required check `ci/test` is pending",
            "`staging` is held by @alice: migration",
            "it has the `do-not-merge` label",
            "2026-12-07 is in a freeze window",
            "it is a draft",
            "it comes from a fork",
            "@mallory is not a trusted author",
            "branch protection requires 2 approving reviews and it has 1",
            "@bob requested changes",
            "GitHub has not said whether it can be merged",
        ]
    );
    // A writer's `/warden merge` waives the author, nothing else.
    let vouched = Candidate {
        vouched_by: Some("writer"),
        ..candidate(&c, "mallory")
    };
    assert!(evaluate(&c.config, &vouched).eligible());
    // A team named in `authors` trusts its members.
    let mut config = c.config.clone();
    config.automerge.authors = vec![Author::Team {
        org: "acme".into(),
        team: "platform".into(),
    }];
    let teams = ["acme/platform".to_string()];
    let member = Candidate {
        author_teams: &teams,
        ..candidate(&c, "bob")
    };
    assert!(evaluate(&config, &member).eligible());
    assert!(!evaluate(&config, &candidate(&c, "bob")).eligible());
}

#[test]
fn image_rules_limit_the_version_step() {
    use Bump::*;
    let ok = |from: &str, to: &str, b: Bump| bump_allowed(from, to, b);
    assert_eq!(ok("web:1.5.0", "web:1.5.1", Patch), Ok(()));
    assert!(
        ok("web:1.5.0", "web:1.6.0", Patch)
            .unwrap_err()
            .contains("a minor step")
    );
    assert_eq!(ok("web:v1.5.0", "web:v1.6.0", Minor), Ok(()));
    assert!(
        ok("web:1.9.9", "web:2.0.0", Minor)
            .unwrap_err()
            .contains("a major step")
    );
    assert_eq!(ok("web:1.9", "web:2.0", Major), Ok(()));
    assert!(
        ok("web:1.5.1", "web:1.5.0", Major)
            .unwrap_err()
            .contains("downgrade")
    );
    assert!(
        ok("web:latest", "web:stable", Major)
            .unwrap_err()
            .contains("not versions")
    );
    assert_eq!(ok("web:1.5@sha256:aa", "web:1.5@sha256:bb", Digest), Ok(()));
    assert!(
        ok("web:1.5", "web:1.6", Digest)
            .unwrap_err()
            .contains("only a new digest")
    );
    assert!(
        ok("a/web:1.5", "b/web:1.6", Major)
            .unwrap_err()
            .contains("changes from")
    );
    assert_eq!(
        ok("reg:5000/web:1.5.0", "reg:5000/web:1.5.1", Patch),
        Ok(())
    );

    // Through the config: `automerge.images` with a minor limit.
    let mut c = case(|f| {
        edit(
            f,
            "overlays/staging/kustomization.yaml",
            "newTag: 1.5.0",
            "newTag: 2.0.0",
        );
    });
    c.config.automerge.images = vec![crate::repo::config::ImageRule {
        pattern: crate::repo::config::Glob::new("ghcr.io/example/*").unwrap(),
        bump: Minor,
    }];
    let v = evaluate(&c.config, &candidate(&c, "renovate[bot]"));
    assert_eq!(v.unmet.len(), 1, "{:?}", v.unmet);
    assert_eq!(
        v.unmet[0].to_string(),
        "`ghcr.io/example/shop` ghcr.io/example/shop:1.5.0 → ghcr.io/example/shop:2.0.0: a major step, and `automerge.images` allows at most minor"
    );
}

#[test]
fn nothing_is_eligible_without_configuration_or_change() {
    let mut c = case(bump_staging);
    c.config.automerge = Automerge::default();
    assert_eq!(
        evaluate(&c.config, &candidate(&c, "renovate[bot]")).unmet,
        [Unmet::NotConfigured]
    );
    let c = case(|_| {});
    assert_eq!(
        evaluate(&c.config, &candidate(&c, "renovate[bot]")).unmet,
        [Unmet::NoChange]
    );
}
