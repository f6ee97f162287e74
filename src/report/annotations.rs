//! Check-run annotations from `warden check` findings, as GitHub's `output.annotations[]` takes
//! them: at most [`MAX_PER_REQUEST`] per API request, paths relative to the repo root.
//!
//! Only findings with a file are annotated; suppressed ones are not. A finding seen in several
//! targets (one base file under several overlays) becomes one annotation naming every
//! environment. Sorted by path, line, level (most severe first), rule and message.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::checks::Severity;
use crate::checks::run::CheckReport;

/// GitHub takes at most 50 annotations per check-run create or update request.
pub const MAX_PER_REQUEST: usize = 50;
/// GitHub's limit on an annotation's `message`, `raw_details` (64 KB), in bytes.
pub const MAX_FIELD_BYTES: usize = 65_536;
/// GitHub's limit on an annotation's `title`, in characters.
pub const MAX_TITLE_CHARS: usize = 255;

/// An annotation's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Notice,
    Warning,
    Failure,
}

impl From<Severity> for Level {
    fn from(s: Severity) -> Level {
        match s {
            Severity::Error => Level::Failure,
            Severity::Warning => Level::Warning,
            Severity::Info => Level::Notice,
        }
    }
}

/// One item of a check run's `output.annotations`, serialized exactly as GitHub takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    /// Relative to the repo root, `/`-separated.
    pub path: String,
    /// 1-based.
    pub start_line: usize,
    pub end_line: usize,
    pub annotation_level: Level,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_details: Option<String>,
}

/// What one annotation is about before it is written.
#[derive(Default)]
struct Merged<'a> {
    severity: Option<Severity>,
    places: BTreeSet<&'a str>,
    details: BTreeSet<String>,
}

/// The annotations for a check's findings: unsuppressed findings with a file, merged across
/// targets, sorted.
pub fn annotations(check: &CheckReport) -> Vec<Annotation> {
    let mut merged: BTreeMap<(String, usize, &str, &str), Merged<'_>> = BTreeMap::new();
    for f in &check.findings {
        if f.suppressed {
            continue;
        }
        let Some(file) = f.file.as_deref() else {
            continue;
        };
        let path = relative(file);
        if path.is_empty() {
            continue;
        }
        let line = f.line.max(1);
        let m = merged
            .entry((path, line, f.rule.as_str(), f.message.as_str()))
            .or_default();
        m.severity = Some(m.severity.map_or(f.severity, |s| s.max(f.severity)));
        if let Some(p) = f.environment.as_deref().or(f.target.as_deref()) {
            m.places.insert(p);
        }
        let mut detail = Vec::new();
        if let Some(r) = &f.resource {
            detail.push(r.to_string());
        }
        if let Some(field) = &f.field {
            detail.push(field.clone());
        }
        if let Some(t) = &f.target {
            detail.push(format!("target {t}"));
        }
        if !detail.is_empty() {
            m.details.insert(detail.join(" · "));
        }
    }
    let mut out: Vec<Annotation> = merged
        .into_iter()
        .map(|((path, line, rule, message), m)| {
            let title = if m.places.is_empty() {
                rule.to_string()
            } else {
                let places: Vec<&str> = m.places.into_iter().collect();
                format!("{rule} ({})", places.join(", "))
            };
            let details: Vec<String> = m.details.into_iter().collect();
            Annotation {
                path,
                start_line: line,
                end_line: line,
                annotation_level: m.severity.unwrap_or(Severity::Info).into(),
                message: clip_bytes(message, MAX_FIELD_BYTES),
                title: Some(clip_chars(&title, MAX_TITLE_CHARS)),
                raw_details: (!details.is_empty())
                    .then(|| clip_bytes(&details.join("\n"), MAX_FIELD_BYTES)),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.path
            .cmp(&b.path)
            .then(a.start_line.cmp(&b.start_line))
            .then(b.annotation_level.cmp(&a.annotation_level))
            .then(a.title.cmp(&b.title))
            .then(a.message.cmp(&b.message))
    });
    out
}

/// The annotations in request-sized batches of at most [`MAX_PER_REQUEST`].
pub fn batches(a: &[Annotation]) -> impl Iterator<Item = &[Annotation]> {
    a.chunks(MAX_PER_REQUEST)
}

/// A repo-relative path as GitHub wants it: `/`-separated, no leading `./` or `/`.
fn relative(file: &str) -> String {
    let mut p = file.replace('\\', "/");
    loop {
        if let Some(rest) = p.strip_prefix("./") {
            p = rest.to_string();
        } else if let Some(rest) = p.strip_prefix('/') {
            p = rest.to_string();
        } else {
            break;
        }
    }
    p
}

/// At most `max` bytes, cut on a character boundary, ending in `…` when cut.
fn clip_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let ellipsis = '…';
    let mut end = max.saturating_sub(ellipsis.len_utf8());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s.get(..end).unwrap_or("").to_string();
    out.push(ellipsis);
    out
}

fn clip_chars(s: &str, max: usize) -> String {
    super::markdown::clip(s, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bytes_respects_char_boundaries() {
        let s = "é".repeat(10);
        let c = clip_bytes(&s, 8);
        assert!(c.len() <= 8, "{c}");
        assert!(c.ends_with('…'));
        assert_eq!(clip_bytes("abc", 3), "abc");
    }

    #[test]
    fn relative_paths_lose_leading_dots_and_slashes() {
        assert_eq!(relative("./a/b.yaml"), "a/b.yaml");
        assert_eq!(relative("/a\\b.yaml"), "a/b.yaml");
    }
}
