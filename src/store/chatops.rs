//! ChatOps state: each command once (its audit record), the holds, and the one reply per
//! comment.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS commands (
    repo TEXT NOT NULL,
    comment_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    pr INTEGER NOT NULL,
    comment_url TEXT NOT NULL,
    user TEXT NOT NULL,
    permission TEXT,
    verb TEXT NOT NULL,
    args TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (repo, comment_id, position, text)
);
CREATE TABLE IF NOT EXISTS holds (
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    environment TEXT NOT NULL,
    reason TEXT NOT NULL,
    by_user TEXT NOT NULL,
    comment_url TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (repo, pr, environment)
);
CREATE TABLE IF NOT EXISTS replies (
    repo TEXT NOT NULL,
    comment_id INTEGER NOT NULL,
    reply_id INTEGER NOT NULL,
    PRIMARY KEY (repo, comment_id)
);
";

/// One command as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    pub repo: String,
    pub comment_id: u64,
    /// Its index among the comment's command lines.
    pub position: u32,
    /// The command line as written.
    pub text: String,
    pub pr: u64,
    pub comment_url: String,
    pub user: String,
    /// The permission found (None: none, or not looked up).
    pub permission: Option<String>,
    pub verb: String,
    pub args: String,
    /// `running`, then `done`, `denied`, `invalid` or `failed`.
    pub outcome: String,
    pub detail: String,
    pub created_ms: i64,
}

/// A hold: on one pull request (`pr` set, `environment` None) or on everything that targets an
/// environment in the repo (`pr` None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub repo: String,
    pub pr: Option<u64>,
    pub environment: Option<String>,
    pub reason: String,
    pub by: String,
    pub comment_url: String,
    pub created_ms: i64,
}

fn hold_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hold> {
    let pr: i64 = r.get(1)?;
    let env: String = r.get(2)?;
    Ok(Hold {
        repo: r.get(0)?,
        pr: (pr > 0).then_some(pr as u64),
        environment: (!env.is_empty()).then_some(env),
        reason: r.get(3)?,
        by: r.get(4)?,
        comment_url: r.get(5)?,
        created_ms: r.get(6)?,
    })
}

