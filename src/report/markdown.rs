//! The check-run output and the sticky PR comment, in GitHub-flavoured markdown.
//!
//! Layout:
//!
//! - **summary** (check-run `output.summary`, and the top of the comment): a `###` headline
//!   (errors / warnings, or "No errors or warnings"), one line of object counts ("Only an image
//!   bump." when that is all the change is), a table environment × targets / added / changed /
//!   removed with a total row, the findings by severity, the change classes, targets that do not
//!   render, and a table of image bumps (environment, `old` → `new`, objects).
//! - **findings** (`## Findings`): errors and warnings first, then info, each grouped by file
//!   (`#### \`file\``), one list item per finding with its place as plain `file:line` text; a
//!   finding seen in several targets is listed once with every environment. Suppressed findings
//!   are counted, not listed.
//! - **changes** (`## Changes`): one collapsed `<details>` per target, its `<summary>` naming the
//!   environment, directory, counts and classes; inside, render errors quoted, then per object a
//!   line (status, `Kind/namespace/name`, `old → new` for a re-generated object, classes, source
//!   `file:line`, images) followed by its unified diff in a ```` ```diff ```` block (a Secret shows
//!   its changed keys instead, never the diff), and one line per cascade ("3 workloads pick up
//!   the new ConfigMap …").
//!
//! The check-run `text` is findings + changes. The comment is [`STICKY_MARKER`], the summary,
//! the findings and the changes as `comments.diff` says: `full` with diff blocks, `summary`
//! with the object lists only, `off` without the changes section.
//!
//! Sizes are counted in characters (Unicode scalar values, `str::chars().count()`), as GitHub
//! counts them; the byte length is then at most 4× that. When everything does not fit, the
//! output is cut between objects (never inside a code block or a `<details>`, every `<details>`
//! closed), then between targets, and ends with a line saying how many objects in how many
//! targets were left out and the `warden diff` command that shows them. One object diff larger
//! than [`MAX_OBJECT_DIFF`] is replaced by a line giving its changed-line counts.
//!
//! Everything that comes from the repo (names, paths, messages, images) is escaped: in code
//! spans with a fence longer than any backtick run inside, in table cells with `|` escaped, in
//! HTML with entities, in prose with backslashes; `@` is followed by a zero-width space so no
//! one is mentioned. Pure and deterministic: identical input gives identical bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::checks::Severity;
use crate::checks::run::{CheckReport, Reported};
use crate::diff::{Cascade, DiffReport, ObjectDiff, Status, TargetChange, TargetState};
use crate::repo::config::DiffMode;

/// The first line of Warden's one PR comment, so the App can find it and update it in place.
pub const STICKY_MARKER: &str = "<!-- warden:sticky-comment -->";
/// GitHub's limit on a check run's `output.summary` and `output.text`, in characters.
pub const CHECK_RUN_LIMIT: usize = 65_535;
/// GitHub's limit on an issue comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// The most the summary takes, so the findings and the diff have room in the comment.
pub const SUMMARY_BUDGET: usize = 16_000;
/// An object diff block longer than this (characters) is replaced by a "too large" line.
pub const MAX_OBJECT_DIFF: usize = 16_000;

/// Longest repo-provided name, path or image shown (longer ones end in `…`).
const MAX_NAME: usize = 300;
/// Longest finding message or render error shown.
const MAX_MESSAGE: usize = 2_000;
/// Cascade dependents, image objects and render-error targets named before "and N more".
const MAX_LISTED: usize = 10;

/// What a report is about, besides the reports themselves.
#[derive(Debug, Clone, Copy)]
pub struct ReportContext<'a> {
    /// How the base is named (`origin/main`, a SHA); shown and used in the `warden diff` hint.
    pub base: &'a str,
    /// How the head is named; `None` for a working tree (the `warden diff` hint then has no
    /// `--head`).
    pub head: Option<&'a str>,
    /// How much of the diff the comment shows (`comments.diff` in `.github/warden.yml`).
    pub diff_mode: DiffMode,
}

/// A check run's `output` (title, summary, text), each within GitHub's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRunOutput {
    pub title: String,
    pub summary: String,
    pub text: String,
}

