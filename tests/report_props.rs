//! Properties of the reports over random diffs with many and large targets: GitHub's size
//! limits hold, every code fence and `<details>` is closed, the "Left out" line appears exactly
//! when something was left out and counts it right, annotations come in batches of at most 50
//! that cover them all; names from the repo are escaped and no Secret value is ever printed.

mod report_common;

use proptest::prelude::*;
use report_common::*;
use warden::checks::Severity;
use warden::checks::run::{CheckReport, Reported};
use warden::diff::{Cascade, DiffReport, ObjectDiff, SecretKeys, Status, TargetState};
use warden::repo::config::DiffMode;
use warden::report::{annotations, diff, markdown};

/// A small deterministic generator, so one proptest seed expands into a large report.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// Characters that could break markdown, HTML or a table when they come from the repo.
const NASTY: &[&str] = &[
    "`",
    "``",
    "<",
    ">",
    "|",
    "*",
    "_",
    "<details>",
    "</details>",
    "```",
    "@all",
    "\n",
    "&amp;",
    "[x](y)",
    "é",
    "😀",
];

fn nasty(r: &mut Lcg, weird: bool) -> String {
    if !weird {
        return String::new();
    }
    (0..r.below(4))
        .map(|_| NASTY[r.below(NASTY.len() as u64) as usize])
        .collect()
}

#[derive(Debug, Clone)]
struct Shape {
    targets: usize,
    per: usize,
    max_lines: usize,
    weird: bool,
    seed: u64,
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        0usize..360,
        0usize..6,
        0usize..1500,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(targets, per, max_lines, weird, seed)| Shape {
            targets,
            per,
            max_lines,
            weird,
            seed,
        })
}

/// Object names are `o<t>-<i>z` and cascades `g<t>z`: unique, and none is a substring of
/// another, so a test can tell which were shown.
fn build(s: &Shape) -> DiffReport {
    let mut r = Lcg(s.seed);
    let mut targets = Vec::new();
    for t in 0..s.targets {
        let env = format!("env{}{}", r.below(5), nasty(&mut r, s.weird));
        let dir = format!("clusters/c{t}z{}", nasty(&mut r, s.weird));
        let per = r.below(s.per as u64 + 1) as usize;
        let mut objects: Vec<ObjectDiff> = Vec::new();
        for i in 0..per {
            let ns = format!("ns{}", nasty(&mut r, s.weird));
            let mut o = image_bump(&dir, &ns, &format!("o{t}-{i}z"), "r/a:1", "r/a:2");
            o.status = match r.below(3) {
                0 => Status::Added,
                1 => Status::Removed,
                _ => Status::Changed,
            };
            let lines = r.below(s.max_lines as u64 + 1);
            let mut u = String::from("@@ -1 +1 @@\n");
            for l in 0..lines {
                u.push_str(&format!(
                    "+  k{l}: {}\n",
                    nasty(&mut r, s.weird).replace('\n', " ")
                ));
            }
            o.unified = u;
            if r.below(6) == 0 {
                o.key.kind = "Secret".into();
                o.key.group = String::new();
                o.secret_keys = (r.below(2) == 0).then(|| SecretKeys {
                    changed: vec!["password".into()],
                    ..SecretKeys::default()
                });
                o.unified = format!("-  password: old\n+  password: {SECRET_VALUE}\n");
            }
            objects.push(o);
        }
        let cascades = if r.below(3) == 0 {
            let n = r.below(25) as usize + 1;
            vec![Cascade {
                generated: key("", "ConfigMap", "ns", &format!("g{t}z")),
                from_name: "old".into(),
                dependents: (0..n)
                    .map(|i| key("apps", "Deployment", "ns", &format!("d{t}-{i}")))
                    .collect(),
            }]
        } else {
            vec![]
        };
        let state = match r.below(8) {
            0 => TargetState::HeadError {
                message: format!("boom {}", nasty(&mut r, s.weird).repeat(50)),
            },
            1 => TargetState::New,
            _ => TargetState::Rendered,
        };
        targets.push(target(&env, &dir, state, objects, cascades));
    }
    DiffReport {
        base: "origin/main".into(),
        head: "head sha".into(),
        targets,
    }
}

