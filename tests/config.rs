//! `.github/warden.yml`: the documented example, defaults, every kind of error with its line and
//! key, org defaults, level resolution, environments by path, and a stable-Rust run of the
//! `config` fuzz target's steps over the fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use warden::checks::{ExternalRef, KubeVersion, Level};
use warden::repo::config::{
    self, Author, Automerge, Bump, ChangeClass, Chatops, Comments, ConfigError, Date, Deploy,
    DiffMode, Environment, FreezeWindow, Glob, Globs, ImageRule, MergeMethod, Permission, Policies,
    REPO_FILE, RepoConfig,
};

const KNOWN_RULES: &[&str] = &[
    "image-tag-mutable",
    "image-digest-required",
    "pdb-missing",
    "resources-limits-missing",
    "ref-missing",
];

fn load(text: &str) -> Result<RepoConfig, Vec<String>> {
    config::load(Some((REPO_FILE, text)), None, KNOWN_RULES)
        .map_err(|e| e.errors.iter().map(ToString::to_string).collect())
}

fn load_ok(text: &str) -> RepoConfig {
    load(text).unwrap_or_else(|e| panic!("config does not load:\n{}", e.join("\n")))
}

/// The errors of a config that must not load.
fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(c) => panic!("config loads but should not: {c:?}"),
        Err(e) => e,
    }
}

fn globs(p: &[&str]) -> Globs {
    Globs::new(p).unwrap()
}

