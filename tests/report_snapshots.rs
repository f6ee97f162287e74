//! Snapshots of the reports of a rendered diff on hand-built realistic changes: the check-run
//! summary and text, the sticky comment in each `comments.diff` mode, the terminal text with
//! and without color, the JSON and the annotations. A change in any byte shows up in review.

mod report_common;

use report_common::*;
use warden::repo::config::DiffMode;
use warden::report::{annotations, diff, markdown};

fn ctx(mode: DiffMode) -> markdown::ReportContext<'static> {
    markdown::ReportContext {
        base: "origin/main",
        head: Some("3f2a9c1"),
        diff_mode: mode,
    }
}

#[test]
fn check_run_title_and_summary() {
    let out = markdown::check_run(&realistic_check(), &realistic(), &ctx(DiffMode::Full));
    insta::assert_snapshot!(format!("{}\n---\n{}", out.title, out.summary));
}

#[test]
fn check_run_text() {
    let out = markdown::check_run(&realistic_check(), &realistic(), &ctx(DiffMode::Full));
    insta::assert_snapshot!(out.text);
}

#[test]
fn check_run_image_bump_only() {
    let out = markdown::check_run(&clean_check(), &image_bump_only(), &ctx(DiffMode::Full));
    assert!(out.summary.contains("Only an image bump"));
    insta::assert_snapshot!(format!(
        "{}\n---\n{}\n---\n{}",
        out.title, out.summary, out.text
    ));
}

#[test]
fn comment_full() {
    let c = markdown::comment(&realistic_check(), &realistic(), &ctx(DiffMode::Full));
    assert!(c.starts_with(markdown::STICKY_MARKER));
    insta::assert_snapshot!(c);
}

#[test]
fn comment_summary_mode() {
    let c = markdown::comment(&realistic_check(), &realistic(), &ctx(DiffMode::Summary));
    assert!(!c.contains("```diff"), "summary mode shows no diff blocks");
    insta::assert_snapshot!(c);
}

#[test]
fn comment_off_mode() {
    let c = markdown::comment(&realistic_check(), &realistic(), &ctx(DiffMode::Off));
    assert!(!c.contains("## Changes"));
    insta::assert_snapshot!(c);
}

#[test]
fn comment_truncated_300_targets() {
    let d = many(300, 3, 12);
    let c = markdown::comment(&clean_check(), &d, &ctx(DiffMode::Full));
    assert!(c.chars().count() <= markdown::COMMENT_LIMIT);
    // The head and the tail are what a reviewer reads; the middle is 60 KB of the same shape.
    let mut head = String::new();
    for line in c.lines() {
        if head.len() > 3000 {
            break;
        }
        head.push_str(line);
        head.push('\n');
    }
    let tail: Vec<&str> = c.lines().rev().take(6).collect();
    insta::assert_snapshot!(format!(
        "{head}\n[…]\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ));
}

#[test]
fn terminal_text_plain() {
    insta::assert_snapshot!(diff::text(&realistic(), false));
}

#[test]
fn terminal_text_color() {
    let t = diff::text(&realistic(), true);
    assert!(t.contains("\x1b[32m+  LOG_LEVEL: debug\x1b[0m"));
    assert!(t.contains("\x1b[31m-  LOG_LEVEL: info\x1b[0m"));
    assert!(t.contains("\x1b[36m@@"));
    insta::assert_snapshot!(t.replace('\x1b', "\\e"));
}

#[test]
fn json_report() {
    insta::assert_json_snapshot!(diff::json(&realistic()));
}

#[test]
fn annotations_of_realistic_check() {
    let a = annotations::annotations(&realistic_check());
    insta::assert_json_snapshot!(a);
}

#[test]
fn identical_input_identical_bytes() {
    let a = markdown::comment(&realistic_check(), &realistic(), &ctx(DiffMode::Full));
    let b = markdown::comment(&realistic_check(), &realistic(), &ctx(DiffMode::Full));
    assert_eq!(a, b);
    assert_eq!(
        diff::json(&realistic()).to_string(),
        diff::json(&realistic()).to_string()
    );
}