/// The check run's output: a title, the summary and, as text, findings and every target's diff.
pub fn check_run(check: &CheckReport, diff: &DiffReport, ctx: &ReportContext) -> CheckRunOutput {
    let summary = summary(check, diff, SUMMARY_BUDGET.min(CHECK_RUN_LIMIT));
    let mut w = Writer::new(CHECK_RUN_LIMIT);
    let findings_budget = if diff.targets.is_empty() {
        CHECK_RUN_LIMIT
    } else {
        CHECK_RUN_LIMIT / 2
    };
    findings(&mut w, check, findings_budget);
    changes(&mut w, diff, ctx, Detail::Full);
    CheckRunOutput {
        title: title(check, diff),
        summary,
        text: w.out,
    }
}

/// The sticky PR comment: [`STICKY_MARKER`], the summary, the findings and the diff as
/// `ctx.diff_mode` says. At most [`COMMENT_LIMIT`] characters.
pub fn comment(check: &CheckReport, diff: &DiffReport, ctx: &ReportContext) -> String {
    let mut w = Writer::new(COMMENT_LIMIT);
    w.push(STICKY_MARKER);
    w.push("\n");
    let s = summary(check, diff, SUMMARY_BUDGET);
    w.push(&s);
    w.push("\n");
    let detail = match ctx.diff_mode {
        DiffMode::Full => Some(Detail::Full),
        DiffMode::Summary => Some(Detail::List),
        DiffMode::Off => None,
    };
    let findings_budget = match detail {
        Some(_) if !diff.targets.is_empty() => w.left() / 2,
        _ => w.left(),
    };
    findings(&mut w, check, findings_budget);
    if let Some(detail) = detail {
        changes(&mut w, diff, ctx, detail);
    }
    w.out
}

/// The rendered diff alone (ChatOps `diff`), in at most `limit` characters: every object in
/// full, or as one line each (`full` false), with a line saying what was left out.
pub fn changes_only(diff: &DiffReport, ctx: &ReportContext, full: bool, limit: usize) -> String {
    let mut w = Writer::new(limit);
    changes(
        &mut w,
        diff,
        ctx,
        if full { Detail::Full } else { Detail::List },
    );
    w.out
}

/// The check run's title: findings and the size of the change, in one short line.
pub fn title(check: &CheckReport, diff: &DiffReport) -> String {
    let s = check.summary();
    let verdict = if s.errors + s.warnings == 0 {
        "No errors or warnings".to_string()
    } else {
        severity_counts(s.errors, s.warnings)
    };
    let c = diff.counts();
    let total = c.added + c.changed + c.removed;
    if total == 0 {
        return format!("{verdict} · no rendered change");
    }
    let what = if diff.only_image_bumps() {
        "only an image bump".to_string()
    } else {
        format!(
            "{} change in {}",
            plural(total, "object", "objects"),
            plural(changed_targets(diff), "target", "targets")
        )
    };
    format!("{verdict} · {what}")
}

// ---------------------------------------------------------------------------------------------
// Summary

fn summary(check: &CheckReport, diff: &DiffReport, budget: usize) -> String {
    let mut w = Writer::new(budget);
    let s = check.summary();
    let headline = if s.errors > 0 {
        format!("### ❌ {}\n\n", severity_counts(s.errors, s.warnings))
    } else if s.warnings > 0 {
        format!("### ⚠️ {}\n\n", severity_counts(s.errors, s.warnings))
    } else {
        "### ✅ No errors or warnings\n\n".to_string()
    };
    w.push(&headline);

    let c = diff.counts();
    let total = c.added + c.changed + c.removed;
    if total == 0 {
        w.push("No rendered change.\n\n");
    } else {
        let mut line = format!(
            "**{} change in {}:** {} added, {} changed, {} removed.",
            plural(total, "object", "objects"),
            plural(changed_targets(diff), "target", "targets"),
            c.added,
            c.changed,
            c.removed
        );
        if diff.only_image_bumps() {
            line.push_str(" **Only an image bump.**");
        }
        line.push_str("\n\n");
        w.push(&line);
    }

    let mut findings_line = format!(
        "**Findings:** {} · {} · {} info",
        plural(s.errors, "error", "errors"),
        plural(s.warnings, "warning", "warnings"),
        s.infos
    );
    if s.suppressed > 0 {
        let _ = write!(findings_line, " · {} suppressed", s.suppressed);
    }
    findings_line.push_str("\n\n");
    w.push(&findings_line);

    let classes = diff.classes();
    if !classes.is_empty() {
        let list: Vec<String> = classes.iter().map(|c| format!("`{c}`")).collect();
        w.push(&format!("**Change classes:** {}\n\n", list.join(" · ")));
    }

    render_errors(&mut w, diff);
    environment_table(&mut w, diff);
    image_table(&mut w, diff);
    w.out
}