fn build_check(s: &Shape, n: usize) -> CheckReport {
    let mut r = Lcg(s.seed ^ 0x9e37);
    let findings = (0..n)
        .map(|i| Reported {
            rule: format!("rule-{}", r.below(5)),
            severity: match r.below(3) {
                0 => Severity::Error,
                1 => Severity::Warning,
                _ => Severity::Info,
            },
            message: format!(
                "message {} {}",
                r.below(40),
                nasty(&mut r, s.weird).repeat(r.below(200) as usize)
            ),
            file: (r.below(5) != 0).then(|| format!("./f{}.yaml", r.below(30))),
            line: r.below(40) as usize,
            target: Some(format!("t{}", i % 9)),
            environment: (r.below(2) == 0).then(|| format!("env{}", r.below(3))),
            resource: None,
            field: None,
            suppressed: r.below(10) == 0,
        })
        .collect();
    CheckReport {
        targets: vec![],
        findings,
    }
}

fn ctx(mode: DiffMode) -> markdown::ReportContext<'static> {
    markdown::ReportContext {
        base: "origin/main",
        head: Some("head sha"),
        diff_mode: mode,
    }
}

/// Every fenced code block is closed, and `<details>` open and close in pairs outside code.
fn assert_well_formed(md: &str) {
    let mut fence: Option<usize> = None;
    let mut details = 0i64;
    for line in md.lines() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(n) => {
                if ticks >= n && line.trim_end().chars().all(|c| c == '`') {
                    fence = None;
                }
            }
            None => {
                if ticks >= 3 {
                    fence = Some(ticks);
                } else if line.starts_with("<details>") {
                    assert_eq!(details, 0, "nested or unclosed <details>");
                    details += 1;
                } else if line.starts_with("</details>") {
                    details -= 1;
                    assert_eq!(details, 0, "</details> without <details>");
                }
            }
        }
    }
    assert_eq!(fence, None, "unclosed code fence");
    assert_eq!(details, 0, "unclosed <details>");
}

/// Objects left out of the changes section, and the targets not shown whole.
fn expected_left_out(d: &DiffReport, md: &str) -> (usize, usize) {
    let changes = md.split_once("## Changes").map_or("", |(_, c)| c);
    let mut objects = 0;
    let mut targets = 0;
    for (t, tc) in d.targets.iter().enumerate() {
        let mut missing = 0;
        for (i, _) in tc.diff.objects.iter().enumerate() {
            if !changes.contains(&format!("o{t}-{i}z")) {
                missing += 1;
            }
        }
        for c in &tc.diff.cascades {
            if !changes.contains(&format!("`g{t}z`")) {
                missing += c.dependents.len();
            }
        }
        let header_shown = changes.contains(&format!("<code>clusters/c{t}z"));
        if missing > 0 || !header_shown {
            objects += missing;
            targets += 1;
        }
    }
    (objects, targets)
}

fn left_out_line(md: &str) -> Option<(usize, usize)> {
    let re = regex::Regex::new(r"\*\*Left out:\*\* (\d+) objects? in (\d+) targets?").ok()?;
    let c = re.captures(md)?;
    Some((c[1].parse().ok()?, c[2].parse().ok()?))
}

