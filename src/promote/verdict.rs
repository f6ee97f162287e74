//! The auto-merge verdict as the `warden` check run shows it (pure): merged, queued, or not
//! auto-merged with every failed condition and what would make the pull request eligible.

use super::eligibility::Verdict;

/// Where the check run's auto-merge section starts (the section is replaced, never repeated).
pub const SECTION_MARKER: &str = "\n\n### Auto-merge\n";

/// What Warden did with a pull request it considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Merged with the evaluated head; `sha` is the merge commit.
    Merged {
        sha: String,
        method: String,
        evaluated: String,
    },
    /// Added to the merge queue branch protection requires.
    Queued { evaluated: String },
    /// Not merged, and why.
    NotMerged(Verdict),
}

/// The section appended to the check run's summary.
pub fn section(decision: &Decision, prefix: &str) -> String {
    let mut out = String::from(SECTION_MARKER);
    match decision {
        Decision::Merged {
            sha,
            method,
            evaluated,
        } => out.push_str(&format!(
            "**Merged** by Warden ({method}) as `{}`: every condition held for the evaluated head `{}`.\n",
            short(sha),
            short(evaluated)
        )),
        Decision::Queued { evaluated } => out.push_str(&format!(
            "**Added to the merge queue**: every condition held for the evaluated head `{}`; \
             the queue merges it once its checks pass on the merge group.\n",
            short(evaluated)
        )),
        Decision::NotMerged(v) => {
            out.push_str("**Not auto-merged**:\n");
            for u in &v.unmet {
                out.push_str(&format!("- {u} — {}\n", u.fix()));
            }
            out.push_str(&format!(
                "\nWarden evaluates again when checks, statuses, reviews, labels or holds change \
                 (`{prefix} merge` lets a writer vouch for an untrusted author).\n"
            ));
        }
    }
    out
}

/// `summary` with its auto-merge section replaced by `section` (at most `limit` bytes: the
/// summary is cut, never the section).
pub fn with_section(summary: &str, section: &str, limit: usize) -> String {
    let base = summary
        .find(SECTION_MARKER)
        .map_or(summary, |i| &summary[..i]);
    let room = limit.saturating_sub(section.len());
    let mut cut = room.min(base.len());
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{section}", &base[..cut])
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promote::eligibility::Unmet;

    #[test]
    fn the_section_names_each_failed_condition_with_its_fix() {
        let v = Verdict {
            unmet: vec![
                Unmet::Draft,
                Unmet::Author {
                    login: "mallory".into(),
                },
            ],
        };
        let s = section(&Decision::NotMerged(v), "/warden");
        assert!(s.starts_with(SECTION_MARKER), "{s}");
        assert!(
            s.contains("- it is a draft — mark it ready for review\n"),
            "{s}"
        );
        assert!(s.contains("@mallory is not a trusted author — a person with write access"));
        assert!(s.contains("`/warden merge`"));
    }

    #[test]
    fn the_section_replaces_the_earlier_one_and_fits() {
        let merged = section(
            &Decision::Merged {
                sha: "0123456789abcdef".into(),
                method: "squash".into(),
                evaluated: "fedcba9876543210".into(),
            },
            "/warden",
        );
        assert!(merged.contains("**Merged** by Warden (squash) as `0123456`"));
        let first = with_section(
            "summary",
            &section(
                &Decision::Queued {
                    evaluated: "a".repeat(40),
                },
                "/w",
            ),
            1000,
        );
        let second = with_section(&first, &merged, 1000);
        assert_eq!(second, format!("summary{merged}"));
        let long = "é".repeat(600);
        let fitted = with_section(&long, &merged, 500);
        assert!(fitted.len() <= 500 && fitted.ends_with(&merged));
    }
}
