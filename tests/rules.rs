//! Every built-in rule against its fixtures: `fixtures/checks/<rule-id>/bad*.yaml` must produce
//! exactly the findings its `# expect:` lines list, `good*.yaml` must produce none of that rule.
//!
//! Fixture header comments:
//! - `# expect: <object index> <path>`: a finding of the rule is expected there (bad files);
//! - `# generator: SecretGenerator`: every object's origin says it was generated;
//! - `# external: Kind/name[/namespace]`: declared external references.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use warden::checks::{
    ExternalRef, Finding, Rule, Severity, Subject, consistency, path_to_string, secrets, workload,
};
use warden::manifest::{Object, Origin};
use warden::yaml::{Limits, parse_stream};

fn all_rules() -> Vec<&'static Rule> {
    workload::RULES
        .iter()
        .chain(consistency::RULES)
        .chain(secrets::RULES)
        .collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/checks")
}

struct Fixture {
    objects: Vec<Object>,
    origins: Vec<Origin>,
    external: Vec<ExternalRef>,
    expect: BTreeSet<(usize, String)>,
}

fn load(path: &Path) -> Fixture {
    let src = fs::read_to_string(path).unwrap();
    let mut generator = None;
    let mut external = Vec::new();
    let mut expect = BTreeSet::new();
    for line in src.lines() {
        let Some(c) = line.strip_prefix("# ") else {
            continue;
        };
        if let Some(e) = c.strip_prefix("expect: ") {
            let (i, p) = e.trim().split_once(' ').expect("expect: <index> <path>");
            expect.insert((i.parse().expect("object index"), p.to_string()));
        } else if let Some(g) = c.strip_prefix("generator: ") {
            generator = Some(g.trim().to_string());
        } else if let Some(x) = c.strip_prefix("external: ") {
            let parts: Vec<&str> = x.trim().split('/').collect();
            external.push(ExternalRef {
                kind: parts[0].to_string(),
                name: parts[1].to_string(),
                namespace: parts.get(2).map(|s| s.to_string()),
            });
        }
    }
    let docs = parse_stream(&src, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut objects = Vec::new();
    let mut origins = Vec::new();
    for d in docs {
        let serde_json::Value::Object(o) = d.value else {
            panic!("{}: document is not a mapping", path.display());
        };
        objects.push(o);
        origins.push(Origin {
            file: path.display().to_string(),
            line: d.line,
            generator: generator.clone(),
            patches: Vec::new(),
        });
    }
    Fixture {
        objects,
        origins,
        external,
        expect,
    }
}

/// All built-in rules, the way the runner calls them.
fn run_all(f: &Fixture) -> Vec<Finding> {
    let subjects: Vec<Subject<'_>> = f
        .objects
        .iter()
        .zip(&f.origins)
        .map(|(obj, origin)| Subject { obj, origin })
        .collect();
    let mut out = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        workload::check(i, s.obj, &mut out);
        secrets::check(i, s, &mut out);
    }
    consistency::check(&subjects, &f.external, &mut out);
    out
}

#[test]
fn every_rule_has_fixtures_and_they_hold() {
    let rules = all_rules();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root())
        .expect("fixtures/checks")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let names: BTreeSet<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for r in &rules {
        assert!(
            names.contains(r.id),
            "rule {} has no fixtures/checks/{0}/",
            r.id
        );
    }
    let mut failures = Vec::new();
    for dir in &dirs {
        let rule = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(def) = rules.iter().find(|r| r.id == rule) else {
            panic!("fixtures/checks/{rule}/ names no rule");
        };
        let severity = def.default.severity().unwrap_or(Severity::Warning);
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        let (mut bad, mut good) = (0, 0);
        for file in &files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let fx = load(file);
            let found = run_all(&fx);
            let mine: Vec<&Finding> = found.iter().filter(|f| f.rule == rule).collect();
            for f in &mine {
                assert_eq!(f.severity, severity, "{rule}/{name}: severity");
                assert!(!f.message.is_empty());
            }
            let got: BTreeSet<(usize, String)> = mine
                .iter()
                .map(|f| (f.object.unwrap(), path_to_string(&f.path)))
                .collect();
            if name.starts_with("bad") {
                bad += 1;
                assert!(
                    !fx.expect.is_empty(),
                    "{rule}/{name} has no `# expect:` line"
                );
                if got != fx.expect {
                    failures.push(format!(
                        "{rule}/{name}: expected {:?}, got {:?}",
                        fx.expect, got
                    ));
                }
            } else if name.starts_with("good") {
                good += 1;
                if !got.is_empty() {
                    let msgs: Vec<&str> = mine.iter().map(|f| f.message.as_str()).collect();
                    failures.push(format!("{rule}/{name}: unexpected {got:?} {msgs:?}"));
                }
            } else {
                panic!("{rule}/{name}: fixture names start with bad or good");
            }
        }
        assert!(
            bad > 0 && good > 0,
            "{rule}: needs bad*.yaml and good*.yaml"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rules_are_documented_once() {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md"))
        .expect("docs/rules.md");
    let mut ids = BTreeSet::new();
    // Every rule Warden knows, not only the ones with fixtures here.
    for r in warden::checks::run::all_rules() {
        assert!(ids.insert(r.id), "rule id {} defined twice", r.id);
        assert!(
            doc.lines().any(|l| l.trim() == format!("## `{}`", r.id)),
            "docs/rules.md has no `## `{}`` section",
            r.id
        );
        assert!(!r.summary.is_empty() && !r.help.is_empty(), "{}", r.id);
    }
}
