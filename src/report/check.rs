//! `warden check` output: text grouped by file (colored on a terminal), JSON, and SARIF 2.1.0
//! for GitHub code scanning. Pure: a report in, bytes out; identical input, identical bytes.

use super::Paint;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::checks::run::{CheckReport, Reported};
use crate::checks::{Rule, Severity};

/// Where SARIF consumers can read about Warden's rules.
pub const RULES_DOC_URL: &str = "https://github.com/warden-dev/warden/blob/main/docs/rules.md";

/// The report as JSON: `{"targets":[…],"findings":[…],"summary":{…}}`.
pub fn json(report: &CheckReport) -> Value {
    json!({
        "targets": report.targets,
        "findings": report.findings,
        "summary": report.summary(),
    })
}

impl Paint {
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "33",
            Severity::Info => "36",
        };
        self.wrap(code, &format!("{:<7}", s.as_str()))
    }
}

/// Findings that say the same thing at the same place (one base file shared by several
/// overlays) are shown once, with every target that has them.
struct Grouped<'a> {
    first: &'a Reported,
    targets: Vec<&'a str>,
}

fn grouped(findings: &[Reported]) -> BTreeMap<String, Vec<Grouped<'_>>> {
    let mut by_file: BTreeMap<String, Vec<Grouped<'_>>> = BTreeMap::new();
    for f in findings.iter().filter(|f| !f.suppressed) {
        let file = f.file.clone().unwrap_or_default();
        let list = by_file.entry(file).or_default();
        let same = list.iter_mut().find(|g| {
            g.first.rule == f.rule
                && g.first.line == f.line
                && g.first.message == f.message
                && g.first.severity == f.severity
        });
        match same {
            Some(g) => {
                if let Some(t) = f.target.as_deref()
                    && !g.targets.contains(&t)
                {
                    g.targets.push(t);
                }
            }
            None => list.push(Grouped {
                first: f,
                targets: f.target.as_deref().into_iter().collect(),
            }),
        }
    }
    for list in by_file.values_mut() {
        list.sort_by(|a, b| {
            a.first
                .line
                .cmp(&b.first.line)
                .then(b.first.severity.cmp(&a.first.severity))
                .then(a.first.rule.cmp(&b.first.rule))
        });
    }
    by_file
}

/// Text for a terminal: findings grouped by file, then a summary line.
pub fn text(report: &CheckReport, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    for (file, list) in grouped(&report.findings) {
        let heading = if file.is_empty() {
            "(repository)".to_string()
        } else {
            file
        };
        let _ = writeln!(out, "{}", paint.wrap("1", &heading));
        for g in list {
            let f = g.first;
            let at = if f.line > 0 {
                format!("{:>5}", f.line)
            } else {
                "     ".into()
            };
            let _ = writeln!(
                out,
                "  {}  {}  {}  {}",
                paint.wrap("2", &at),
                paint.severity(f.severity),
                paint.wrap("35", &f.rule),
                f.message
            );
            let mut context = Vec::new();
            if let Some(r) = &f.resource {
                context.push(r.to_string());
            }
            if let Some(field) = &f.field {
                context.push(field.clone());
            }
            if !g.targets.is_empty() {
                context.push(format!("in {}", g.targets.join(", ")));
            }
            if !context.is_empty() {
                let _ = writeln!(out, "         {}", paint.wrap("2", &context.join(" · ")));
            }
        }
        out.push('\n');
    }
    let s = report.summary();
    let mut targets: Vec<String> = report
        .targets
        .iter()
        .filter(|t| t.affected)
        .map(|t| format!("{} ({})", t.target.dir, t.target.environment))
        .collect();
    if targets.is_empty() {
        targets.push("none".into());
    }
    let _ = writeln!(
        out,
        "checked {} of {} targets, {} objects: {}",
        s.checked,
        s.targets,
        s.objects,
        targets.join(", ")
    );
    let verdict = format!(
        "{} error{}, {} warning{}, {} info{}",
        s.errors,
        if s.errors == 1 { "" } else { "s" },
        s.warnings,
        if s.warnings == 1 { "" } else { "s" },
        s.infos,
        if s.infos == 1 { "" } else { "s" },
    );
    let verdict = if s.errors > 0 {
        paint.wrap("1;31", &verdict)
    } else {
        paint.wrap("32", &verdict)
    };
    let _ = write!(out, "{verdict}");
    if s.suppressed > 0 {
        let _ = write!(out, " ({} suppressed)", s.suppressed);
    }
    out.push('\n');
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0, as GitHub code scanning accepts it: one run, Warden's rules (the built-in ones
/// plus any policy rule that fired), one result per finding and place (suppressed findings carry
/// an in-source suppression).
pub fn sarif(report: &CheckReport, rules: &[Rule], version: &str) -> Value {
    let mut ids: Vec<String> = rules.iter().map(|r| r.id.to_string()).collect();
    let mut descriptors: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": rule_name(r.id),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.help},
                "help": {"text": r.help},
                "helpUri": format!("{RULES_DOC_URL}#{}", r.id),
                "defaultConfiguration": {"level": match r.default.severity() {
                    Some(s) => sarif_level(s),
                    None => "none",
                }},
            })
        })
        .collect();
    let mut results = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in &report.findings {
        let index = match ids.iter().position(|i| *i == f.rule) {
            Some(i) => i,
            None => {
                ids.push(f.rule.clone());
                descriptors.push(json!({
                    "id": f.rule,
                    "name": rule_name(&f.rule),
                    "shortDescription": {"text": format!("Rego policy rule {}", f.rule)},
                    "defaultConfiguration": {"level": sarif_level(f.severity)},
                }));
                ids.len() - 1
            }
        };
        // One result per rule, place and message (the same base file in several overlays).
        if !seen.insert((
            f.rule.clone(),
            f.file.clone(),
            f.line,
            f.message.clone(),
            f.suppressed,
        )) {
            continue;
        }
        let mut result = json!({
            "ruleId": f.rule,
            "ruleIndex": index,
            "level": sarif_level(f.severity),
            "message": {"text": f.message},
        });
        if let Some(file) = &f.file {
            let mut physical = json!({
                "artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"},
            });
            if f.line > 0 {
                physical["region"] = json!({"startLine": f.line});
            }
            result["locations"] = json!([{"physicalLocation": physical}]);
        }
        let mut props = serde_json::Map::new();
        if let Some(t) = &f.target {
            props.insert("target".into(), json!(t));
        }
        if let Some(e) = &f.environment {
            props.insert("environment".into(), json!(e));
        }
        if let Some(r) = &f.resource {
            props.insert("resource".into(), json!(r));
        }
        if let Some(field) = &f.field {
            props.insert("field".into(), json!(field));
        }
        if !props.is_empty() {
            result["properties"] = Value::Object(props);
        }
        if f.suppressed {
            result["suppressions"] = json!([{
                "kind": "inSource",
                "justification": format!("{} annotation", crate::checks::run::IGNORE_ANNOTATION),
            }]);
        }
        results.push(result);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "warden",
                "semanticVersion": version,
                "informationUri": RULES_DOC_URL,
                "rules": descriptors,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root"}}},
            "results": results,
        }],
    })
}

/// A rule id as a SARIF rule name (PascalCase): `image-tag-mutable` → `ImageTagMutable`.
fn rule_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}
