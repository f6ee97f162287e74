//! The text of Warden's reply to a command comment (pure): one section per command, within
//! GitHub's comment limit.

use crate::chatops::parse::{Problem, Verb};
use crate::chatops::{READ_ONLY, required};
use crate::repo::config::Chatops;
use crate::store::Hold;

/// Starts every reply (and lets Warden recognise its own).
pub const REPLY_MARKER: &str = "<!-- warden:chatops -->";
pub use crate::report::markdown::COMMENT_LIMIT;

/// How one command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Done(String),
    Denied(String),
    Failed(String),
}

/// The help text: every command, its arguments, what it does and who may run it here.
pub fn help(config: &Chatops, only: Option<Verb>) -> String {
    let mut out = String::from("| command | does | who may run it |\n|---|---|---|\n");
    for v in Verb::ALL {
        if only.is_some_and(|o| o != v) {
            continue;
        }
        let mut who = format!("`{}` or above", required(config, v.name()));
        if READ_ONLY.contains(&v.name()) {
            who.push_str(", or the pull request's author");
        }
        if let Some(teams) = config.teams.get(v.name()).filter(|t| !t.is_empty()) {
            let list: Vec<String> = teams.iter().map(|t| format!("@{t}")).collect();
            who.push_str(&format!("; members of {} only", list.join(", ")));
        }
        out.push_str(&format!(
            "| `{} {}` | {} | {who} |\n",
            config.prefix,
            v.usage(),
            v.summary()
        ));
    }
    out
}

/// The reply to a comment whose commands could not run.
pub fn problems(config: &Chatops, problems: &[Problem]) -> String {
    let mut out = format!("{REPLY_MARKER}\n**Nothing was run.**\n\n");
    for p in problems {
        out.push_str(&format!("- {p}\n"));
    }
    out.push_str("\n<details><summary>Commands</summary>\n\n");
    out.push_str(&help(config, None));
    out.push_str("\n</details>\n");
    cut(out)
}

/// The reply to a comment's commands: one section per command, in order.
pub fn results(sections: &[(String, Answer)]) -> String {
    let mut out = format!("{REPLY_MARKER}\n");
    for (text, r) in sections {
        let (mark, body) = match r {
            Answer::Done(b) => ("✅", b),
            Answer::Denied(b) => ("⛔", b),
            Answer::Failed(b) => ("❌", b),
        };
        out.push_str(&format!(
            "{mark} `{}`\n\n{body}\n\n",
            text.replace('`', "'")
        ));
    }
    cut(out)
}

/// Holds as a list for replies and the check run summary.
pub fn holds(list: &[Hold]) -> String {
    if list.is_empty() {
        return "No holds.".into();
    }
    let mut out = String::new();
    for h in list {
        let what = match (&h.pr, &h.environment) {
            (Some(n), _) => format!("pull request #{n}"),
            (None, Some(e)) => format!("everything that targets `{e}`"),
            (None, None) => "the repository".into(),
        };
        out.push_str(&format!("- {what}, held by @{}", h.by));
        if !h.reason.is_empty() {
            out.push_str(&format!(": {}", h.reason));
        }
        out.push('\n');
    }
    out
}

/// Cut to GitHub's comment limit, saying so.
pub fn cut(text: String) -> String {
    cut_to(text, COMMENT_LIMIT)
}

/// Cut to `limit` characters, saying so.
pub fn cut_to(text: String, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text;
    }
    let note = format!("\n\n… (cut at GitHub's {limit}-character limit)");
    let keep = limit - note.chars().count();
    let mut t: String = text.chars().take(keep).collect();
    t.push_str(&note);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::config::Permission;

    #[test]
    fn help_lists_every_command_with_who_may_run_it_here() {
        let mut c = Chatops::default();
        c.permissions.insert("diff".into(), Permission::Write);
        c.teams.insert("hold".into(), vec!["acme/platform".into()]);
        let h = help(&c, None);
        for v in Verb::ALL {
            assert!(h.contains(&format!("`/warden {}`", v.usage())), "{h}");
        }
        assert!(h.contains("| `/warden diff [ENV|TARGET] [--full]` | post the rendered diff of one environment or target | `write` or above, or the pull request's author |"), "{h}");
        assert!(
            h.contains("`write` or above; members of @acme/platform only"),
            "{h}"
        );
        assert_eq!(help(&c, Some(Verb::Explain)).lines().count(), 3);
    }

    #[test]
    fn replies_stay_within_the_comment_limit() {
        let long = "x".repeat(70_000);
        let r = results(&[("/warden diff".into(), Answer::Done(long))]);
        assert_eq!(r.chars().count(), COMMENT_LIMIT);
        assert!(
            r.ends_with("65536-character limit)"),
            "{}",
            &r[r.len() - 60..]
        );
        assert!(r.starts_with(REPLY_MARKER));
    }
}
