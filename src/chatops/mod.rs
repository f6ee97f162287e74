//! ChatOps: `/warden` slash-commands in pull-request comments. [`parse`] finds the commands in
//! a comment; [`authorize`] decides who may run them (pure). See docs/chatops.md.

pub mod parse;
pub mod reply;

use crate::repo::config::{Chatops, Permission};

/// Every command name `.github/warden.yml` may configure, with the least repository permission
/// it needs by default. `merge` and `promote` belong to auto-merge and promotion.
pub const COMMANDS: &[(&str, Permission)] = &[
    ("help", Permission::Read),
    ("validate", Permission::Read),
    ("diff", Permission::Read),
    ("explain", Permission::Read),
    ("hold", Permission::Write),
    ("unhold", Permission::Write),
    ("merge", Permission::Write),
    ("promote", Permission::Maintain),
];

/// Commands that change nothing: the pull request's author may always run them.
pub const READ_ONLY: &[&str] = &["help", "validate", "diff", "explain"];

/// The built-in least permission of a command (None: not a command).
pub fn default_permission(command: &str) -> Option<Permission> {
    COMMANDS
        .iter()
        .find(|(c, _)| *c == command)
        .map(|(_, p)| *p)
}

/// What a commenter is, as far as authorization goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commenter<'a> {
    pub login: &'a str,
    /// Their permission on the repository (None: none at all).
    pub permission: Option<Permission>,
    /// Whether they opened the pull request.
    pub is_author: bool,
    /// The `org/team` slugs they belong to, among those the command is restricted to (looked
    /// up only when the command has a team restriction).
    pub teams: &'a [String],
}

/// Why a command may not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Needs at least this permission.
    Permission {
        needs: Permission,
        has: Option<Permission>,
    },
    /// Restricted to these teams, and the commenter is in none of them.
    Teams { teams: Vec<String> },
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::Permission { needs, has } => write!(
                f,
                "needs the `{needs}` permission on this repository (you have {})",
                has.map_or("none".to_string(), |p| format!("`{p}`"))
            ),
            Denied::Teams { teams } => write!(
                f,
                "is restricted to members of {}",
                teams
                    .iter()
                    .map(|t| format!("`@{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The least permission `command` needs under this config: the configured one (which may only
/// raise it) or the built-in one.
pub fn required(config: &Chatops, command: &str) -> Permission {
    let builtin = default_permission(command).unwrap_or(Permission::Admin);
    config
        .permissions
        .get(command)
        .copied()
        .map_or(builtin, |p| p.max(builtin))
}

/// Whether `who` may run `command`.
pub fn authorize(config: &Chatops, command: &str, who: &Commenter<'_>) -> Result<(), Denied> {
    let needs = required(config, command);
    let by_author = who.is_author && READ_ONLY.contains(&command);
    if !by_author && who.permission.is_none_or(|p| p < needs) {
        return Err(Denied::Permission {
            needs,
            has: who.permission,
        });
    }
    if let Some(teams) = config.teams.get(command).filter(|t| !t.is_empty())
        && !teams.iter().any(|t| who.teams.contains(t))
    {
        return Err(Denied::Teams {
            teams: teams.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(p: Option<Permission>, author: bool) -> Commenter<'static> {
        Commenter {
            login: "octocat",
            permission: p,
            is_author: author,
            teams: &[],
        }
    }

    #[test]
    fn defaults_follow_the_issue_and_config_only_raises() {
        let mut c = Chatops::default();
        assert_eq!(required(&c, "diff"), Permission::Read);
        assert_eq!(required(&c, "hold"), Permission::Write);
        assert_eq!(required(&c, "promote"), Permission::Maintain);
        c.permissions.insert("diff".into(), Permission::Write);
        c.permissions.insert("hold".into(), Permission::Read);
        assert_eq!(required(&c, "diff"), Permission::Write);
        assert_eq!(required(&c, "hold"), Permission::Write, "never lowered");
    }

    #[test]
    fn permission_author_and_teams_decide() {
        let mut c = Chatops::default();
        assert!(authorize(&c, "hold", &who(Some(Permission::Write), false)).is_ok());
        let e = authorize(&c, "hold", &who(Some(Permission::Read), false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "needs the `write` permission on this repository (you have `read`)"
        );
        // The author may run read-only commands without any permission, not the others.
        assert!(authorize(&c, "diff", &who(None, true)).is_ok());
        assert!(authorize(&c, "diff", &who(None, false)).is_err());
        assert!(authorize(&c, "hold", &who(None, true)).is_err());
        c.teams.insert("hold".into(), vec!["acme/platform".into()]);
        let e = authorize(&c, "hold", &who(Some(Permission::Admin), false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "is restricted to members of `@acme/platform`"
        );
        let teams = vec!["acme/platform".to_string()];
        let member = Commenter {
            teams: &teams,
            ..who(Some(Permission::Write), false)
        };
        assert!(authorize(&c, "hold", &member).is_ok());
        // A team member still needs the permission.
        let weak = Commenter {
            teams: &teams,
            ..who(Some(Permission::Triage), false)
        };
        assert!(authorize(&c, "hold", &weak).is_err());
    }
}