fn render_errors(w: &mut Writer, diff: &DiffReport) {
    let failed: Vec<(&TargetChange, &str)> = diff
        .targets
        .iter()
        .filter_map(|t| match &t.state {
            TargetState::BaseError { .. } => Some((t, "base")),
            TargetState::HeadError { .. } => Some((t, "head")),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return;
    }
    let mut line = format!(
        "**Does not render:** {}:",
        plural(failed.len(), "target", "targets")
    );
    for (i, (t, side)) in failed.iter().take(MAX_LISTED).enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let _ = write!(line, "{sep}{} at {side}", target_label(t));
    }
    if failed.len() > MAX_LISTED {
        let _ = write!(line, " and {} more", failed.len() - MAX_LISTED);
    }
    line.push_str("\n\n");
    w.push_if_fits(&line);
}

/// Per environment (in order of first appearance): targets, added, changed, removed.
fn environment_table(w: &mut Writer, diff: &DiffReport) {
    if diff.targets.is_empty() {
        return;
    }
    let mut order: Vec<&str> = Vec::new();
    let mut rows: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for t in &diff.targets {
        let env = t.target.environment.as_str();
        let row = rows.entry(env).or_insert_with(|| {
            order.push(env);
            [0; 4]
        });
        row[0] += 1;
        row[1] += t.diff.counts.added;
        row[2] += t.diff.counts.changed;
        row[3] += t.diff.counts.removed;
    }
    let head = "| Environment | Targets | Added | Changed | Removed |\n| --- | ---: | ---: | ---: | ---: |\n";
    let c = diff.counts();
    let total = format!(
        "| **Total** | {} | {} | {} | {} |\n\n",
        diff.targets.len(),
        c.added,
        c.changed,
        c.removed
    );
    let more_reserve = 60;
    if !w.fits(chars(head) + chars(&total) + more_reserve) {
        return;
    }
    w.push(head);
    let mut left = 0;
    for env in &order {
        let Some(r) = rows.get(env) else { continue };
        let row = format!(
            "| {} | {} | {} | {} | {} |\n",
            cell(&env_name(env)),
            r[0],
            r[1],
            r[2],
            r[3]
        );
        if left == 0 && w.fits(chars(&row) + chars(&total) + more_reserve) {
            w.push(&row);
        } else {
            left += 1;
        }
    }
    if left > 0 {
        w.push(&format!("| … {} more | | | | |\n", left));
    }
    w.push(&total);
}

/// Image bumps, per environment and `from → to`, with the objects that get them.
fn image_table(w: &mut Writer, diff: &DiffReport) {
    let mut order: Vec<(&str, &str, &str)> = Vec::new();
    let mut objects: BTreeMap<(&str, &str, &str), BTreeSet<String>> = BTreeMap::new();
    for t in &diff.targets {
        for o in &t.diff.objects {
            for i in &o.images {
                let key = (
                    t.target.environment.as_str(),
                    i.from.as_str(),
                    i.to.as_str(),
                );
                objects
                    .entry(key)
                    .or_insert_with(|| {
                        order.push(key);
                        BTreeSet::new()
                    })
                    .insert(i.object.to_string());
            }
        }
    }
    if order.is_empty() {
        return;
    }
    let head = "#### Image bumps\n\n| Environment | Image | Objects |\n| --- | --- | --- |\n";
    let more_reserve = 60;
    if !w.fits(chars(head) + more_reserve) {
        return;
    }
    w.push(head);
    let mut left = 0;
    for key in &order {
        let (env, from, to) = *key;
        let objs = objects.get(key).map(|s| s.iter().collect::<Vec<_>>());
        let objs = objs.unwrap_or_default();
        let mut listed: Vec<String> = objs.iter().take(3).map(|o| cell(o)).collect();
        if objs.len() > 3 {
            listed.push(format!("and {} more", objs.len() - 3));
        }
        let row = format!(
            "| {} | {} → {} | {} |\n",
            cell(&env_name(env)),
            cell(from),
            cell(to),
            listed.join(", ")
        );
        if left == 0 && w.fits(chars(&row) + more_reserve) {
            w.push(&row);
        } else {
            left += 1;
        }
    }
    if left > 0 {
        w.push(&format!("| … {} more | | |\n", left));
    }
    w.push("\n");
}