fn within(s: &str, limit: usize) {
    let n = s.chars().count();
    assert!(n <= limit, "{n} characters > {limit}");
    assert!(s.len() <= 4 * limit, "{} bytes > 4 × {limit}", s.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    #[test]
    fn markdown_stays_within_limits_and_well_formed(s in shapes(), findings in 0usize..400) {
        let d = build(&s);
        let check = build_check(&s, findings);
        let out = markdown::check_run(&check, &d, &ctx(DiffMode::Full));
        within(&out.summary, markdown::CHECK_RUN_LIMIT);
        within(&out.text, markdown::CHECK_RUN_LIMIT);
        assert_well_formed(&out.summary);
        assert_well_formed(&out.text);
        let expected = expected_left_out(&d, &out.text);
        match left_out_line(&out.text) {
            Some(got) => prop_assert_eq!(got, expected),
            None => prop_assert_eq!(expected, (0, 0)),
        }
        for mode in [DiffMode::Full, DiffMode::Summary, DiffMode::Off] {
            let c = markdown::comment(&check, &d, &ctx(mode));
            within(&c, markdown::COMMENT_LIMIT);
            assert_well_formed(&c);
            prop_assert!(c.starts_with(markdown::STICKY_MARKER));
            prop_assert!(!c.contains(SECRET_VALUE));
            if mode != DiffMode::Off {
                let expected = expected_left_out(&d, &c);
                match left_out_line(&c) {
                    Some(got) => prop_assert_eq!(got, expected),
                    None => prop_assert_eq!(expected, (0, 0)),
                }
            }
            if mode == DiffMode::Summary {
                prop_assert!(!c.contains("```diff"));
            }
        }
        prop_assert!(!out.text.contains(SECRET_VALUE));
        prop_assert!(!diff::text(&d, true).contains(SECRET_VALUE));
        prop_assert!(!diff::json(&d).to_string().contains(SECRET_VALUE));
    }

    #[test]
    fn annotation_batches_cover_everything(s in shapes(), findings in 0usize..700) {
        let check = build_check(&s, findings);
        let all = annotations::annotations(&check);
        let mut covered = Vec::new();
        for b in annotations::batches(&all) {
            prop_assert!(!b.is_empty() && b.len() <= annotations::MAX_PER_REQUEST);
            covered.extend_from_slice(b);
        }
        prop_assert_eq!(&covered, &all);
        let distinct: std::collections::BTreeSet<_> = check
            .findings
            .iter()
            .filter(|f| !f.suppressed)
            .filter_map(|f| {
                let file = f.file.as_deref()?.trim_start_matches("./").to_string();
                Some((file, f.line.max(1), f.rule.clone(), f.message.clone()))
            })
            .collect();
        prop_assert_eq!(all.len(), distinct.len());
        for a in &all {
            prop_assert!(a.start_line >= 1 && a.end_line == a.start_line);
            prop_assert!(!a.path.starts_with("./"));
            prop_assert!(a.message.len() <= annotations::MAX_FIELD_BYTES);
        }
    }
}

#[test]
fn a_300_target_change_is_cut_and_says_so() {
    let d = many(300, 4, 30);
    let out = markdown::check_run(&clean_check(), &d, &ctx(DiffMode::Full));
    within(&out.text, markdown::CHECK_RUN_LIMIT);
    assert_well_formed(&out.text);
    let (objects, targets) = left_out_line(&out.text).expect("a Left out line");
    assert!(objects > 0 && targets > 0);
    assert!(
        out.text
            .contains("`warden diff --base origin/main --head 'head sha'`")
    );
    // Nearly all the room is used.
    assert!(out.text.chars().count() > markdown::CHECK_RUN_LIMIT - 5_000);
}

#[test]
fn one_huge_object_is_named_not_cut() {
    let mut d = many(1, 1, 20_000);
    d.targets[0].diff.objects[0]
        .unified
        .push_str("+  last: line\n");
    let out = markdown::check_run(&clean_check(), &d, &ctx(DiffMode::Full));
    assert!(
        out.text
            .contains("Diff too large to show here (+20001 −20000 lines)"),
        "{}",
        out.text
    );
    assert!(!out.text.contains("```diff"));
    assert!(left_out_line(&out.text).is_none());
    assert_well_formed(&out.text);
}

#[test]
fn only_the_left_out_environment_is_named() {
    let mut d = many(60, 3, 200);
    for t in &mut d.targets {
        t.target.environment = "production".into();
    }
    let out = markdown::check_run(&clean_check(), &d, &ctx(DiffMode::Full));
    assert!(out.text.contains("--env production`"), "{}", out.text);
}

fn nasty_report() -> (CheckReport, DiffReport) {
    let mut d = realistic();
    let evil = "evil<img src=x onerror=alert(1)>|*x*`tick``|@everyone";
    d.targets[0].target.environment = "prod<b>|x".into();
    d.targets[0].target.dir = "dir</summary><script>alert(1)</script>".into();
    d.targets[0].diff.objects[0].key.name = evil.into();
    d.targets[0].diff.objects[0].images[0].object.name = evil.into();
    d.targets[0].diff.objects[0].images[0].to = "r/app:`1|2`<i>".into();
    let mut check = realistic_check();
    check.findings[0].message =
        "token ghp_<b>s3cr3t</b> | **bold** [link](http://x) @everyone $x$".into();
    check.findings[0].file = Some("a|b<c>.yaml".into());
    (check, d)
}

/// The text outside inline code spans (CommonMark: a run of n backticks up to the next run of
/// exactly n; a backslash-escaped backtick opens nothing). Code blocks are dropped too.
fn without_code_spans(md: &str) -> String {
    let mut out = String::new();
    let mut in_block = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        let c: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < c.len() {
            if c[i] == '\\' && i + 1 < c.len() {
                out.push(c[i]);
                out.push(c[i + 1]);
                i += 2;
            } else if c[i] == '`' {
                let n = c[i..].iter().take_while(|&&x| x == '`').count();
                let mut j = i + n;
                let mut close = None;
                while j < c.len() {
                    if c[j] == '`' {
                        let m = c[j..].iter().take_while(|&&x| x == '`').count();
                        if m == n {
                            close = Some(j + m);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(end) => {
                        out.push_str("CODE");
                        i = end;
                    }
                    None => {
                        out.extend(&c[i..i + n]);
                        i += n;
                    }
                }
            } else {
                out.push(c[i]);
                i += 1;
            }
        }
        out.push('\n');
    }
    out
}

/// Unescaped `|` in a table row (a `\|` does not split cells).
fn cells(row: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
    }
    n
}

#[test]
fn names_and_messages_from_the_repo_are_escaped() {
    let (check, d) = nasty_report();
    let c = markdown::comment(&check, &d, &ctx(DiffMode::Full));
    let prose = without_code_spans(&c);
    for raw in [
        "<img",
        "<script",
        "prod<b>",
        "s3cr3t</b>",
        "<i>",
        "</summary><",
        "**bold**",
        "[link](",
        "@everyone",
        "ghp_<b>",
    ] {
        assert!(!prose.contains(raw), "unescaped {raw:?} in\n{prose}");
    }
    // Secret-like text in a non-secret field is shown, escaped, not dropped.
    assert!(c.contains("ghp\\_\\<b\\>s3cr3t\\</b\\>"), "{c}");
    assert!(c.contains("@\u{200B}everyone"));
    assert!(c.contains("&lt;script&gt;"));
    // Every table row keeps its columns.
    for line in c.lines().filter(|l| l.starts_with('|')) {
        let n = cells(line);
        assert!(n == 6 || n == 4, "{n} cells in {line:?}");
    }
    assert_well_formed(&c);
}

#[test]
fn no_secret_value_in_any_output() {
    let d = realistic();
    // The hand-made Secret carries a value in its unified diff, as a buggy engine might.
    assert!(
        d.targets
            .iter()
            .flat_map(|t| &t.diff.objects)
            .any(|o| o.unified.contains(SECRET_VALUE))
    );
    let check = realistic_check();
    let mut outputs = vec![
        diff::text(&d, false),
        diff::text(&d, true),
        diff::json(&d).to_string(),
    ];
    let out = markdown::check_run(&check, &d, &ctx(DiffMode::Full));
    outputs.extend([out.title, out.summary, out.text]);
    for mode in [DiffMode::Full, DiffMode::Summary, DiffMode::Off] {
        outputs.push(markdown::comment(&check, &d, &ctx(mode)));
    }
    for o in &outputs {
        assert!(!o.contains(SECRET_VALUE), "secret value in\n{o}");
        assert!(!o.contains("old-value"), "secret value in\n{o}");
    }
    // The keys are there.
    assert!(outputs.iter().any(|o| o.contains("`password`")));
}

#[test]
fn a_secret_without_key_list_shows_nothing_of_its_content() {
    let mut d = realistic();
    for t in &mut d.targets {
        for o in &mut t.diff.objects {
            if o.key.kind == "Secret" {
                o.secret_keys = None;
            }
        }
    }
    let c = markdown::comment(&clean_check(), &d, &ctx(DiffMode::Full));
    assert!(!c.contains(SECRET_VALUE));
    assert!(c.contains("Secret values are never shown."));
}
