//! What the reconcile loop does, decided from what GitHub lists: which failed webhook
//! deliveries to redeliver, and which open pull requests still need a check run. Pure: the
//! loop in `warden serve` fetches the lists and acts on the answers.

use std::collections::BTreeMap;

use crate::github::ids::{PrNumber, Sha};

/// GitHub keeps deliveries for redelivery this long (3 days).
pub const REDELIVERY_WINDOW_MS: i64 = 3 * 24 * 3600 * 1000;

/// Redeliveries asked for in one pass at most (each is a request against the App's budget).
pub const MAX_REDELIVERIES: usize = 50;

/// One attempt at a delivery, as `GET /app/hook/deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The attempt's id (what `POST /app/hook/deliveries/{id}/attempts` takes).
    pub id: u64,
    /// The delivery's GUID (`X-GitHub-Delivery`), shared by its redeliveries.
    pub guid: String,
    pub delivered_at_ms: i64,
    /// The HTTP status Warden answered, 0 when there was no answer (timeout, refused).
    pub status_code: u16,
    pub event: String,
}

/// The attempts to redeliver: for each delivery none of whose attempts succeeded (2xx), delivered
/// since `since_ms` and still inside GitHub's redelivery window, its latest attempt; oldest
/// first, at most [`MAX_REDELIVERIES`].
pub fn to_redeliver(attempts: &[DeliveryAttempt], since_ms: i64, now_ms: i64) -> Vec<u64> {
    let mut by_guid: BTreeMap<&str, Vec<&DeliveryAttempt>> = BTreeMap::new();
    for a in attempts {
        by_guid.entry(a.guid.as_str()).or_default().push(a);
    }
    let mut chosen: Vec<(i64, u64)> = by_guid
        .values()
        .filter(|tries| !tries.iter().any(|a| (200..300).contains(&a.status_code)))
        .filter_map(|tries| tries.iter().max_by_key(|a| (a.delivered_at_ms, a.id)))
        .filter(|a| a.delivered_at_ms >= since_ms)
        .filter(|a| now_ms - a.delivered_at_ms < REDELIVERY_WINDOW_MS)
        .map(|a| (a.delivered_at_ms, a.id))
        .collect();
    chosen.sort();
    chosen
        .into_iter()
        .take(MAX_REDELIVERIES)
        .map(|(_, id)| id)
        .collect()
}

/// An open pull request and what Warden has posted on its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPull {
    pub number: PrNumber,
    pub head: Sha,
    /// A `warden` check run on the head that is completed (or still in progress: a job has it).
    pub has_run: bool,
}

/// The pull requests whose head has no `warden` check run yet (a delivery was lost while
/// Warden was down), lowest number first.
pub fn needs_check(pulls: &[OpenPull]) -> Vec<PrNumber> {
    let mut out: Vec<PrNumber> = pulls
        .iter()
        .filter(|p| !p.has_run)
        .map(|p| p.number)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: u64, guid: &str, at: i64, status: u16) -> DeliveryAttempt {
        DeliveryAttempt {
            id,
            guid: guid.into(),
            delivered_at_ms: at,
            status_code: status,
            event: "pull_request".into(),
        }
    }

    #[test]
    fn only_deliveries_that_never_succeeded_are_redelivered_once() {
        let now = REDELIVERY_WINDOW_MS + 10_000;
        let attempts = [
            attempt(1, "a", now - 100, 500),
            attempt(2, "a", now - 50, 0), // retried, still failing: redeliver the latest
            attempt(3, "b", now - 90, 503),
            attempt(4, "b", now - 40, 202), // a later attempt succeeded
            attempt(5, "c", now - 80, 200),
            attempt(6, "d", 5_000, 500),    // outside GitHub's window
            attempt(7, "e", now - 70, 401), // a signature problem is a failure too
        ];
        assert_eq!(to_redeliver(&attempts, 0, now), [7, 2]);
        // Only what failed since the last pass.
        assert_eq!(to_redeliver(&attempts, now - 60, now), [2]);
    }

    #[test]
    fn a_pass_is_bounded() {
        let attempts: Vec<DeliveryAttempt> = (0..200)
            .map(|i| attempt(i, &format!("g{i}"), 1_000 + i as i64, 502))
            .collect();
        let chosen = to_redeliver(&attempts, 0, 2_000);
        assert_eq!(chosen.len(), MAX_REDELIVERIES);
        assert_eq!(chosen[0], 0, "oldest first");
    }

    #[test]
    fn pulls_without_a_run_on_their_head_need_one() {
        let sha = |c: char| Sha::parse(&c.to_string().repeat(40)).unwrap();
        let pulls = [
            OpenPull {
                number: PrNumber(9),
                head: sha('a'),
                has_run: false,
            },
            OpenPull {
                number: PrNumber(3),
                head: sha('b'),
                has_run: true,
            },
            OpenPull {
                number: PrNumber(4),
                head: sha('c'),
                has_run: false,
            },
        ];
        assert_eq!(needs_check(&pulls), [PrNumber(4), PrNumber(9)]);
    }
}