// ---------------------------------------------------------------------------------------------
// Findings

/// Findings that say the same thing at the same place, from several targets.
struct Group<'a> {
    first: &'a Reported,
    severity: Severity,
    places: BTreeSet<&'a str>,
}

fn groups(check: &CheckReport) -> Vec<Group<'_>> {
    let mut index: BTreeMap<(Option<&str>, usize, &str, &str), usize> = BTreeMap::new();
    let mut out: Vec<Group<'_>> = Vec::new();
    for f in check.findings.iter().filter(|f| !f.suppressed) {
        let key = (
            f.file.as_deref(),
            f.line,
            f.rule.as_str(),
            f.message.as_str(),
        );
        let place = f.environment.as_deref().or(f.target.as_deref());
        match index.get(&key).and_then(|&i| out.get_mut(i)) {
            Some(g) => {
                g.severity = g.severity.max(f.severity);
                g.places.extend(place);
            }
            None => {
                index.insert(key, out.len());
                out.push(Group {
                    first: f,
                    severity: f.severity,
                    places: place.into_iter().collect(),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        let file = |g: &Group| g.first.file.clone().unwrap_or_default();
        file(a)
            .cmp(&file(b))
            .then(a.first.line.cmp(&b.first.line))
            .then(b.severity.cmp(&a.severity))
            .then(a.first.rule.cmp(&b.first.rule))
            .then(a.first.message.cmp(&b.first.message))
    });
    out
}

fn findings(w: &mut Writer, check: &CheckReport, budget: usize) {
    let all = groups(check);
    let suppressed = check.findings.iter().filter(|f| f.suppressed).count();
    if all.is_empty() && suppressed == 0 {
        return;
    }
    let mut fw = Writer::new(budget.min(w.left()));
    let more_reserve = chars(&findings_left_out(all.len()));
    let suppressed_line = if suppressed > 0 {
        format!(
            "_{} not listed._\n\n",
            plural(
                suppressed,
                "suppressed finding is",
                "suppressed findings are"
            )
        )
    } else {
        String::new()
    };
    let reserve = more_reserve + chars(&suppressed_line);
    if !fw.fits(chars("## Findings\n\n") + reserve) {
        return;
    }
    fw.push("## Findings\n\n");
    let mut left = 0;
    let sections = [
        (
            "### Errors and warnings\n\n",
            all.iter()
                .filter(|g| g.severity > Severity::Info)
                .collect::<Vec<_>>(),
        ),
        (
            "### Info\n\n",
            all.iter()
                .filter(|g| g.severity == Severity::Info)
                .collect(),
        ),
    ];
    for (heading, list) in sections {
        let mut heading_done = false;
        let mut file_done: Option<&str> = None;
        for g in list {
            if left > 0 {
                left += 1;
                continue;
            }
            let file = g.first.file.as_deref().unwrap_or("");
            let mut piece = String::new();
            if !heading_done {
                piece.push_str(heading);
            }
            if file_done != Some(file) {
                if heading_done {
                    piece.push('\n');
                }
                let name = if file.is_empty() {
                    "(repository)".to_string()
                } else {
                    code(file)
                };
                let _ = write!(piece, "#### {name}\n\n");
            }
            piece.push_str(&finding_item(g));
            if fw.fits(chars(&piece) + reserve + 1) {
                fw.push(&piece);
                heading_done = true;
                file_done = Some(file);
            } else {
                left += 1;
            }
        }
        if heading_done {
            fw.push("\n");
        }
    }
    if left > 0 {
        fw.push(&findings_left_out(left));
    }
    fw.push(&suppressed_line);
    w.push(&fw.out);
}

fn findings_left_out(n: usize) -> String {
    format!(
        "_… {} left out to stay within GitHub's size limit; run `warden check` to see every one._\n\n",
        plural(n, "more finding", "more findings")
    )
}

fn finding_item(g: &Group) -> String {
    let f = g.first;
    let (icon, word) = match g.severity {
        Severity::Error => ("❌", "error"),
        Severity::Warning => ("⚠️", "warning"),
        Severity::Info => ("ℹ️", "info"),
    };
    let mut s = format!("- {icon} **{word}** {}", code(&f.rule));
    if let Some(file) = &f.file {
        let place = if f.line > 0 {
            format!("{file}:{}", f.line)
        } else {
            file.clone()
        };
        let _ = write!(s, " at {}", code(&place));
    }
    let _ = write!(s, ": {}", md_text(&clip(&f.message, MAX_MESSAGE)));
    let mut context = Vec::new();
    if let Some(r) = &f.resource {
        context.push(code(&r.to_string()));
    }
    if let Some(field) = &f.field {
        context.push(code(field));
    }
    if !g.places.is_empty() {
        let places: Vec<String> = g
            .places
            .iter()
            .map(|p| md_text(&clip(p, MAX_NAME)))
            .collect();
        context.push(format!("in {}", places.join(", ")));
    }
    if !context.is_empty() {
        let _ = write!(s, " ({})", context.join(" · "));
    }
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------------
// Changes

/// How much of each object the changes section shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Object lines with their diff blocks.
    Full,
    /// Object lines only.
    List,
}

/// One entry of a target's changes: an object, or a cascade standing for its dependents.
#[derive(Clone, Copy)]
enum Entry<'a> {
    Object(&'a ObjectDiff),
    Cascade(&'a Cascade),
}

impl Entry<'_> {
    /// How many objects it stands for.
    fn objects(&self) -> usize {
        match self {
            Entry::Object(_) => 1,
            Entry::Cascade(c) => c.dependents.len(),
        }
    }

    fn render(&self, detail: Detail) -> String {
        match (self, detail) {
            (Entry::Object(o), _) => object_item(o, detail),
            (Entry::Cascade(c), Detail::Full) => format!("{}\n\n", cascade_line(c)),
            (Entry::Cascade(c), Detail::List) => format!("- {}\n", cascade_line(c)),
        }
    }
}

fn changes(w: &mut Writer, diff: &DiffReport, ctx: &ReportContext, detail: Detail) {
    if diff.targets.is_empty() {
        return;
    }
    let heading = "## Changes\n\n";
    let total_objects: usize = diff
        .targets
        .iter()
        .flat_map(items)
        .map(|i| i.objects())
        .sum();
    // Room for the left-out line at its longest: the most objects and targets, any one
    // environment (quoted for the shell), and slack for plurals of smaller numbers.
    let envs: BTreeSet<&str> = diff
        .targets
        .iter()
        .map(|t| t.target.environment.as_str())
        .collect();
    let n = diff.targets.len();
    let reserve = envs
        .iter()
        .map(|e| chars(&left_out_line(ctx, total_objects, n, n, Some(e))))
        .max()
        .unwrap_or(0)
        + 16;
    if !w.fits(chars(heading) + reserve) {
        return;
    }
    w.push(heading);
    // Full items end in a blank line; list items do not.
    let footer = match detail {
        Detail::Full => "</details>\n\n",
        Detail::List => "\n</details>\n\n",
    };
    let footer_len = chars(footer);
    let mut stopped = false;
    let mut left_objects = 0;
    let mut left_targets = 0;
    let mut left_entirely = 0;
    let mut left_envs: BTreeSet<&str> = BTreeSet::new();
    for t in &diff.targets {
        // Rendered only while there is room: a huge change costs its counting, not its text.
        let mut list = items(t).peekable();
        let fits = |first: &Option<String>, head: &str| {
            w.fits(chars(head) + first.as_deref().map_or(0, chars) + footer_len + reserve)
        };
        let (head, first) = if stopped {
            (String::new(), None)
        } else {
            (target_head(t), list.peek().map(|i| i.render(detail)))
        };
        if stopped || !fits(&first, &head) {
            stopped = true;
            left_objects += list.map(|i| i.objects()).sum::<usize>();
            left_targets += 1;
            left_entirely += 1;
            left_envs.insert(&t.target.environment);
            continue;
        }
        w.push(&head);
        if let Some(text) = first {
            w.push(&text);
            list.next();
        }
        let mut partial = 0;
        for item in list {
            if stopped {
                partial += item.objects();
                continue;
            }
            let text = item.render(detail);
            if w.fits(chars(&text) + footer_len + reserve) {
                w.push(&text);
            } else {
                stopped = true;
                partial += item.objects();
            }
        }
        if partial > 0 {
            left_objects += partial;
            left_targets += 1;
            left_envs.insert(&t.target.environment);
        }
        w.push(footer);
    }
    if left_targets > 0 {
        let env = match left_envs.len() {
            1 => left_envs.first().copied(),
            _ => None,
        };
        let line = left_out_line(ctx, left_objects, left_targets, left_entirely, env);
        w.push(&line);
    }
}

/// "N objects in M targets … were left out" and the command that shows them.
fn left_out_line(
    ctx: &ReportContext,
    objects: usize,
    targets: usize,
    entirely: usize,
    env: Option<&str>,
) -> String {
    let mut cmd = format!("warden diff --base {}", shell_word(ctx.base));
    if let Some(head) = ctx.head {
        let _ = write!(cmd, " --head {}", shell_word(head));
    }
    if let Some(env) = env.filter(|e| !e.is_empty()) {
        let _ = write!(cmd, " --env {}", shell_word(env));
    }
    let whole = if entirely > 0 {
        format!(" ({entirely} of them entirely)")
    } else {
        String::new()
    };
    format!(
        "**Left out:** {} in {}{whole} did not fit GitHub's size limit. To see everything, run {}.\n",
        plural(objects, "object", "objects"),
        plural(targets, "target", "targets"),
        code(&cmd)
    )
}

/// The opening of a target's `<details>`, its notes, up to its first object.
fn target_head(t: &TargetChange) -> String {
    let c = t.diff.counts;
    let mut counts = Vec::new();
    for (n, word) in [
        (c.added, "added"),
        (c.changed, "changed"),
        (c.removed, "removed"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {word}"));
        }
    }
    if counts.is_empty() {
        counts.push("no change".into());
    }
    let mut summary = format!(
        "<b>{}</b> · <code>{}</code> · {}",
        html(&clip(&env_name(&t.target.environment), MAX_NAME)),
        html(&clip(&t.target.dir, MAX_NAME)),
        counts.join(", ")
    );
    if !t.diff.classes.is_empty() {
        let classes: Vec<&str> = t.diff.classes.iter().map(|c| c.as_str()).collect();
        let _ = write!(summary, " · {}", classes.join(", "));
    }
    let mut s = format!("<details><summary>{summary}</summary>\n\n");
    match &t.state {
        TargetState::Rendered => {}
        TargetState::New => s.push_str("_New target: every object is added._\n\n"),
        TargetState::Gone => s.push_str("_Target removed: every object is removed._\n\n"),
        TargetState::BaseError { message } => {
            s.push_str(&quote("The base does not render", message))
        }
        TargetState::HeadError { message } => {
            s.push_str(&quote("The head does not render", message))
        }
    }
    if t.diff.objects.is_empty() && t.diff.cascades.is_empty() {
        s.push_str("_No change in the rendered objects._\n\n");
    }
    s
}

/// A render error as a block quote, every line quoted and escaped.
fn quote(what: &str, message: &str) -> String {
    let mut s = format!("> **{what}:**\n");
    for line in clip(message, MAX_MESSAGE).lines() {
        let _ = writeln!(s, "> {}", md_text(line));
    }
    s.push('\n');
    s
}

/// A target's objects, then its cascades (those with dependents).
fn items(t: &TargetChange) -> impl Iterator<Item = Entry<'_>> {
    let objects = t.diff.objects.iter().map(Entry::Object);
    let cascades = t
        .diff
        .cascades
        .iter()
        .filter(|c| !c.dependents.is_empty())
        .map(Entry::Cascade);
    objects.chain(cascades)
}

/// True for objects whose content must never be shown: Secrets.
pub(crate) fn is_secret(o: &ObjectDiff) -> bool {
    o.secret_keys.is_some() || (o.key.group.is_empty() && o.key.kind == "Secret")
}

fn object_line(o: &ObjectDiff) -> String {
    let status = match o.status {
        Status::Added => "**added**",
        Status::Removed => "**removed**",
        Status::Changed => "**changed**",
    };
    let name = match &o.renamed_from {
        Some(old) => format!("{} → {}", code(&o.key.with_name(old)), code(&o.key.name)),
        None => code(&o.key.to_string()),
    };
    let mut s = format!("{status} {name}");
    if !o.classes.is_empty() {
        let classes: Vec<&str> = o.classes.iter().map(|c| c.as_str()).collect();
        let _ = write!(s, " · {}", classes.join(", "));
    }
    if let Some(src) = &o.source {
        let place = if src.line > 0 {
            format!("{}:{}", src.file, src.line)
        } else {
            src.file.clone()
        };
        let _ = write!(s, " · {}", code(&place));
        if let Some(g) = &src.generator {
            let _ = write!(s, " ({})", md_text(&clip(g, MAX_NAME)));
        }
    }
    for i in o.images.iter().take(MAX_LISTED) {
        let _ = write!(s, " · {} → {}", code(&i.from), code(&i.to));
    }
    if o.images.len() > MAX_LISTED {
        let _ = write!(s, " · and {} more images", o.images.len() - MAX_LISTED);
    }
    s
}

fn secret_keys_line(o: &ObjectDiff) -> String {
    let Some(keys) = &o.secret_keys else {
        return "Secret values are never shown.".into();
    };
    let mut parts = Vec::new();
    for (word, list) in [
        ("added", &keys.added),
        ("changed", &keys.changed),
        ("removed", &keys.removed),
    ] {
        if !list.is_empty() {
            let names: Vec<String> = list.iter().take(50).map(|k| code(k)).collect();
            let more = if list.len() > 50 {
                format!(" and {} more", list.len() - 50)
            } else {
                String::new()
            };
            parts.push(format!("{word} {}{more}", names.join(", ")));
        }
    }
    if parts.is_empty() {
        "Keys: none changed (values are never shown).".into()
    } else {
        format!("Keys {} (values are never shown).", parts.join("; "))
    }
}

fn object_item(o: &ObjectDiff, detail: Detail) -> String {
    let line = object_line(o);
    match detail {
        Detail::List => {
            if is_secret(o) {
                format!("- {line} — {}\n", secret_keys_line(o))
            } else {
                format!("- {line}\n")
            }
        }
        Detail::Full => {
            if is_secret(o) {
                return format!("{line}  \n{}\n\n", secret_keys_line(o));
            }
            if o.unified.is_empty() {
                return format!("{line}\n\n");
            }
            // Measured before it is copied: the block is the diff and a few fence characters.
            let too_large = o.unified.len() > 4 * MAX_OBJECT_DIFF
                || chars(&o.unified) + 2 * (longest_run(&o.unified, '`') + 4) + 8 > MAX_OBJECT_DIFF;
            if too_large {
                let (plus, minus) = line_counts(&o.unified);
                format!(
                    "{line}  \n_Diff too large to show here (+{plus} −{minus} lines); `warden diff` shows it._\n\n"
                )
            } else {
                format!("{line}\n{}\n", fenced("diff", &o.unified))
            }
        }
    }
}

/// `+` and `-` lines of a unified diff.
fn line_counts(unified: &str) -> (usize, usize) {
    let plus = unified.lines().filter(|l| l.starts_with('+')).count();
    let minus = unified.lines().filter(|l| l.starts_with('-')).count();
    (plus, minus)
}

/// Workload kinds, for "3 workloads pick up …".
const WORKLOADS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
];

