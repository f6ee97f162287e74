//! Finding `/warden` commands in a comment body (pure). A command is a line that starts with the
//! prefix (after at most three spaces), then whitespace or the end of the line, then a verb and
//! its arguments. Lines GitHub does not show as text are never commands: block quotes (`>`),
//! fenced code blocks (``` and ~~~, as CommonMark closes them), indented code (four spaces or a
//! tab) and HTML comments. Characters that only look like the prefix (a fullwidth `／`, a
//! Cyrillic `а`, a zero-width space inside it) do not make a command.

use std::fmt;

/// The prefix when `.github/warden.yml` does not set `chatops.prefix`.
pub const DEFAULT_PREFIX: &str = "/warden";
/// At most this many commands in one comment; more is an error and nothing runs.
pub const MAX_COMMANDS: usize = 10;
/// Longest argument accepted (a Kubernetes name is at most 253 characters).
const MAX_ARG: usize = 253;
const MAX_ARGS: usize = 8;

/// What a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Help,
    Validate,
    Diff,
    Explain,
    Hold,
    Unhold,
    Merge,
}

impl Verb {
    pub const ALL: [Verb; 7] = [
        Verb::Help,
        Verb::Validate,
        Verb::Diff,
        Verb::Explain,
        Verb::Hold,
        Verb::Unhold,
        Verb::Merge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verb::Help => "help",
            Verb::Validate => "validate",
            Verb::Diff => "diff",
            Verb::Explain => "explain",
            Verb::Hold => "hold",
            Verb::Unhold => "unhold",
            Verb::Merge => "merge",
        }
    }

    pub fn parse(s: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.name() == s)
    }

    /// How it is written, for help and error replies.
    pub fn usage(self) -> &'static str {
        match self {
            Verb::Help => "help [VERB]",
            Verb::Validate => "validate",
            Verb::Diff => "diff [ENV|TARGET] [--full]",
            Verb::Explain => "explain RULE",
            Verb::Hold => "hold [ENV] [-- reason]",
            Verb::Unhold => "unhold [ENV]",
            Verb::Merge => "merge",
        }
    }

    /// What it does, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            Verb::Help => "the commands, their arguments and who may run them",
            Verb::Validate => "re-run the full pipeline on the pull request's current head",
            Verb::Diff => "post the rendered diff of one environment or target",
            Verb::Explain => "what a rule checks, why, how to fix it, and its findings here",
            Verb::Hold => {
                "hold this pull request (or everything for ENV) from auto-merge, promotion and deploy approval"
            }
            Verb::Unhold => "lift a hold",
            Verb::Merge => {
                "merge now if every auto-merge condition holds but the trusted author: you vouch for the author"
            }
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One command, with its arguments checked for shape (not yet against the repo's config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Index among the comment's command lines (with the comment id, the key that keeps a
    /// command from running twice).
    pub position: usize,
    /// 1-based line of the comment.
    pub line: usize,
    pub verb: Verb,
    pub args: Args,
    /// The line as written, trimmed.
    pub text: String,
}

/// A command's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    Help {
        verb: Option<Verb>,
    },
    Validate,
    Diff {
        scope: Option<String>,
        full: bool,
    },
    Explain {
        rule: String,
    },
    Hold {
        env: Option<String>,
        reason: Option<String>,
    },
    Unhold {
        env: Option<String>,
    },
    Merge,
}

/// Why a comment's commands do not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// More than [`MAX_COMMANDS`] command lines.
    TooMany { found: usize },
    UnknownVerb {
        line: usize,
        verb: String,
        suggestion: Option<Verb>,
    },
    BadArgs {
        line: usize,
        verb: Verb,
        why: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TooMany { found } => write!(
                f,
                "{found} commands in one comment; at most {MAX_COMMANDS} run, so none did"
            ),
            Problem::UnknownVerb {
                line,
                verb,
                suggestion,
            } => {
                write!(f, "line {line}: `{}` is not a command", clip(verb, 40))?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => Ok(()),
                }
            }
            Problem::BadArgs { line, verb, why } => {
                write!(f, "line {line}: {why} (usage: `{}`)", verb.usage())
            }
        }
    }
}

