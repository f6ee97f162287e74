//! Whether a pull request may be auto-merged (pure): every condition of `automerge:` in
//! `.github/warden.yml` is checked, and each one that fails is named with what would make the
//! pull request eligible, for the verdict in the check run.

use std::fmt;

use crate::diff::{ChangeClass as DiffClass, DiffReport};
use crate::repo::config::{Author, Automerge, Bump, ChangeClass, Date, RepoConfig};
use crate::store::Hold;

/// The label that keeps a pull request from auto-merge.
pub const DO_NOT_MERGE: &str = "do-not-merge";

/// The state of one check or status that branch protection requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required {
    pub name: String,
    /// `success`, `pending`, `failure`, … (`missing` when it has not reported).
    pub state: String,
}

/// Everything the decision looks at, read at evaluation time.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub author: &'a str,
    /// The `org/team` slugs the author belongs to, among the teams `automerge.authors` names.
    pub author_teams: &'a [String],
    /// A person with write access said `/warden merge`: the author need not be trusted.
    pub vouched_by: Option<&'a str>,
    pub draft: bool,
    pub from_fork: bool,
    pub labels: &'a [String],
    /// This pull request's hold and the repository's environment holds.
    pub holds: &'a [Hold],
    pub today: Date,
    /// Repo-relative paths of the files the pull request changes.
    pub changed_files: &'a [String],
    pub diff: &'a DiffReport,
    /// Warden's own check on the head: passed with no error finding.
    pub warden_passed: bool,
    pub required: &'a [Required],
    /// What GitHub says of mergeability (None: not computed yet).
    pub mergeable: Option<bool>,
    /// Approving reviews branch protection requires, and those the head has.
    pub reviews_needed: u32,
    pub approvals: u32,
    /// Reviewers whose latest review requests changes.
    pub changes_requested: &'a [String],
}

/// One condition that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    NotConfigured,
    NoChange,
    Environment {
        target: String,
        environment: String,
    },
    Class {
        target: String,
        classes: Vec<String>,
    },
    File {
        path: String,
    },
    ImageBump {
        image: String,
        from: String,
        to: String,
        why: String,
    },
    WardenCheck,
    RequiredCheck {
        name: String,
        state: String,
    },
    Held {
        what: String,
        by: String,
        reason: String,
    },
    Label,
    Frozen {
        today: String,
    },
    Draft,
    Fork,
    Author {
        login: String,
    },
    NotMergeable,
    MergeabilityUnknown,
    /// Branch protection wants approving reviews the pull request does not have yet.
    Review {
        needed: u32,
        have: u32,
    },
    /// A reviewer asked for changes.
    ChangesRequested {
        by: String,
    },
    /// GitHub refused the merge (a rule Warden cannot read, for instance), with its message.
    Refused {
        message: String,
    },
    /// The head moved after the evaluation: the new head is evaluated on its own.
    HeadMoved,
}