fn rules(entries: &[(&str, Level)]) -> BTreeMap<String, Level> {
    entries.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The YAML block that follows the `<!-- example: full` marker in docs/config.md.
fn docs_example() -> String {
    let doc = read("docs/config.md");
    let after = doc
        .split_once("<!-- example: full")
        .expect("example marker in docs/config.md")
        .1;
    let block = after
        .split_once("```yaml\n")
        .expect("yaml block after the marker")
        .1;
    block
        .split_once("\n```")
        .expect("end of the block")
        .0
        .to_string()
        + "\n"
}

#[test]
fn docs_example_reads_as_documented() {
    let c = load_ok(&docs_example());
    let expected = RepoConfig {
        version: 1,
        kubernetes_version: KubeVersion::new(1, 31),
        environments: vec![
            Environment {
                name: "staging".into(),
                paths: globs(&["overlays/staging", "apps/*/overlays/staging"]),
                clusters: vec!["staging-eu1".into()],
                kubernetes_version: Some(KubeVersion::new(1, 31)),
                rules: rules(&[("image-tag-mutable", Level::Error)]),
            },
            Environment {
                name: "production".into(),
                paths: globs(&["overlays/production"]),
                clusters: vec![],
                kubernetes_version: None,
                rules: rules(&[("image-digest-required", Level::Error)]),
            },
        ],
        rules: rules(&[("pdb-missing", Level::Off)]),
        policies: Policies {
            paths: vec!["policy".into()],
            namespaces: vec!["main".into()],
        },
        external: vec![
            ExternalRef {
                kind: "Secret".into(),
                name: "db-credentials".into(),
                namespace: Some("shop-prod".into()),
            },
            ExternalRef {
                kind: "ConfigMap".into(),
                name: "cluster-info".into(),
                namespace: None,
            },
        ],
        ignore: globs(&["vendor/**"]),
        automerge: Automerge {
            environments: vec!["staging".into()],
            authors: vec![
                Author::Bot("renovate[bot]".into()),
                Author::User("alice".into()),
                Author::Team {
                    org: "acme".into(),
                    team: "platform".into(),
                },
            ],
            classes: vec![ChangeClass::ImageBump],
            method: MergeMethod::Squash,
            delete_branch: true,
            images: vec![
                ImageRule {
                    pattern: Glob::new("ghcr.io/acme/*").unwrap(),
                    bump: Bump::Minor,
                },
                ImageRule {
                    pattern: Glob::new("docker.io/library/postgres").unwrap(),
                    bump: Bump::Patch,
                },
            ],
            freeze: vec![FreezeWindow {
                from: Date::parse("2026-12-20").unwrap(),
                to: Date::parse("2027-01-05").unwrap(),
            }],
        },
        comments: Comments {
            sticky: true,
            diff: DiffMode::Full,
        },
        chatops: Chatops {
            prefix: "/warden".into(),
            permissions: [
                ("hold".to_string(), Permission::Maintain),
                ("validate".to_string(), Permission::Write),
            ]
            .into_iter()
            .collect(),
            teams: [("hold".to_string(), vec!["acme/platform".to_string()])]
                .into_iter()
                .collect(),
        },
        deploy: Deploy {
            branch: Some("main".into()),
        },
        repos: Globs::default(),
    };
    assert_eq!(c, expected);
}

#[test]
fn docs_document_every_key() {
    let doc = read("docs/config.md");
    for key in [
        "version",
        "kubernetesVersion",
        "environments",
        "paths",
        "clusters",
        "rules",
        "policies",
        "namespaces",
        "external",
        "kind",
        "name",
        "namespace",
        "ignore",
        "automerge",
        "authors",
        "classes",
        "method",
        "deleteBranch",
        "images",
        "freeze",
        "comments",
        "sticky",
        "diff",
        "chatops",
        "prefix",
        "permissions",
        "deploy",
        "branch",
        "repos",
    ] {
        assert!(
            doc.contains(&format!("| `{key}` |")),
            "docs/config.md has no table row for `{key}`"
        );
    }
    for class in ChangeClass::ALL {
        assert!(
            doc.contains(&format!("`{class}`")),
            "class {class} undocumented"
        );
    }
}

#[test]
fn empty_file_means_defaults() {
    for text in ["", "# only a comment\n", "---\n", "{}\n"] {
        assert_eq!(load_ok(text), RepoConfig::default(), "{text:?}");
    }
    assert_eq!(
        config::load(None, None, KNOWN_RULES).unwrap(),
        RepoConfig::default()
    );
    let d = RepoConfig::default();
    assert_eq!(d.version, 1);
    assert_eq!(d.kubernetes_version, KubeVersion::new(1, 31));
    assert_eq!(d.policies.paths, ["policy"]);
    assert_eq!(d.policies.namespaces, ["main"]);
    assert!(d.comments.sticky);
    assert_eq!(d.comments.diff, DiffMode::Full);
    assert_eq!(d.chatops.prefix, "/warden");
    assert_eq!(d.automerge.method, MergeMethod::Squash);
    assert!(d.automerge.delete_branch);
    assert!(d.automerge.environments.is_empty() && d.automerge.classes.is_empty());
    assert_eq!(d.deploy.branch, None);
    assert!(d.environments.is_empty() && d.rules.is_empty() && d.external.is_empty());
}

#[test]
fn null_values_mean_defaults() {
    let c =
        load_ok("version: 1\nkubernetesVersion:\npolicies:\n  paths: ~\nenvironments:\n  dev:\n");
    assert_eq!(c.kubernetes_version, KubeVersion::new(1, 31));
    assert_eq!(c.policies, Policies::default());
    assert_eq!(c.environments.len(), 1);
    assert_eq!(c.environments[0].name, "dev");
    assert!(c.environments[0].paths.is_empty());
}

#[test]
fn versions_and_dates_in_their_forms() {
    let c = load_ok(
        "version: 1\nkubernetesVersion: v1.29\nenvironments:\n  a:\n    kubernetesVersion: 1.30.2\nautomerge:\n  freeze:\n  - {from: 2026-12-20, to: \"2027-01-05\"}\n",
    );
    assert_eq!(c.kubernetes_version, KubeVersion::new(1, 29));
    assert_eq!(
        c.environments[0].kubernetes_version,
        Some(KubeVersion::new(1, 30))
    );
    let w = c.automerge.freeze[0];
    assert_eq!(
        (w.from.to_string(), w.to.to_string()),
        ("2026-12-20".into(), "2027-01-05".into())
    );
    assert!(c.automerge.frozen(Date::parse("2026-12-31").unwrap()));
    assert!(c.automerge.frozen(Date::parse("2027-01-05").unwrap()));
    assert!(!c.automerge.frozen(Date::parse("2027-01-06").unwrap()));
}

/// One error per case: (config, the exact error).
#[test]
fn each_kind_of_error_names_line_and_key() {
    let f = REPO_FILE;
    let cases: &[(&str, String)] = &[
        // unknown keys, with suggestions
        (
            "version: 1\n\nkubernetesVerison: \"1.31\"\n",
            format!(
                "{f}:3: unknown key \"kubernetesVerison\" (did you mean \"kubernetesVersion\"?)"
            ),
        ),
        (
            "version: 1\nenvironments:\n  dev:\n    path: [a]\n",
            format!("{f}:4: environments.dev: unknown key \"path\" (did you mean \"paths\"?)"),
        ),
        (
            "version: 1\nwhatever: 1\n",
            format!("{f}:2: unknown key \"whatever\""),
        ),
        (
            "version: 1\nautomerge:\n  deletebranch: true\n",
            format!(
                "{f}:3: automerge: unknown key \"deletebranch\" (did you mean \"deleteBranch\"?)"
            ),
        ),
        // wrong types
        (
            "version: 1\nenvironments:\n  staging:\n    paths:\n    - overlays/staging\n    - 7\n",
            format!(
                "{f}:6: environments.staging.paths[1]: expected a string, found a number (put it in quotes)"
            ),
        ),
        (
            "version: 1\nrules: [pdb-missing]\n",
            format!("{f}:2: rules: expected a mapping, found a list"),
        ),
        (
            "version: 1\nignore: vendor\n",
            format!("{f}:2: ignore: expected a list, found a string"),
        ),
        (
            "version: 1\ncomments:\n  sticky: 1\n",
            format!("{f}:3: comments.sticky: expected true or false, found a number"),
        ),
        (
            "version: \"1\"\n",
            format!("{f}:1: version: expected the number 1, found a string"),
        ),
        // bad enum values
        (
            "version: 1\nrules:\n  pdb-missing: warn\n",
            format!(
                "{f}:3: rules.pdb-missing: expected one of off, info, warning, error, found \"warn\" (did you mean \"warning\"?)"
            ),
        ),
        (
            "version: 1\nautomerge:\n  method: fast-forward\n",
            format!(
                "{f}:3: automerge.method: expected one of merge, squash, rebase, found \"fast-forward\""
            ),
        ),
        (
            "version: 1\nautomerge:\n  classes: [image-bump, scaling]\n",
            format!(
                "{f}:3: automerge.classes[1]: expected one of image-bump, scale, config, rbac, crd, new-resource, deletion, namespace, other, found \"scaling\""
            ),
        ),
        (
            "version: 1\nautomerge:\n  images:\n    \"ghcr.io/*\": huge\n",
            format!(
                "{f}:4: automerge.images[\"ghcr.io/*\"]: expected one of digest, patch, minor, major, found \"huge\""
            ),
        ),
        (
            "version: 1\nchatops:\n  permissions:\n    hold: owner\n",
            format!(
                "{f}:4: chatops.permissions.hold: expected one of read, triage, write, maintain, admin, found \"owner\""
            ),
        ),
        (
            "version: 1\nchatops:\n  permissions:\n    hold: read\n",
            format!(
                "{f}:4: chatops.permissions.hold: read is below the built-in write; a permission can only be raised"
            ),
        ),
        (
            "version: 1\nchatops:\n  permissions:\n    rerun: write\n",
            format!(
                "{f}:4: chatops.permissions: unknown command \"rerun\" (commands: help, validate, diff, explain, hold, unhold, merge, promote)"
            ),
        ),
        (
            "version: 1\nchatops:\n  teams:\n    holds: [acme/platform]\n",
            format!(
                "{f}:4: chatops.teams: unknown command \"holds\"; did you mean \"hold\"? (commands: help, validate, diff, explain, hold, unhold, merge, promote)"
            ),
        ),
        (
            "version: 1\nchatops:\n  teams:\n    hold: [platform]\n",
            format!("{f}:4: chatops.teams.hold[0]: bad team \"platform\": write org/team-slug"),
        ),
        // bad globs and paths
        (
            "version: 1\nenvironments:\n  dev:\n    paths: [\"a/[b\"]\n",
            format!(
                "{f}:4: environments.dev.paths[0]: bad glob \"a/[b\": unclosed character class; missing ']'"
            ),
        ),
        (
            "version: 1\nignore:\n- /vendor\n",
            format!(
                "{f}:3: ignore[0]: \"/vendor\" must be relative to the repo root (no leading /)"
            ),
        ),
        (
            "version: 1\npolicies:\n  paths: [../shared]\n",
            format!("{f}:3: policies.paths[0]: \"../shared\" must stay inside the repo (no ..)"),
        ),
        // bad versions
        (
            "version: 1\nkubernetesVersion: \"1.x\"\n",
            format!(
                "{f}:2: kubernetesVersion: bad Kubernetes version \"1.x\": expected \"1.NN\" or \"v1.NN\""
            ),
        ),
        (
            "version: 1\nkubernetesVersion: 1.30\n",
            format!(
                "{f}:2: kubernetesVersion: expected a string, found a number (put the version in quotes: \"1.30\" unquoted is the number 1.3)"
            ),
        ),
        (
            "version: 3\n",
            format!("{f}:1: version: unsupported schema version 3 (this warden reads version 1)"),
        ),
        (
            "kubernetesVersion: \"1.31\"\n",
            format!("{f}:1: missing required key \"version\" (add `version: 1`)"),
        ),
        // unknown rule ids
        (
            "version: 1\nrules:\n  image-tag-mutabel: error\n",
            format!(
                "{f}:3: rules: unknown rule \"image-tag-mutabel\" (did you mean \"image-tag-mutable\"?)"
            ),
        ),
        (
            "version: 1\nenvironments:\n  prod:\n    rules:\n      no-such-rule: error\n",
            format!("{f}:5: environments.prod.rules: unknown rule \"no-such-rule\""),
        ),
        (
            "version: 1\nrules:\n  policy/: error\n",
            format!("{f}:3: rules: unknown rule \"policy/\""),
        ),
        // environments
        (
            "version: 1\nenvironments:\n  dev: {}\n  dev: {}\n",
            format!("{f}:4: environments: environment \"dev\" is defined twice"),
        ),
        (
            "version: 1\nenvironments:\n  Prod_EU: {}\n",
            format!(
                "{f}:3: environments: bad environment name \"Prod_EU\": use lowercase letters, digits and '-' (at most 63)"
            ),
        ),
        (
            "version: 1\nenvironments:\n  staging: {}\nautomerge:\n  environments: [stagin]\n",
            format!(
                "{f}:5: automerge.environments[0]: unknown environment \"stagin\" (not under `environments:`) (did you mean \"staging\"?)"
            ),
        ),
        // other values
        (
            "version: 1\nautomerge:\n  authors: [\"@acme\"]\n",
            format!(
                "{f}:3: automerge.authors[0]: bad author \"@acme\": expected a user (alice), a bot (renovate[bot]) or a team (@org/team)"
            ),
        ),
        (
            "version: 1\nautomerge:\n  freeze:\n  - {from: \"2026-02-30\", to: \"2026-03-01\"}\n",
            format!(
                "{f}:4: automerge.freeze[0].from: bad date \"2026-02-30\": expected YYYY-MM-DD"
            ),
        ),
        (
            "version: 1\nautomerge:\n  freeze:\n  - from: \"2026-03-02\"\n    to: \"2026-03-01\"\n",
            format!(
                "{f}:4: automerge.freeze[0]: \"from\" (2026-03-02) is after \"to\" (2026-03-01)"
            ),
        ),
        (
            "version: 1\nexternal:\n- kind: Secret\n",
            format!("{f}:3: external[0]: missing required key \"name\""),
        ),
        (
            "version: 1\nexternal:\n- {kind: Secret, name: a, namespace: Shop}\n",
            format!(
                "{f}:3: external[0].namespace: bad namespace \"Shop\": lowercase letters, digits and '-', at most 63"
            ),
        ),
        (
            "version: 1\ndeploy:\n  branch: \"main..x\"\n",
            format!("{f}:3: deploy.branch: bad branch name \"main..x\""),
        ),
        (
            "version: 1\nrepos: [\"acme/*\"]\n",
            format!("{f}:2: key \"repos\" is only allowed in the org default file"),
        ),
        // not one document, not YAML
        (
            "version: 1\n---\nversion: 1\n",
            format!("{f}:3: expected one YAML document, found 2"),
        ),
        (
            "version: 1\nrules: {\n",
            format!(
                "{f}:3: invalid YAML (column 1): while parsing a node, did not find expected node content"
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        match load(text) {
            Ok(_) => failures.push(format!("{text:?}: loads, want {want}")),
            Err(got) if got != [want.clone()] => {
                failures.push(format!("{text:?}:\n  got  {got:?}\n  want {want}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_carry_their_parts() {
    let errs = config::load(
        Some((
            "repo.yml",
            "version: 1\nenvironments:\n  dev:\n    paths: [1]\n",
        )),
        None,
        KNOWN_RULES,
    )
    .unwrap_err();
    assert_eq!(
        errs.errors,
        [ConfigError {
            file: "repo.yml".into(),
            line: 4,
            key: "environments.dev.paths[0]".into(),
            message: "expected a string, found a number (put it in quotes)".into(),
        }]
    );
}

#[test]
fn all_errors_are_collected_in_line_order() {
    let errs = errors("version: 1\nfoo: 1\nrules:\n  a: off\n  pdb-missing: nope\nbar: 2\n");
    let lines: Vec<&str> = errs.iter().map(|e| e.split(':').nth(1).unwrap()).collect();
    assert_eq!(lines, ["2", "4", "5", "6"], "{errs:#?}");
}

#[test]
fn error_count_is_bounded() {
    let mut text = String::from("version: 1\nrules:\n");
    for i in 0..500 {
        text.push_str(&format!("  unknown-{i}: off\n"));
    }
    assert_eq!(errors(&text).len(), config::MAX_ERRORS);
}

#[test]
fn policy_rules_are_always_known() {
    let c = load_ok("version: 1\nrules:\n  policy/main/deny-latest: error\n  pdb-missing: info\n");
    assert_eq!(c.rules["policy/main/deny-latest"], Level::Error);
    assert_eq!(c.rules["pdb-missing"], Level::Info);
}

#[test]
fn fixtures_good_load_and_bad_give_their_errors() {
    let dir = root().join("fixtures/config");
    let mut good = 0;
    for p in files(&dir.join("good")) {
        let text = std::fs::read_to_string(&p).unwrap();
        if let Err(e) = load(&text) {
            panic!("{}: {}", p.display(), e.join("\n"));
        }
        good += 1;
    }
    let mut bad = 0;
    for p in files(&dir.join("bad")) {
        if p.extension().is_some_and(|e| e == "errors") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let got = errors(&text);
        let want_file = p.with_extension("errors");
        if let Ok(want) = std::fs::read_to_string(&want_file) {
            let want: Vec<&str> = want.lines().collect();
            assert_eq!(got, want, "{}", p.display());
        } else {
            assert!(!got.is_empty(), "{}", p.display());
        }
        bad += 1;
    }
    assert!(
        good >= 4 && bad >= 6,
        "fixtures missing: {good} good, {bad} bad"
    );
}

#[test]
fn anchors_and_merge_keys_work() {
    let c = load_ok(&read("fixtures/config/good/anchors.yml"));
    assert_eq!(c.environments[1].name, "us");
    assert_eq!(c.environments[1].paths, globs(&["clusters/us"]));
    assert_eq!(c.environments[1].rules["image-tag-mutable"], Level::Error);
}

#[test]
fn org_defaults_under_the_repo_file() {
    let org = read("fixtures/config/merge/org.yml");
    let repo = read("fixtures/config/merge/repo.yml");
    let c = config::load(
        Some((REPO_FILE, &repo)),
        Some(("acme/.github:warden.yml", &org)),
        KNOWN_RULES,
    )
    .unwrap();
    // Scalars the repo does not set come from the org.
    assert_eq!(c.kubernetes_version, KubeVersion::new(1, 30));
    assert_eq!(c.repos, globs(&["gitops-*", "acme/platform-config"]));
    // Mappings merge key by key.
    assert_eq!(
        c.rules,
        rules(&[
            ("pdb-missing", Level::Off),
            ("resources-limits-missing", Level::Warning),
        ])
    );
    assert_eq!(
        c.comments,
        Comments {
            sticky: false,
            diff: DiffMode::Full
        }
    );
    // Environments: org order, then the repo's new ones; each merged field by field.
    let names: Vec<&str> = c.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["staging", "production", "preview"]);
    let staging = &c.environments[0];
    assert_eq!(staging.paths, globs(&["overlays/staging"]));
    assert_eq!(staging.clusters, ["staging-us1"]);
    assert_eq!(
        staging.rules,
        rules(&[
            ("image-tag-mutable", Level::Error),
            ("pdb-missing", Level::Warning)
        ])
    );
    // Lists are replaced.
    assert_eq!(c.ignore, globs(&["third_party/**"]));
    // null resets to the default.
    assert_eq!(c.chatops, Chatops::default());
    // Without the repo file, the org file alone.
    let org_only = config::load(None, Some(("org.yml", &org)), KNOWN_RULES).unwrap();
    assert_eq!(org_only.chatops.prefix, "/guard");
    assert_eq!(org_only.ignore, globs(&["vendor/**"]));
    // An empty repo file keeps the org defaults.
    let empty_repo =
        config::load(Some((REPO_FILE, "")), Some(("org.yml", &org)), KNOWN_RULES).unwrap();
    assert_eq!(empty_repo, org_only);
}

#[test]
fn merge_errors_name_their_file() {
    let org = "kubernetesVersion: \"1.x\"\nrules:\n  pdb-missing: sometimes\nenvironments:\n  staging: {paths: [a]}\n";
    let repo = "version: 1\nrules:\n  pdb-missing: off\n  nope: off\nautomerge:\n  environments: [staging, prod]\n";
    let errs: Vec<String> = config::load(
        Some(("repo.yml", repo)),
        Some(("org.yml", org)),
        KNOWN_RULES,
    )
    .unwrap_err()
    .errors
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        errs,
        [
            "repo.yml:4: rules: unknown rule \"nope\"",
            // staging comes from the org file, so only prod is unknown.
            "repo.yml:6: automerge.environments[1]: unknown environment \"prod\" (not under `environments:`)",
            "org.yml:1: kubernetesVersion: bad Kubernetes version \"1.x\": expected \"1.NN\" or \"v1.NN\"",
            // Reported although the repo file overrides it.
            "org.yml:3: rules.pdb-missing: expected one of off, info, warning, error, found \"sometimes\"",
        ]
    );
    // version is optional in the org file; repos only allowed there.
    assert!(config::load(None, Some(("org.yml", "repos: [a]\n")), KNOWN_RULES).is_ok());
}

#[test]
fn levels_resolve_environment_then_top_level_then_default() {
    let c = load_ok(
        "version: 1\nrules:\n  pdb-missing: off\n  image-tag-mutable: warning\nenvironments:\n  prod:\n    rules:\n      image-tag-mutable: error\n      image-digest-required: error\n  dev: {}\n",
    );
    assert_eq!(
        c.level("image-tag-mutable", Some("prod"), Level::Info),
        Level::Error
    );
    assert_eq!(
        c.level("image-tag-mutable", Some("dev"), Level::Info),
        Level::Warning
    );
    assert_eq!(
        c.level("image-tag-mutable", None, Level::Info),
        Level::Warning
    );
    assert_eq!(
        c.level("image-tag-mutable", Some("nope"), Level::Info),
        Level::Warning
    );
    assert_eq!(
        c.level("image-digest-required", Some("prod"), Level::Off),
        Level::Error
    );
    assert_eq!(
        c.level("image-digest-required", Some("dev"), Level::Off),
        Level::Off
    );
    assert_eq!(
        c.level("pdb-missing", Some("prod"), Level::Info),
        Level::Off
    );
    assert_eq!(
        c.level("ref-missing", Some("prod"), Level::Error),
        Level::Error
    );
}

#[test]
fn kube_version_per_environment() {
    let c = load_ok(
        "version: 1\nkubernetesVersion: \"1.29\"\nenvironments:\n  new: {kubernetesVersion: \"v1.32\"}\n  old: {}\n",
    );
    assert_eq!(c.kube_version_for(Some("new")), KubeVersion::new(1, 32));
    assert_eq!(c.kube_version_for(Some("old")), KubeVersion::new(1, 29));
    assert_eq!(c.kube_version_for(None), KubeVersion::new(1, 29));
    assert_eq!(c.kube_version_for(Some("missing")), KubeVersion::new(1, 29));
}

#[test]
fn environment_of_uses_globs_in_order() {
    let c = load_ok(&read("fixtures/config/good/environments.yml"));
    let env_of = |d: &str| c.environment_of(d).map(|e| e.name.as_str());
    assert_eq!(env_of("clusters/dev"), Some("dev"));
    assert_eq!(env_of("clusters/dev/apps"), Some("dev"));
    assert_eq!(env_of("./apps/web/overlays/staging/"), Some("staging"));
    assert_eq!(env_of("apps/web/overlays/production"), Some("production"));
    // `*` stays within one segment.
    assert_eq!(env_of("apps/web/api/overlays/staging"), None);
    // `**` crosses any number of segments, including none.
    assert_eq!(env_of("clusters/staging"), Some("staging"));
    assert_eq!(env_of("clusters/eu/west/staging"), Some("staging"));
    assert_eq!(env_of("clusters/prod-eu"), Some("production"));
    assert_eq!(env_of("clusters/development"), None);
    assert_eq!(env_of(""), None);
    assert!(c.environments[0].matches("clusters/dev"));
    assert!(!c.environments[0].matches("clusters/devx"));
    assert!(c.is_ignored("vendor/x/kustomization.yaml"));
    assert!(c.is_ignored("vendor"));
    assert!(c.is_ignored("third_party/a"));
    assert!(!c.is_ignored("vendored/a"));
    // The first matching environment wins.
    let c = load_ok("version: 1\nenvironments:\n  a: {paths: [\"x/*\"]}\n  b: {paths: [x/y]}\n");
    assert_eq!(c.environment_of("x/y").map(|e| e.name.as_str()), Some("a"));
}

#[test]
fn automerge_helpers() {
    let c = load_ok(&read("fixtures/config/good/automerge.yml"));
    let a = &c.automerge;
    assert_eq!(a.image_rule("ghcr.io/acme/web:1.2.3"), Some(Bump::Minor));
    assert_eq!(
        a.image_rule("ghcr.io/acme/team/web@sha256:00"),
        Some(Bump::Minor)
    );
    assert_eq!(a.image_rule("nginx:1.27"), Some(Bump::Patch));
    assert_eq!(a.method, MergeMethod::Rebase);
    assert!(!a.delete_branch);
    assert_eq!(
        a.authors,
        [
            Author::Bot("renovate[bot]".into()),
            Author::Bot("dependabot[bot]".into()),
            Author::Team {
                org: "acme".into(),
                team: "platform-team".into()
            },
        ]
    );
    assert_eq!(a.authors[2].to_string(), "@acme/platform-team");
    assert!(a.frozen(Date::parse("2027-01-01").unwrap()));
    assert_eq!(c.deploy.branch.as_deref(), Some("release/prod"));
    assert_eq!(c.chatops.permissions["hold"], Permission::Admin);
    assert_eq!(c.external_refs(), &[] as &[ExternalRef]);
    let c = load_ok(&docs_example());
    assert_eq!(c.external_refs().len(), 2);
    assert_eq!(c.automerge.image_rule("ghcr.io/acme/team/web:1"), None);
}

// ---- fuzz smoke: the steps of fuzz/fuzz_targets/config.rs on stable Rust ----

/// Longest one input may take (generous: debug builds, loaded CI machines).
const BUDGET: Duration = Duration::from_secs(5);

/// The fuzz target's steps: split into repo and org text, load, use the helpers.
fn check(data: &[u8]) {
    let t = Instant::now();
    let text = String::from_utf8_lossy(data);
    let (repo, org) = match text.split_once("\n#%% org\n") {
        Some((r, o)) => (r, Some(o)),
        None => (&*text, None),
    };
    let org = org.map(|o| ("acme/.github/warden.yml", o));
    match config::load(Some((REPO_FILE, repo)), org, KNOWN_RULES) {
        Ok(c) => {
            for env in c
                .environments
                .iter()
                .map(|e| Some(e.name.as_str()))
                .chain([None])
            {
                let _ = c.level("pdb-missing", env, Level::Info);
                let _ = c.kube_version_for(env);
            }
            for dir in [
                "overlays/staging",
                "apps/web/overlays/production/eu",
                "",
                "./a//b/",
            ] {
                let _ = c.environment_of(dir);
                let _ = c.is_ignored(dir);
            }
            let _ = c.automerge.image_rule("ghcr.io/acme/web:1.2.3@sha256:00");
            let _ = c.external_refs().len();
        }
        Err(e) => {
            assert!(!e.errors.is_empty() && e.errors.len() <= config::MAX_ERRORS);
            for err in &e.errors {
                assert!(err.line >= 1, "error without a line: {err}");
            }
            let _ = e.to_string();
        }
    }
    assert!(t.elapsed() < BUDGET, "slow config input: {text:?}");
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Every fixture (the merge pair joined in the fuzz format) and the docs example.
fn seeds() -> Vec<String> {
    let dir = root().join("fixtures/config");
    let mut seeds: Vec<String> = ["good", "bad"]
        .iter()
        .flat_map(|d| files(&dir.join(d)))
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    seeds.push(format!(
        "{}\n#%% org\n{}",
        read("fixtures/config/merge/repo.yml"),
        read("fixtures/config/merge/org.yml")
    ));
    seeds.push(docs_example());
    seeds
}

const DICT: &[&str] = &[
    ":",
    "- ",
    "\n",
    "  ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: *a\n",
    "'",
    "\"",
    "#",
    "---\n",
    "~",
    "null",
    "1.30",
    "\"1.31\"",
    "v1.29",
    "true",
    "**",
    "*",
    "[a",
    "{a,b}",
    "../",
    "/",
    "version: 1\n",
    "environments:\n  x:\n    paths: [",
    "rules:\n  ",
    "pdb-missing: off\n",
    "policy/main/x: error\n",
    "automerge:\n  ",
    "images: {\"*\": minor}\n",
    "freeze: [{from: 2026-01-01, to: 2026-02-30}]\n",
    "authors: [\"@a/b\", c[bot]]\n",
    "\n#%% org\n",
    "repos: [x]\n",
    "external: [{kind: Secret, name: a}]\n",
];

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]))
}

fn mutate(seed: &str, ops: &[(u8, u32, u32)]) -> Vec<u8> {
    let mut b = seed.as_bytes().to_vec();
    for &(op, x, y) in ops {
        let at = x as usize % (b.len() + 1);
        match op % 4 {
            0 => {
                let frag = DICT[y as usize % DICT.len()];
                b.splice(at..at, frag.bytes());
            }
            1 => {
                let end = (at + (y as usize % 16)).min(b.len());
                b.drain(at..end);
            }
            2 => {
                if !b.is_empty() {
                    let i = x as usize % b.len();
                    b[i] ^= 1 << (y % 8);
                }
            }
            _ => {
                // Re-indent a line.
                let text = String::from_utf8_lossy(&b).into_owned();
                let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
                let i = x as usize % lines.len();
                if y % 2 == 0 {
                    lines[i].insert_str(0, "  ");
                } else {
                    lines[i] = lines[i].trim_start().to_string();
                }
                b = lines.join("\n").into_bytes();
            }
        }
    }
    b
}

#[test]
fn fuzz_smoke_seeds_as_is() {
    let seeds = seeds();
    assert!(seeds.len() >= 10);
    for s in &seeds {
        check(s.as_bytes());
    }
}

#[test]
fn fuzz_smoke_mutated_seeds() {
    let seeds = seeds();
    let ops = prop::collection::vec((any::<u8>(), any::<u32>(), any::<u32>()), 1..10);
    runner(2000)
        .run(&(0..seeds.len(), ops), |(i, ops)| {
            check(&mutate(&seeds[i], &ops));
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzz_smoke_random_tokens() {
    runner(1000)
        .run(
            &prop::collection::vec(prop::sample::select(DICT), 0..60),
            |toks| {
                check(toks.concat().as_bytes());
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn hostile_inputs_are_bounded() {
    // Billion laughs: alias expansion hits the node limit.
    let mut laughs = String::from("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        laughs.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    let e = errors(&laughs);
    assert!(e[0].contains("too large or complex"), "{e:?}");
    // Many globs and long rule ids within the size limit.
    let mut many = String::from("version: 1\nignore:\n");
    for i in 0..5000 {
        many.push_str(&format!("- \"a/**/b{i}/*/{{x,y}}/[ab]?\"\n"));
    }
    many.push_str("rules:\n");
    for i in 0..200 {
        many.push_str(&format!("  {}{i}: off\n", "r".repeat(200)));
    }
    let t = Instant::now();
    check(many.as_bytes());
    check(format!("version: 1\nignore: [\"{}\"]\n", "**/".repeat(300)).as_bytes());
    check(
        "version: 1\nignore: [\"{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}\"]\n".as_bytes(),
    );
    check(vec![b'['; 300].as_slice());
    assert!(t.elapsed() < BUDGET);
}