/// The commands of a comment, or why they do not run (then none of them does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub problems: Vec<Problem>,
}

impl Parsed {
    /// Nothing in the comment addressed Warden.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.problems.is_empty()
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Whether a line opens or closes a fence: its character and length.
fn fence(line: &str) -> Option<(char, usize)> {
    let t = strip_indent(line)?;
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    // A backtick fence's info string may not contain backticks.
    (n >= 3 && !(c == '`' && t[n..].contains('`'))).then_some((c, n))
}

/// The line without up to three leading spaces; None when it is indented code.
fn strip_indent(line: &str) -> Option<&str> {
    let spaces = line.bytes().take_while(|&b| b == b' ').count();
    if spaces >= 4 || line[spaces..].starts_with('\t') {
        return None;
    }
    Some(&line[spaces..])
}

/// The lines that are commands: (1-based line, text after the prefix).
fn command_lines<'a>(body: &'a str, prefix: &str) -> Vec<(usize, &'a str, &'a str)> {
    let mut out = Vec::new();
    let mut in_fence: Option<(char, usize)> = None;
    let mut in_html_comment = false;
    for (i, raw) in body.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((c, n)) = in_fence {
            if let Some((c2, n2)) = fence(line)
                && c2 == c
                && n2 >= n
                && strip_indent(line).is_some_and(|t| t.trim_start_matches(c).trim().is_empty())
            {
                in_fence = None;
            }
            continue;
        }
        if in_html_comment {
            if line.contains("-->") {
                in_html_comment = false;
            }
            continue;
        }
        if let Some(f) = fence(line) {
            in_fence = Some(f);
            continue;
        }
        // An HTML comment opened on this line and not closed hides the lines that follow.
        if let Some(i) = line.rfind("<!--") {
            in_html_comment = !line[i + 4..].contains("-->");
        }
        let Some(t) = strip_indent(line) else {
            continue;
        };
        if t.starts_with("<!--") {
            continue;
        }
        if t.starts_with('>') {
            continue;
        }
        let Some(rest) = t.strip_prefix(prefix) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace())) {
            continue;
        }
        out.push((i + 1, t.trim_end(), rest.trim()));
    }
    out
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ARG
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && !s.starts_with('-')
        && !s.split('/').any(|p| p == "..")
}

fn args_of(verb: Verb, words: &[&str], reason: Option<&str>) -> Result<Args, String> {
    if words.len() > MAX_ARGS {
        return Err(format!("{} arguments is too many", words.len()));
    }
    let name = |w: &str, what: &str| -> Result<String, String> {
        if name_ok(w) {
            Ok(w.to_string())
        } else {
            Err(format!(
                "`{}` is not {what} (letters, digits, `-`, `_`, `.`, `/`)",
                clip(w, 40)
            ))
        }
    };
    if reason.is_some() && verb != Verb::Hold {
        return Err(format!("`{verb}` takes no `-- reason`"));
    }
    let at_most = |n: usize| -> Result<(), String> {
        if words.len() > n {
            Err(format!("unexpected `{}`", clip(words[n], 40)))
        } else {
            Ok(())
        }
    };
    Ok(match verb {
        Verb::Help => {
            at_most(1)?;
            match words.first() {
                None => Args::Help { verb: None },
                Some(w) => Args::Help {
                    verb: Some(
                        Verb::parse(w)
                            .ok_or_else(|| format!("`{}` is not a command", clip(w, 40)))?,
                    ),
                },
            }
        }
        Verb::Validate => {
            at_most(0)?;
            Args::Validate
        }
        Verb::Diff => {
            let mut scope = None;
            let mut full = false;
            for w in words {
                if *w == "--full" {
                    full = true;
                } else if w.starts_with('-') {
                    return Err(format!("unknown option `{}`", clip(w, 40)));
                } else if scope.is_some() {
                    return Err(format!("unexpected `{}`", clip(w, 40)));
                } else {
                    scope = Some(name(w, "an environment or target")?);
                }
            }
            Args::Diff { scope, full }
        }
        Verb::Explain => {
            at_most(1)?;
            let rule = words.first().ok_or("which rule? name one")?;
            Args::Explain {
                rule: name(rule, "a rule id")?,
            }
        }
        Verb::Hold => {
            at_most(1)?;
            let reason = reason.map(|r| clip(r, 500)).filter(|r| !r.is_empty());
            Args::Hold {
                env: words
                    .first()
                    .map(|w| name(w, "an environment"))
                    .transpose()?,
                reason,
            }
        }
        Verb::Unhold => {
            at_most(1)?;
            Args::Unhold {
                env: words
                    .first()
                    .map(|w| name(w, "an environment"))
                    .transpose()?,
            }
        }
        Verb::Merge => {
            at_most(0)?;
            Args::Merge
        }
    })
}