impl Unmet {
    /// What would make the pull request eligible.
    pub fn fix(&self) -> String {
        match self {
            Unmet::NotConfigured => {
                "list environments, authors and classes under `automerge:` in .github/warden.yml".into()
            }
            Unmet::NoChange => "nothing to merge automatically; merge it by hand".into(),
            Unmet::Environment { .. } => {
                "move this change to its own pull request, or allow the environment in `automerge.environments`".into()
            }
            Unmet::Class { .. } => {
                "keep the pull request to allowed changes (`automerge.classes`), or merge it by hand".into()
            }
            Unmet::File { .. } => "such files are never auto-merged; merge by hand".into(),
            Unmet::ImageBump { .. } => {
                "a smaller version step, or a wider rule in `automerge.images`".into()
            }
            Unmet::WardenCheck => "fix the error findings of the `warden` check".into(),
            Unmet::RequiredCheck { .. } => "wait for it to pass, or fix it".into(),
            Unmet::Held { .. } => "`/warden unhold` when it may go".into(),
            Unmet::Label => format!("remove the `{DO_NOT_MERGE}` label"),
            Unmet::Frozen { .. } => "wait for the freeze window to end".into(),
            Unmet::Draft => "mark it ready for review".into(),
            Unmet::Fork => "pull requests from forks are never auto-merged".into(),
            Unmet::Author { .. } => {
                "a person with write access can vouch for the author with `/warden merge`".into()
            }
            Unmet::NotMergeable => "resolve the conflicts with the base branch".into(),
            Unmet::MergeabilityUnknown => "GitHub is still computing it; Warden looks again".into(),
            Unmet::Review { .. } => {
                "Warden waits for the review branch protection requires; it never bypasses one".into()
            }
            Unmet::ChangesRequested { .. } => "address the review, then ask for a new one".into(),
            Unmet::Refused { .. } => {
                "see what the pull request's merge box says is missing (a rule, a review or a check Warden cannot read)".into()
            }
            Unmet::HeadMoved => "nothing: the new head is checked and evaluated".into(),
        }
    }
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unmet::NotConfigured => f.write_str("auto-merge is not configured for this repository"),
            Unmet::NoChange => f.write_str("it changes no rendered object"),
            Unmet::Environment {
                target,
                environment,
            } => write!(
                f,
                "it changes `{target}` ({environment}), where auto-merge is not allowed"
            ),
            Unmet::Class { target, classes } => write!(
                f,
                "its changes to `{target}` are of class {}, not only allowed ones",
                classes.join(", ")
            ),
            Unmet::File { path } => write!(f, "it changes `{path}`"),
            Unmet::ImageBump {
                image,
                from,
                to,
                why,
            } => write!(f, "`{image}` {from} → {to}: {why}"),
            Unmet::WardenCheck => f.write_str("Warden's check did not pass"),
            Unmet::RequiredCheck { name, state } => {
                write!(f, "the required check `{name}` is {state}")
            }
            Unmet::Held { what, by, reason } => {
                write!(f, "{what} is held by @{by}")?;
                if !reason.is_empty() {
                    write!(f, ": {reason}")?;
                }
                Ok(())
            }
            Unmet::Label => write!(f, "it has the `{DO_NOT_MERGE}` label"),
            Unmet::Frozen { today } => write!(f, "{today} is in a freeze window"),
            Unmet::Draft => f.write_str("it is a draft"),
            Unmet::Fork => f.write_str("it comes from a fork"),
            Unmet::Author { login } => write!(f, "@{login} is not a trusted author"),
            Unmet::NotMergeable => f.write_str("GitHub says it cannot be merged"),
            Unmet::MergeabilityUnknown => {
                f.write_str("GitHub has not said whether it can be merged")
            }
            Unmet::Review { needed, have } => write!(
                f,
                "branch protection requires {needed} approving review{} and it has {have}",
                if *needed == 1 { "" } else { "s" }
            ),
            Unmet::ChangesRequested { by } => write!(f, "@{by} requested changes"),
            Unmet::Refused { message } => write!(f, "GitHub refused the merge: {message}"),
            Unmet::HeadMoved => f.write_str("new commits were pushed after it was evaluated"),
        }
    }
}

/// The decision: eligible when nothing is unmet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub unmet: Vec<Unmet>,
}

impl Verdict {
    pub fn eligible(&self) -> bool {
        self.unmet.is_empty()
    }
}

fn config_class(c: DiffClass) -> ChangeClass {
    match c {
        DiffClass::ImageBump => ChangeClass::ImageBump,
        DiffClass::Scale => ChangeClass::Scale,
        DiffClass::Config => ChangeClass::Config,
        DiffClass::Rbac => ChangeClass::Rbac,
        DiffClass::Crd => ChangeClass::Crd,
        DiffClass::NewResource => ChangeClass::NewResource,
        DiffClass::Deletion => ChangeClass::Deletion,
        DiffClass::Namespace => ChangeClass::Namespace,
        DiffClass::Other => ChangeClass::Other,
    }
}

/// A version as tags write it: `v1.2.3`, `1.2`, `1.2.3-rc.1` (numbers, then an optional
/// suffix).
fn version(tag: &str) -> Option<(Vec<u64>, &str)> {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    let (nums, rest) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let parts: Option<Vec<u64>> = nums.split('.').map(|p| p.parse().ok()).collect();
    let parts = parts?;
    (!parts.is_empty() && parts.len() <= 3).then_some((parts, rest))
}

/// Split a reference into (name, tag, digest).
fn parts(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].find(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// The size of an image change, if the rule allows it: Ok, or why not.
pub fn bump_allowed(from: &str, to: &str, allowed: Bump) -> Result<(), String> {
    let (from_name, from_tag, from_digest) = parts(from);
    let (to_name, to_tag, to_digest) = parts(to);
    if from_name != to_name {
        return Err(format!("the image changes from {from_name} to {to_name}"));
    }
    if from_tag == to_tag {
        return if from_digest != to_digest {
            Ok(())
        } else {
            Err("nothing changes".into())
        };
    }
    if allowed == Bump::Digest {
        return Err("only a new digest of the same tag is allowed".into());
    }
    let (Some((a, a_rest)), Some((b, b_rest))) =
        (from_tag.and_then(version), to_tag.and_then(version))
    else {
        return Err("the tags are not versions, so the size of the change is unknown".into());
    };
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    let (major, minor, patch) = (
        at(&b, 0).cmp(&at(&a, 0)),
        at(&b, 1).cmp(&at(&a, 1)),
        at(&b, 2).cmp(&at(&a, 2)),
    );
    use std::cmp::Ordering::*;
    let step = match (major, minor, patch) {
        (Greater, _, _) => Bump::Major,
        (Equal, Greater, _) => Bump::Minor,
        (Equal, Equal, Greater) => Bump::Patch,
        (Equal, Equal, Equal) if a_rest != b_rest => Bump::Patch,
        _ => return Err("it is a downgrade".into()),
    };
    if step <= allowed {
        Ok(())
    } else {
        Err(format!(
            "a {} step, and `automerge.images` allows at most {}",
            step.as_str(),
            allowed.as_str()
        ))
    }
}

fn trusted(a: &Automerge, c: &Candidate<'_>) -> bool {
    a.authors.iter().any(|t| match t {
        Author::User(u) | Author::Bot(u) => u.eq_ignore_ascii_case(c.author),
        Author::Team { org, team } => c
            .author_teams
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&format!("{org}/{team}"))),
    })
}

