//! Which commit the agent may deploy: pure. Given the branch's recent commits (newest first),
//! their statuses and the agent's keys, the commits with a valid approval for its environment,
//! newest first, and every approval it refused with the reason. Whether a candidate is *ahead*
//! of what is deployed needs GitHub's compare API; the caller checks that.

use crate::github::ids::Sha;
use crate::signal::{Approval, Claim, Keyring, Refusal, approve_context};

/// A commit status as the agent read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenStatus {
    pub state: String,
    pub context: String,
    pub description: String,
}

/// What the agent knows about itself.
#[derive(Debug, Clone)]
pub struct Identity<'a> {
    /// `owner/name`.
    pub repository: &'a str,
    pub repository_id: u64,
    pub environment: &'a str,
    pub keys: &'a Keyring,
    /// Approvals older than this many seconds are stale.
    pub max_age_secs: Option<u64>,
}

/// A status the agent did not accept as an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub sha: Sha,
    pub refusal: Refusal,
}

/// The outcome of looking at the branch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidates {
    /// Approved commits, newest first.
    pub approved: Vec<(Sha, Approval)>,
    /// Statuses in the approval context that did not verify.
    pub refused: Vec<Refused>,
}

/// Look at `commits` (newest first, each with its statuses), stopping at `deployed` (what is
/// deployed and everything older is not ahead of it). Only `success` statuses in the context
/// `warden/approve/<environment>` are approvals; one that verifies is enough for a commit (a
/// forged status posted next to Warden's changes nothing, and denies nothing).
pub fn candidates(
    me: &Identity<'_>,
    commits: &[(Sha, Vec<SeenStatus>)],
    deployed: Option<&Sha>,
    now: u64,
) -> Candidates {
    let context = approve_context(me.environment);
    let mut out = Candidates::default();
    for (sha, statuses) in commits {
        if Some(sha) == deployed {
            break;
        }
        let claim = match Claim::new(
            me.repository,
            me.repository_id,
            sha.as_str(),
            me.environment,
        ) {
            Ok(c) => c,
            Err(e) => {
                out.refused.push(Refused {
                    sha: sha.clone(),
                    refusal: Refusal::Malformed(e.to_string()),
                });
                continue;
            }
        };
        let mut found = None;
        for s in statuses
            .iter()
            .filter(|s| s.context == context && s.state == "success")
        {
            match me.keys.verify(&claim, &s.description, now, me.max_age_secs) {
                Ok(a) => {
                    found = Some(a);
                    break;
                }
                Err(refusal) => out.refused.push(Refused {
                    sha: sha.clone(),
                    refusal,
                }),
            }
        }
        if let Some(a) = found {
            out.approved.push((sha.clone(), a));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Signer;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn approved(signer: &Signer, repo: &str, id: u64, s: &Sha, env: &str) -> SeenStatus {
        let claim = Claim::new(repo, id, s.as_str(), env).unwrap();
        SeenStatus {
            state: "success".into(),
            context: approve_context(env),
            description: signer.approve(&claim, 1000).description(),
        }
    }

    #[test]
    fn the_newest_approved_commit_ahead_of_the_deployed_one_is_first() {
        let warden = Signer::from_seed(&[1; 32]);
        let keys = Keyring::from(&warden);
        let me = Identity {
            repository: "acme/gitops",
            repository_id: 7,
            environment: "staging",
            keys: &keys,
            max_age_secs: Some(3600),
        };
        let forger = Signer::from_seed(&[2; 32]);
        let (a, b, c, d, e) = (sha('a'), sha('b'), sha('c'), sha('d'), sha('e'));
        let commits = vec![
            // Newest: not yet approved.
            (e.clone(), vec![]),
            // Forged by another key, and an unsigned success, and a production approval.
            (
                d.clone(),
                vec![
                    approved(&forger, "acme/gitops", 7, &d, "staging"),
                    SeenStatus {
                        state: "success".into(),
                        context: "warden/approve/staging".into(),
                        description: "LGTM".into(),
                    },
                    approved(&warden, "acme/gitops", 7, &d, "production"),
                ],
            ),
            // Approved, next to a forged one.
            (
                c.clone(),
                vec![
                    approved(&forger, "acme/gitops", 7, &c, "staging"),
                    approved(&warden, "acme/gitops", 7, &c, "staging"),
                ],
            ),
            // An approval copied from commit c, and one for another repo.
            (
                b.clone(),
                vec![
                    SeenStatus {
                        description: approved(&warden, "acme/gitops", 7, &c, "staging").description,
                        ..approved(&warden, "acme/gitops", 7, &b, "staging")
                    },
                    approved(&warden, "acme/other", 7, &b, "staging"),
                ],
            ),
            // Deployed; older commits are not looked at.
            (
                a.clone(),
                vec![approved(&warden, "acme/gitops", 7, &a, "staging")],
            ),
        ];
        let got = candidates(&me, &commits, Some(&a), 1000);
        let shas: Vec<&Sha> = got.approved.iter().map(|(s, _)| s).collect();
        assert_eq!(shas, [&c]);
        let reasons: Vec<(char, &str)> = got
            .refused
            .iter()
            .map(|r| (r.sha.as_str().chars().next().unwrap(), r.refusal.kind()))
            .collect();
        assert_eq!(
            reasons,
            [
                ('d', "unknown-key"),
                ('d', "malformed"),
                ('c', "unknown-key"),
                ('b', "bad-signature"),
                ('b', "bad-signature"),
            ]
        );
        // With nothing deployed, a is a candidate too.
        let got = candidates(&me, &commits, None, 1000);
        assert_eq!(got.approved.len(), 2);
        // Stale approvals are refused.
        let late = candidates(&me, &commits, None, 1000 + 3601);
        assert!(late.approved.is_empty());
        assert!(late.refused.iter().any(|r| r.refusal.kind() == "stale"));
    }

    #[test]
    fn failure_and_pending_statuses_are_not_approvals() {
        let warden = Signer::from_seed(&[1; 32]);
        let keys = Keyring::from(&warden);
        let me = Identity {
            repository: "acme/gitops",
            repository_id: 7,
            environment: "staging",
            keys: &keys,
            max_age_secs: None,
        };
        let c = sha('c');
        let mut s = approved(&warden, "acme/gitops", 7, &c, "staging");
        s.state = "failure".into();
        let got = candidates(&me, &[(c.clone(), vec![s])], None, 1000);
        assert_eq!(got, Candidates::default());
    }
}