/// Parse a comment's body. `prefix` is the configured prefix (`/warden`). When any command
/// line is wrong, none runs: `commands` is empty and `problems` says why.
pub fn parse(body: &str, prefix: &str) -> Parsed {
    let mut parsed = parse_lines(body, prefix);
    if !parsed.problems.is_empty() {
        parsed.commands.clear();
    }
    parsed
}

fn parse_lines(body: &str, prefix: &str) -> Parsed {
    let lines = command_lines(body, prefix);
    if lines.len() > MAX_COMMANDS {
        return Parsed {
            commands: Vec::new(),
            problems: vec![Problem::TooMany { found: lines.len() }],
        };
    }
    let mut parsed = Parsed::default();
    for (position, (line, text, rest)) in lines.into_iter().enumerate() {
        let (head, reason) = match rest.split_once(" -- ") {
            Some((h, r)) => (h, Some(r.trim())),
            None => match rest.strip_suffix(" --") {
                Some(h) => (h, Some("")),
                None => (rest, None),
            },
        };
        let words: Vec<&str> = head.split_whitespace().collect();
        // The prefix alone asks for help.
        let (verb_word, words) = match words.split_first() {
            Some((v, w)) => (*v, w),
            None => ("help", &[][..]),
        };
        let Some(verb) = Verb::parse(verb_word) else {
            parsed.problems.push(Problem::UnknownVerb {
                line,
                verb: verb_word.to_string(),
                suggestion: closest(verb_word),
            });
            continue;
        };
        match args_of(verb, words, reason) {
            Ok(args) => parsed.commands.push(Command {
                position,
                line,
                verb,
                args,
                text: text.to_string(),
            }),
            Err(why) => parsed.problems.push(Problem::BadArgs { line, verb, why }),
        }
    }
    parsed
}

/// The known verb nearest to `word`, if any is near.
pub fn closest(word: &str) -> Option<Verb> {
    let lower = word.to_lowercase();
    Verb::ALL
        .into_iter()
        .map(|v| (strsim::damerau_levenshtein(&lower, v.name()), v))
        .filter(|(d, v)| *d <= (v.name().len() / 2).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// For an edited comment: the commands of `after` whose line was not a command line of
/// `before` (each earlier line is matched once), with their positions in `after`.
pub fn added(before: &str, after: &str, prefix: &str) -> Parsed {
    let mut parsed = parse_lines(after, prefix);
    let mut old: Vec<String> = command_lines(before, prefix)
        .into_iter()
        .map(|(_, t, _)| t.to_string())
        .collect();
    let new_lines: Vec<usize> = command_lines(after, prefix)
        .into_iter()
        .filter_map(|(line, t, _)| match old.iter().position(|o| o == t) {
            Some(i) => {
                old.swap_remove(i);
                None
            }
            None => Some(line),
        })
        .collect();
    parsed.commands.retain(|c| new_lines.contains(&c.line));
    parsed.problems.retain(|p| match p {
        Problem::TooMany { .. } => true,
        Problem::UnknownVerb { line, .. } | Problem::BadArgs { line, .. } => {
            new_lines.contains(line)
        }
    });
    if !parsed.problems.is_empty() {
        parsed.commands.clear();
    }
    parsed
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