/// Evaluate every condition.
pub fn evaluate(config: &RepoConfig, c: &Candidate<'_>) -> Verdict {
    let a = &config.automerge;
    let mut unmet = Vec::new();
    if a.environments.is_empty() || a.authors.is_empty() {
        return Verdict {
            unmet: vec![Unmet::NotConfigured],
        };
    }
    // The default: image bumps only.
    let classes: Vec<ChangeClass> = if a.classes.is_empty() {
        vec![ChangeClass::ImageBump]
    } else {
        a.classes.clone()
    };
    let changed: Vec<_> = c
        .diff
        .targets
        .iter()
        .filter(|t| !t.diff.is_empty())
        .collect();
    if changed.is_empty() {
        unmet.push(Unmet::NoChange);
    }
    for t in &changed {
        let env = &t.target.environment;
        if !a.environments.contains(env) {
            unmet.push(Unmet::Environment {
                target: t.target.dir.clone(),
                environment: if env.is_empty() {
                    "no environment".into()
                } else {
                    env.clone()
                },
            });
            continue;
        }
        let bad: Vec<String> = t
            .diff
            .classes
            .iter()
            .filter(|k| !classes.contains(&config_class(**k)))
            .map(|k| config_class(*k).as_str().to_string())
            .collect();
        if !bad.is_empty() {
            unmet.push(Unmet::Class {
                target: t.target.dir.clone(),
                classes: bad,
            });
        }
        for o in &t.diff.objects {
            for i in &o.images {
                if let Some(rule) = a.image_rule(&i.to)
                    && let Err(why) = bump_allowed(&i.from, &i.to, rule)
                {
                    let (name, _, _) = parts(&i.to);
                    let change = Unmet::ImageBump {
                        image: name.to_string(),
                        from: i.from.clone(),
                        to: i.to.clone(),
                        why,
                    };
                    if !unmet.contains(&change) {
                        unmet.push(change);
                    }
                }
            }
        }
    }
    for path in c.changed_files {
        let policy = config
            .policies
            .paths
            .iter()
            .any(|p| path == p || path.starts_with(&format!("{p}/")));
        if path.starts_with(".github/") || policy {
            unmet.push(Unmet::File { path: path.clone() });
        }
    }
    if !c.warden_passed {
        unmet.push(Unmet::WardenCheck);
    }
    for r in c.required {
        if r.state != "success" && r.state != "neutral" && r.state != "skipped" {
            unmet.push(Unmet::RequiredCheck {
                name: r.name.clone(),
                state: r.state.clone(),
            });
        }
    }
    let envs: Vec<&str> = changed
        .iter()
        .map(|t| t.target.environment.as_str())
        .collect();
    for h in c.holds {
        let what = match (&h.pr, &h.environment) {
            (Some(n), _) => Some(format!("pull request #{n}")),
            (None, Some(e)) if envs.contains(&e.as_str()) => Some(format!("`{e}`")),
            _ => None,
        };
        if let Some(what) = what {
            unmet.push(Unmet::Held {
                what,
                by: h.by.clone(),
                reason: h.reason.clone(),
            });
        }
    }
    if c.labels
        .iter()
        .any(|l| l.eq_ignore_ascii_case(DO_NOT_MERGE))
    {
        unmet.push(Unmet::Label);
    }
    if a.frozen(c.today) {
        unmet.push(Unmet::Frozen {
            today: c.today.to_string(),
        });
    }
    if c.draft {
        unmet.push(Unmet::Draft);
    }
    if c.from_fork {
        unmet.push(Unmet::Fork);
    }
    if c.vouched_by.is_none() && !trusted(a, c) {
        unmet.push(Unmet::Author {
            login: c.author.to_string(),
        });
    }
    if c.approvals < c.reviews_needed {
        unmet.push(Unmet::Review {
            needed: c.reviews_needed,
            have: c.approvals,
        });
    }
    for by in c.changes_requested {
        unmet.push(Unmet::ChangesRequested { by: by.clone() });
    }
    match c.mergeable {
        Some(true) => {}
        Some(false) => unmet.push(Unmet::NotMergeable),
        None => unmet.push(Unmet::MergeabilityUnknown),
    }
    Verdict { unmet }
}

#[cfg(test)]
#[path = "eligibility_tests.rs"]
mod tests;