/// "3 workloads pick" (or "objects" when not all are workloads).
pub(crate) fn cascade_subject(c: &Cascade) -> String {
    let n = c.dependents.len();
    if c.dependents
        .iter()
        .all(|d| WORKLOADS.contains(&d.kind.as_str()))
    {
        plural(n, "workload picks", "workloads pick")
    } else {
        plural(n, "object picks", "objects pick")
    }
}

fn cascade_line(c: &Cascade) -> String {
    let n = c.dependents.len();
    let what = cascade_subject(c);
    let mut names: Vec<String> = c
        .dependents
        .iter()
        .take(MAX_LISTED)
        .map(|d| code(&d.to_string()))
        .collect();
    if n > MAX_LISTED {
        names.push(format!("and {} more", n - MAX_LISTED));
    }
    format!(
        "↪ {what} up the new {} {} (was {}): {}",
        md_text(&clip(&c.generated.kind, MAX_NAME)),
        code(&c.generated.name),
        code(&c.from_name),
        names.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Appends while counting characters; callers check [`Writer::fits`] before pushing.
struct Writer {
    out: String,
    used: usize,
    limit: usize,
}

impl Writer {
    fn new(limit: usize) -> Writer {
        Writer {
            out: String::new(),
            used: 0,
            limit,
        }
    }

    fn fits(&self, n: usize) -> bool {
        self.used + n <= self.limit
    }

    fn left(&self) -> usize {
        self.limit.saturating_sub(self.used)
    }

    fn push(&mut self, s: &str) {
        self.used += chars(s);
        self.out.push_str(s);
    }

    fn push_if_fits(&mut self, s: &str) {
        if self.fits(chars(s)) {
            self.push(s);
        }
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn severity_counts(errors: usize, warnings: usize) -> String {
    format!(
        "{}, {}",
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings")
    )
}

fn changed_targets(diff: &DiffReport) -> usize {
    diff.targets.iter().filter(|t| !t.diff.is_empty()).count()
}

fn env_name(env: &str) -> String {
    if env.is_empty() {
        "(none)".into()
    } else {
        env.to_string()
    }
}

fn target_label(t: &TargetChange) -> String {
    format!(
        "{} ({})",
        code(&t.target.dir),
        md_text(&clip(&env_name(&t.target.environment), MAX_NAME))
    )
}

/// At most `max` characters, ending in `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().nth(max).is_none() {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Control characters (newlines included) as spaces: a name stays on its line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for x in s.chars() {
        if x == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Repo text as an inline code span, delimited by more backticks than it holds. In a code
/// span nothing is markdown or HTML and no one is mentioned.
pub(crate) fn code(s: &str) -> String {
    let s = one_line(&clip(s, MAX_NAME));
    if s.trim().is_empty() {
        return "(empty)".into();
    }
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = s.starts_with('`') || s.ends_with('`') || (s.starts_with(' ') && s.ends_with(' '));
    if pad {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

/// Repo text as a table cell: a code span with `|` escaped (GFM splits cells first).
pub(crate) fn cell(s: &str) -> String {
    code(s).replace('|', "\\|")
}

/// Repo text as markdown prose: punctuation that could start markup is backslash-escaped,
/// `$` cannot start math, `@` cannot mention, control characters become spaces.
pub(crate) fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '!' | '&' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200B}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Repo text inside HTML (`<summary>`): entities, no mentions, one line.
pub(crate) fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '@' => out.push_str("@\u{200B}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block safe for any content: the fence is longer than any backtick run in it.
pub(crate) fn fenced(lang: &str, body: &str) -> String {
    let fence = "`".repeat((longest_run(body, '`') + 1).max(3));
    let mut s = format!("{fence}{lang}\n{body}");
    if !body.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&fence);
    s.push('\n');
    s
}

/// A word for a POSIX shell: bare when plain, else single-quoted.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:@^~+=".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", one_line(s).replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_span_fence_is_longer_than_any_backtick_run() {
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("plain"), "`plain`");
    }

    #[test]
    fn fenced_block_outlasts_backticks_inside() {
        let b = fenced("diff", "+ x: ````y\n");
        assert!(b.starts_with("`````diff\n"));
        assert!(b.ends_with("\n`````\n"));
    }

    #[test]
    fn prose_and_html_escape_markup() {
        assert_eq!(
            md_text("<b>*x*</b> | @me"),
            "\\<b\\>\\*x\\*\\</b\\> \\| @\u{200B}me"
        );
        assert_eq!(html("<img src=x>&"), "&lt;img src=x&gt;&amp;");
        assert_eq!(cell("a|b"), "`a\\|b`");
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("origin/main"), "origin/main");
        assert_eq!(shell_word("working tree"), "'working tree'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