impl Store {
    /// Record a command about to run; `false` when this command of this comment was recorded
    /// before (a redelivered or duplicated webhook): it must not run again.
    pub fn claim_command(&self, c: &CommandRecord) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO commands (repo, comment_id, position, text, pr, comment_url,
                 user, permission, verb, args, outcome, detail, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
            params![
                c.repo,
                c.comment_id as i64,
                c.position,
                c.text,
                c.pr as i64,
                c.comment_url,
                c.user,
                c.permission,
                c.verb,
                c.args,
                c.outcome,
                c.detail,
                c.created_ms
            ],
        )?;
        Ok(n == 1)
    }

    /// Whether this command of this comment was recorded already.
    pub fn command_seen(
        &self,
        repo: &str,
        comment_id: u64,
        position: u32,
        text: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM commands
                 WHERE repo = ?1 AND comment_id = ?2 AND position = ?3 AND text = ?4",
                params![repo, comment_id as i64, position, text],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .is_some())
    }

    /// Set a recorded command's outcome.
    pub fn finish_command(
        &self,
        c: &CommandRecord,
        outcome: &str,
        detail: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE commands SET outcome = ?5, detail = ?6, updated_ms = ?7
             WHERE repo = ?1 AND comment_id = ?2 AND position = ?3 AND text = ?4",
            params![
                c.repo,
                c.comment_id as i64,
                c.position,
                c.text,
                outcome,
                detail,
                now_ms
            ],
        )?;
        Ok(())
    }

    /// The audit trail of a repo (every repo when None), oldest first.
    pub fn commands(&self, repo: Option<&str>) -> Result<Vec<CommandRecord>, StoreError> {
        let conn = self.conn();
        let mut q = conn.prepare(
            "SELECT repo, comment_id, position, text, pr, comment_url, user, permission, verb,
                    args, outcome, detail, created_ms
             FROM commands WHERE ?1 IS NULL OR repo = ?1 ORDER BY created_ms, rowid",
        )?;
        let rows = q.query_map(params![repo], |r| {
            Ok(CommandRecord {
                repo: r.get(0)?,
                comment_id: r.get::<_, i64>(1)? as u64,
                position: r.get(2)?,
                text: r.get(3)?,
                pr: r.get::<_, i64>(4)? as u64,
                comment_url: r.get(5)?,
                user: r.get(6)?,
                permission: r.get(7)?,
                verb: r.get(8)?,
                args: r.get(9)?,
                outcome: r.get(10)?,
                detail: r.get(11)?,
                created_ms: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Place a hold (replacing the reason of the same hold); `false` when it already existed.
    pub fn add_hold(&self, h: &Hold) -> Result<bool, StoreError> {
        let conn = self.conn();
        let existed: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM holds WHERE repo = ?1 AND pr = ?2 AND environment = ?3",
                params![
                    h.repo,
                    h.pr.unwrap_or(0) as i64,
                    h.environment.as_deref().unwrap_or("")
                ],
                |r| r.get(0),
            )
            .optional()?;
        conn.execute(
            "INSERT INTO holds (repo, pr, environment, reason, by_user, comment_url, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (repo, pr, environment) DO UPDATE
               SET reason = excluded.reason, by_user = excluded.by_user,
                   comment_url = excluded.comment_url, created_ms = excluded.created_ms",
            params![
                h.repo,
                h.pr.unwrap_or(0) as i64,
                h.environment.as_deref().unwrap_or(""),
                h.reason,
                h.by,
                h.comment_url,
                h.created_ms
            ],
        )?;
        Ok(existed.is_none())
    }

    /// Lift a hold; `false` when there was none.
    pub fn remove_hold(
        &self,
        repo: &str,
        pr: Option<u64>,
        environment: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM holds WHERE repo = ?1 AND pr = ?2 AND environment = ?3",
            params![repo, pr.unwrap_or(0) as i64, environment.unwrap_or("")],
        )?;
        Ok(n == 1)
    }

    /// The holds of a repo (every repo when None), oldest first.
    pub fn holds(&self, repo: Option<&str>) -> Result<Vec<Hold>, StoreError> {
        let conn = self.conn();
        let mut q = conn.prepare(
            "SELECT repo, pr, environment, reason, by_user, comment_url, created_ms FROM holds
             WHERE ?1 IS NULL OR repo = ?1 ORDER BY created_ms, rowid",
        )?;
        let rows = q.query_map(params![repo], hold_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The reply Warden posted to a comment, if any.
    pub fn reply_to(&self, repo: &str, comment_id: u64) -> Result<Option<u64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT reply_id FROM replies WHERE repo = ?1 AND comment_id = ?2",
                params![repo, comment_id as i64],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|v| v as u64))
    }

    pub fn set_reply(&self, repo: &str, comment_id: u64, reply_id: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO replies (repo, comment_id, reply_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (repo, comment_id) DO UPDATE SET reply_id = excluded.reply_id",
            params![repo, comment_id as i64, reply_id as i64],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(position: u32, text: &str) -> CommandRecord {
        CommandRecord {
            repo: "acme/gitops".into(),
            comment_id: 7,
            position,
            text: text.into(),
            pr: 1,
            comment_url: "https://github.com/acme/gitops/pull/1#issuecomment-7".into(),
            user: "alice".into(),
            permission: Some("write".into()),
            verb: "hold".into(),
            args: "staging".into(),
            outcome: "running".into(),
            detail: String::new(),
            created_ms: 10,
        }
    }

    #[test]
    fn a_command_is_claimed_once_and_its_outcome_kept() {
        let s = Store::in_memory().unwrap();
        let c = record(0, "/warden hold staging");
        assert!(s.claim_command(&c).unwrap());
        assert!(!s.claim_command(&c).unwrap(), "a redelivery runs nothing");
        assert!(
            s.command_seen("acme/gitops", 7, 0, "/warden hold staging")
                .unwrap()
        );
        assert!(
            !s.command_seen("acme/gitops", 7, 5, "/warden hold staging")
                .unwrap()
        );
        // Another position, or other text at the same position (an edit), is another command.
        assert!(s.claim_command(&record(1, "/warden hold staging")).unwrap());
        assert!(s.claim_command(&record(0, "/warden unhold")).unwrap());
        s.finish_command(&c, "done", "held staging", 20).unwrap();
        let all = s.commands(Some("acme/gitops")).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].outcome, "done");
        assert_eq!(all[0].detail, "held staging");
        assert_eq!(all[1].outcome, "running");
        assert!(s.commands(Some("acme/other")).unwrap().is_empty());
    }

    #[test]
    fn holds_are_per_pr_or_per_environment_and_lift() {
        let s = Store::in_memory().unwrap();
        let h = |pr: Option<u64>, env: Option<&str>| Hold {
            repo: "acme/gitops".into(),
            pr,
            environment: env.map(str::to_string),
            reason: "migration".into(),
            by: "alice".into(),
            comment_url: "u".into(),
            created_ms: 1,
        };
        assert!(s.add_hold(&h(Some(3), None)).unwrap());
        assert!(s.add_hold(&h(None, Some("production"))).unwrap());
        assert!(!s.add_hold(&h(Some(3), None)).unwrap(), "already held");
        assert_eq!(s.holds(None).unwrap().len(), 2);
        assert!(!s.remove_hold("acme/gitops", Some(4), None).unwrap());
        assert!(s.remove_hold("acme/gitops", Some(3), None).unwrap());
        let left = s.holds(Some("acme/gitops")).unwrap();
        assert_eq!(left, [h(None, Some("production"))]);
    }

    #[test]
    fn one_reply_per_comment() {
        let s = Store::in_memory().unwrap();
        assert_eq!(s.reply_to("acme/gitops", 7).unwrap(), None);
        s.set_reply("acme/gitops", 7, 70).unwrap();
        s.set_reply("acme/gitops", 7, 71).unwrap();
        assert_eq!(s.reply_to("acme/gitops", 7).unwrap(), Some(71));
    }
}
