//! `warden diff` output for a terminal (colored unified diffs) and for scripts (JSON).
//!
//! Text: per target a header line (environment, directory, counts, classes) and its render
//! error if any; per object a header line (status, `Kind/namespace/name`, `old → new` for a
//! re-generated object, source `file:line`) then its unified diff (`+` green, `-` red, `@@`
//! cyan); a Secret lists its changed keys instead; a cascade is one line. A last line sums up
//! the counts and classes. Control characters from the repo are shown as `?`, so a name cannot
//! drive the terminal.
//!
//! JSON: `{"base","head","targets":[…],"summary":{"targets","added","changed","removed",
//! "classes":[…],"images":[…]}}`; each target is its [`TargetChange`] serialized, except that a
//! Secret's `unified` is dropped. Pure and deterministic.

use super::Paint;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::markdown::{cascade_subject, is_secret};
use crate::diff::{Cascade, DiffReport, ObjectDiff, Status, TargetChange, TargetState};

/// Repo text made harmless on a terminal: control characters (escape included) become `?`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The diff for a terminal; `color` adds ANSI colors.
pub fn text(diff: &DiffReport, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    for t in &diff.targets {
        target_text(&mut out, &p, t);
    }
    let c = diff.counts();
    let changed = diff.targets.iter().filter(|t| !t.diff.is_empty()).count();
    let mut line = format!(
        "{changed} of {} changed: {} added, {} changed, {} removed",
        plural(diff.targets.len(), "target", "targets"),
        c.added,
        c.changed,
        c.removed
    );
    let classes: Vec<&str> = diff.classes().iter().map(|c| c.as_str()).collect();
    if !classes.is_empty() {
        let _ = write!(line, " · {}", classes.join(", "));
    }
    if diff.only_image_bumps() {
        line.push_str(" (only an image bump)");
    }
    let _ = writeln!(out, "{}", p.wrap("1", &line));
    out
}

fn target_text(out: &mut String, p: &Paint, t: &TargetChange) {
    let c = t.diff.counts;
    let env = if t.target.environment.is_empty() {
        "(none)".to_string()
    } else {
        clean(&t.target.environment)
    };
    let mut head = format!(
        "{env} · {} · {} added, {} changed, {} removed",
        clean(&t.target.dir),
        c.added,
        c.changed,
        c.removed
    );
    if !t.diff.classes.is_empty() {
        let classes: Vec<&str> = t.diff.classes.iter().map(|c| c.as_str()).collect();
        let _ = write!(head, " · {}", classes.join(", "));
    }
    let _ = writeln!(out, "{}", p.wrap("1;4", &head));
    match &t.state {
        TargetState::Rendered => {}
        TargetState::New => {
            let _ = writeln!(out, "  new target: every object is added");
        }
        TargetState::Gone => {
            let _ = writeln!(out, "  target removed: every object is removed");
        }
        TargetState::BaseError { message } => error_text(out, p, "base", message),
        TargetState::HeadError { message } => error_text(out, p, "head", message),
    }
    for o in &t.diff.objects {
        object_text(out, p, o);
    }
    for c in t.diff.cascades.iter().filter(|c| !c.dependents.is_empty()) {
        let _ = writeln!(out, "{}", cascade_text(c));
    }
    if t.diff.objects.is_empty() && t.diff.cascades.is_empty() {
        let _ = writeln!(out, "  no change in the rendered objects");
    }
    out.push('\n');
}

fn error_text(out: &mut String, p: &Paint, side: &str, message: &str) {
    let _ = writeln!(
        out,
        "  {}",
        p.wrap("1;31", &format!("the {side} does not render:"))
    );
    for line in message.lines() {
        let _ = writeln!(out, "    {}", clean(line));
    }
}

fn object_text(out: &mut String, p: &Paint, o: &ObjectDiff) {
    let (word, code) = match o.status {
        Status::Added => ("added", "32"),
        Status::Removed => ("removed", "31"),
        Status::Changed => ("changed", "33"),
    };
    let name = match &o.renamed_from {
        Some(old) => format!("{} → {}", o.key.with_name(old), o.key.name),
        None => o.key.to_string(),
    };
    let mut line = format!("{} {}", p.wrap(code, word), p.wrap("1", &clean(&name)));
    if let Some(src) = &o.source {
        let place = if src.line > 0 {
            format!("{}:{}", src.file, src.line)
        } else {
            src.file.clone()
        };
        let _ = write!(line, "  {}", p.wrap("2", &clean(&place)));
        if let Some(g) = &src.generator {
            let _ = write!(line, " {}", p.wrap("2", &format!("({})", clean(g))));
        }
    }
    let _ = writeln!(out, "{line}");
    for i in &o.images {
        let _ = writeln!(
            out,
            "  image {}: {} → {}",
            clean(&i.container),
            clean(&i.from),
            clean(&i.to)
        );
    }
    if is_secret(o) {
        match &o.secret_keys {
            Some(keys) => {
                for (word, list) in [
                    ("added", &keys.added),
                    ("changed", &keys.changed),
                    ("removed", &keys.removed),
                ] {
                    if !list.is_empty() {
                        let names: Vec<String> = list.iter().map(|k| clean(k)).collect();
                        let _ = writeln!(out, "  keys {word}: {}", names.join(", "));
                    }
                }
                let _ = writeln!(out, "  (Secret values are never shown)");
            }
            None => {
                let _ = writeln!(out, "  (Secret values are never shown)");
            }
        }
        return;
    }
    for l in o.unified.lines() {
        let l = clean(l);
        let painted = if l.starts_with("@@") {
            p.wrap("36", &l)
        } else if l.starts_with('+') {
            p.wrap("32", &l)
        } else if l.starts_with('-') {
            p.wrap("31", &l)
        } else {
            l
        };
        let _ = writeln!(out, "  {painted}");
    }
}

fn cascade_text(c: &Cascade) -> String {
    let names: Vec<String> = c.dependents.iter().map(|d| clean(&d.to_string())).collect();
    format!(
        "↪ {} up the new {} {} (was {}): {}",
        cascade_subject(c),
        clean(&c.generated.kind),
        clean(&c.generated.name),
        clean(&c.from_name),
        names.join(", ")
    )
}

/// The diff as JSON for scripts (a Secret's `unified` is left out; its keys stay).
pub fn json(diff: &DiffReport) -> Value {
    let targets: Vec<Value> = diff.targets.iter().map(target_json).collect();
    let c = diff.counts();
    let images: Vec<Value> = diff
        .targets
        .iter()
        .flat_map(|t| {
            t.diff.objects.iter().flat_map(move |o| {
                o.images.iter().map(move |i| {
                    json!({
                        "environment": t.target.environment,
                        "target": t.target.dir,
                        "object": i.object,
                        "container": i.container,
                        "from": i.from,
                        "to": i.to,
                    })
                })
            })
        })
        .collect();
    json!({
        "base": diff.base,
        "head": diff.head,
        "targets": targets,
        "summary": {
            "targets": diff.targets.len(),
            "added": c.added,
            "changed": c.changed,
            "removed": c.removed,
            "classes": diff.classes(),
            "only_image_bumps": diff.only_image_bumps(),
            "images": images,
        },
    })
}

fn target_json(t: &TargetChange) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let Some(objects) = v
        .get_mut("diff")
        .and_then(|d| d.get_mut("objects"))
        .and_then(Value::as_array_mut)
    {
        for (o, src) in objects.iter_mut().zip(&t.diff.objects) {
            if is_secret(src)
                && let Some(map) = o.as_object_mut()
            {
                map.remove("unified");
            }
        }
    }
    v
}
