//! ChatOps end to end: Warden (as the App) against the simulator answers `/warden` commands
//! in pull-request comments: acknowledged with 👀, run once per command by people with the
//! permission, answered in one reply per comment, never run for bots, redeliveries or
//! duplicates.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use warden::chatops::reply::REPLY_MARKER;
use warden::demo::{RunningWarden, completed_run, serve_demo_repo, start_sim};
use warden::github::ids::{CommentId, PrNumber, RepoId};
use warden::sim::Sim;

const SECRET: &str = "chatops-webhook-secret";
const WAIT: Duration = Duration::from_secs(60);

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

struct World {
    sim: Sim,
    warden: RunningWarden,
    repo: RepoId,
    pr: PrNumber,
    _data: tempfile::TempDir,
}

async fn world() -> World {
    let sim = start_sim(SECRET).await.expect("sim");
    let data = tempfile::tempdir().unwrap();
    let (warden, repo, _) = serve_demo_repo(&sim, data.path(), SECRET, None, &demo_dir())
        .await
        .expect("warden");
    let path = "overlays/staging/kustomization.yaml";
    let text = std::fs::read_to_string(demo_dir().join(path))
        .unwrap()
        .replace("newTag: 1.5.0", "newTag: 1.5.1");
    let head = sim
        .commit(
            repo,
            "bump",
            &[(path, Some(text.as_bytes()))],
            "bump staging",
        )
        .unwrap();
    let pr = sim
        .open_pull(repo, "bump", "main", "Bump staging", "dev")
        .unwrap();
    completed_run(&sim, repo, &head, WAIT)
        .await
        .expect("PR checked");
    for (user, p) in [("reader", "read"), ("writer", "write"), ("dev", "read")] {
        sim.set_permission(repo, user, p);
    }
    World {
        sim,
        warden,
        repo,
        pr,
        _data: data,
    }
}

impl World {
    fn bot(&self) -> String {
        self.sim.bot_login()
    }

    /// Warden's ChatOps replies on the pull request.
    fn replies(&self) -> Vec<String> {
        self.sim
            .comments(self.repo, self.pr)
            .into_iter()
            .filter(|c| c.author == self.bot() && c.body.starts_with(REPLY_MARKER))
            .map(|c| c.body)
            .collect()
    }

    fn reactions(&self, c: CommentId) -> Vec<String> {
        self.sim
            .reactions(c)
            .into_iter()
            .map(|(_, content)| content)
            .collect()
    }

    /// Wait until the comment has a final reaction (after 👀).
    async fn answered(&self, c: CommentId) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let r = self.reactions(c);
            if r.iter().any(|x| x != "eyes") {
                return r;
            }
            assert!(Instant::now() < deadline, "no answer to comment {c}: {r:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Let queued work finish (for checks that something did not happen).
    async fn settle(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let c = self.warden.store.counts().unwrap();
            if c.pending == 0 && c.running == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "the queue did not drain");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_are_acknowledged_run_by_who_may_and_answered_once() {
    let w = world().await;

    // help, by anyone with read: 👀 then 👍, and the reply lists every command.
    let c1 = w
        .sim
        .comment(w.repo, w.pr, "reader", "What can it do?\n/warden help");
    assert_eq!(w.answered(c1).await, ["eyes", "+1"]);
    let r = w.replies();
    assert_eq!(r.len(), 1);
    assert!(
        r[0].contains("`/warden hold [ENV] [-- reason]`"),
        "{}",
        r[0]
    );
    assert!(r[0].contains("`write` or above"), "{}", r[0]);

    // hold by a reader: refused, naming the permission; nothing is held.
    let c2 = w
        .sim
        .comment(w.repo, w.pr, "reader", "/warden hold -- risky");
    assert_eq!(w.answered(c2).await, ["eyes", "-1"]);
    let r = w.replies();
    assert_eq!(r.len(), 2);
    assert!(
        r[1].contains("needs the `write` permission on this repository (you have `read`)"),
        "{}",
        r[1]
    );
    assert!(w.warden.store.holds(None).unwrap().is_empty());

    // hold by a writer: held, shown in the reply.
    let c3 = w.sim.comment(
        w.repo,
        w.pr,
        "writer",
        "/warden hold -- waiting for the DB migration",
    );
    assert_eq!(w.answered(c3).await, ["eyes", "+1"]);
    let holds = w.warden.store.holds(Some("acme/gitops")).unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0].pr, Some(w.pr.0));
    assert_eq!(holds[0].by, "writer");
    assert_eq!(holds[0].reason, "waiting for the DB migration");
    assert!(
        w.replies()[2].contains("Pull request #1 is held"),
        "{}",
        w.replies()[2]
    );

    // The same webhook again, as GitHub's redelivery and as a duplicate with a new GUID:
    // nothing runs a second time, no second reply.
    // (Warden's own replies are deliveries too, answered 200 and not queued; the people's
    // comments were queued, 202.)
    let hold_delivery = w
        .sim
        .deliveries()
        .into_iter()
        .filter(|d| d.event == "issue_comment" && d.status_code == 202)
        .nth(2)
        .unwrap();
    let audit_before = w.warden.store.commands(None).unwrap().len();
    let reaction_posts = || {
        w.sim
            .exchanges()
            .iter()
            .filter(|e| {
                e.method == "POST" && e.path.ends_with(&format!("/comments/{c3}/reactions"))
            })
            .count()
    };
    let posts_before = reaction_posts();
    assert_eq!(posts_before, 2);
    w.sim.resend(hold_delivery.id, false).unwrap();
    w.sim.resend(hold_delivery.id, true).unwrap();
    w.settle().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.settle().await;
    assert_eq!(w.warden.store.commands(None).unwrap().len(), audit_before);
    assert_eq!(w.replies().len(), 3);
    assert_eq!(w.reactions(c3), ["eyes", "+1"]);
    assert_eq!(
        reaction_posts(),
        posts_before,
        "a duplicate makes no API call"
    );
    let resent: Vec<u16> = w
        .sim
        .deliveries()
        .iter()
        .filter(|d| d.redelivery)
        .map(|d| d.status_code)
        .collect();
    // GitHub's redelivery (same GUID) is recognised at intake; the duplicate is queued and
    // then finds its command already done.
    assert_eq!(resent, [200, 202]);

    // Editing the comment to add a command runs only the new line, and the answer edits the
    // same reply.
    w.sim.edit_comment(
        w.repo,
        c3,
        "/warden hold -- waiting for the DB migration\n/warden unhold",
    );
    let deadline = Instant::now() + WAIT;
    while !w.warden.store.holds(None).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the edit's unhold did not run");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    w.settle().await;
    let r = w.replies();
    assert_eq!(r.len(), 3, "edited in place");
    assert!(r[2].contains("Lifted."), "{}", r[2]);
    assert!(
        !r[2].contains("is held"),
        "only the new command is answered: {}",
        r[2]
    );

    // A bot's comment is never run; neither is Warden's own reply (it quotes commands).
    let c4 = w.sim.comment(w.repo, w.pr, "renovate[bot]", "/warden help");
    w.settle().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.settle().await;
    assert!(w.reactions(c4).is_empty());
    assert_eq!(w.replies().len(), 3);

    // A typo: 😕 and the nearest command; an unknown environment: 👎 naming the ones there are.
    let c5 = w
        .sim
        .comment(w.repo, w.pr, "writer", "/warden hodl staging");
    assert_eq!(w.answered(c5).await, ["eyes", "confused"]);
    assert!(
        w.replies()[3].contains("did you mean `hold`?"),
        "{}",
        w.replies()[3]
    );
    let c6 = w.sim.comment(w.repo, w.pr, "writer", "/warden hold qa");
    assert_eq!(w.answered(c6).await, ["eyes", "-1"]);
    assert!(
        w.replies()[4].contains(
            "`qa` is not an environment of this repository (environments: staging, production)"
        ),
        "{}",
        w.replies()[4]
    );
    // Thousands of command lines (a comment near GitHub's size limit): one error, nothing runs.
    let huge = "/warden hold staging\n".repeat(3000);
    let c8 = w.sim.comment(w.repo, w.pr, "writer", &huge);
    assert_eq!(w.answered(c8).await, ["eyes", "-1"]);
    assert!(
        w.replies()[5].contains("3000 commands in one comment; at most 10 run, so none did"),
        "{}",
        &w.replies()[5][..300]
    );
    assert!(w.warden.store.holds(None).unwrap().is_empty());
    // The PR's author may run read-only commands; explain names the rule.
    let c7 = w
        .sim
        .comment(w.repo, w.pr, "dev", "/warden explain pdb-missing");
    assert_eq!(w.answered(c7).await, ["eyes", "+1"]);
    assert!(
        w.replies()[6].contains("**`pdb-missing`**"),
        "{}",
        w.replies()[6]
    );

    // Every command is in the audit trail with who, what permission and how it went.
    let audit = w.warden.store.commands(Some("acme/gitops")).unwrap();
    let rows: Vec<(&str, &str, Option<&str>, &str)> = audit
        .iter()
        .map(|c| {
            (
                c.user.as_str(),
                c.verb.as_str(),
                c.permission.as_deref(),
                c.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("reader", "help", Some("read"), "done"),
            ("reader", "hold", Some("read"), "denied"),
            ("writer", "hold", Some("write"), "done"),
            ("writer", "unhold", Some("write"), "done"),
            ("writer", "", None, "invalid"),
            ("writer", "hold", Some("write"), "failed"),
            ("writer", "", None, "invalid"),
            ("dev", "explain", Some("read"), "done"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validate_runs_the_pipeline_again_on_the_head() {
    let w = world().await;
    let runs_before = w.sim.check_runs(w.repo).len();
    let c = w.sim.comment(w.repo, w.pr, "reader", "/warden validate");
    assert_eq!(w.answered(c).await, ["eyes", "+1"]);
    assert_eq!(w.sim.check_runs(w.repo).len(), runs_before + 1);
    assert!(
        w.replies()[0].contains("again: **success**"),
        "{}",
        w.replies()[0]
    );

    // diff of one environment: the rendered change, in full with --full.
    let c = w
        .sim
        .comment(w.repo, w.pr, "reader", "/warden diff staging --full");
    assert_eq!(w.answered(c).await, ["eyes", "+1"]);
    let r = &w.replies()[1];
    assert!(r.contains("ghcr.io/example/shop:1.5.1"), "{r}");
    assert!(r.contains("```diff"), "{r}");
    let c = w
        .sim
        .comment(w.repo, w.pr, "reader", "/warden diff production");
    assert_eq!(w.answered(c).await, ["eyes", "-1"]);
    let r = &w.replies()[2];
    assert!(
        r.contains("`production` is not an environment or target this pull request changes (it changes: overlays/staging, staging)"),
        "{r}"
    );
    // explain lists the rule's findings on this pull request, pointing at the source.
    let c = w.sim.comment(
        w.repo,
        w.pr,
        "reader",
        "/warden explain probe-readiness-missing",
    );
    assert_eq!(w.answered(c).await, ["eyes", "+1"]);
    let r = &w.replies()[3];
    assert!(
        r.contains("This pull request has 1 finding of this rule"),
        "{r}"
    );
    assert!(r.contains("`base/deployment.yaml:17` (staging)"), "{r}");
    let c = w.sim.comment(
        w.repo,
        w.pr,
        "reader",
        "/warden explain probe-readines-missing",
    );
    assert_eq!(w.answered(c).await, ["eyes", "-1"]);
    assert!(
        w.replies()[4].contains("did you mean `probe-readiness-missing`?"),
        "{}",
        w.replies()[4]
    );
}

#[test]
fn warden_holds_lists_what_serve_keeps() {
    use warden::store::{Hold, Store};
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("holds")
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("WARDEN_DATA_DIR")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, _, err) = run(&[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no state database at"), "{err}");
    {
        let store = Store::open(&dir.path().join(warden::app::serve::DB_FILE)).unwrap();
        for (repo, pr, env) in [
            ("acme/gitops", Some(3), None),
            ("acme/gitops", None, Some("production")),
            ("acme/other", Some(1), None),
        ] {
            store
                .add_hold(&Hold {
                    repo: repo.into(),
                    pr,
                    environment: env.map(str::to_string),
                    reason: "migration".into(),
                    by: "alice".into(),
                    comment_url: format!("https://github.com/{repo}/pull/1#issuecomment-9"),
                    created_ms: 1_796_000_000_000,
                })
                .unwrap();
        }
    }
    let (code, out, _) = run(&["--repo", "acme/gitops"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("acme/gitops#3  held by alice at 2026-11-30T00:53:20Z: migration"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("acme/gitops environment production"),
        "{out}"
    );
    let (_, json, _) = run(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[1]["environment"], "production");
    assert_eq!(v[1]["pull_request"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_default_branch_config_can_raise_permissions_and_restrict_to_teams() {
    let w = world().await;
    let cfg = std::fs::read_to_string(demo_dir().join(".github/warden.yml")).unwrap()
        + "chatops:\n  permissions:\n    explain: write\n  teams:\n    hold: [acme/platform]\n";
    let main = w
        .sim
        .commit(
            w.repo,
            "main",
            &[(".github/warden.yml", Some(cfg.as_bytes()))],
            "chatops",
        )
        .unwrap();
    completed_run(&w.sim, w.repo, &main, WAIT).await.unwrap();
    // explain now needs write: the reader is refused, the author too (read-only verbs are the
    // author's by right, whatever the permission).
    let c = w
        .sim
        .comment(w.repo, w.pr, "reader", "/warden explain pdb-missing");
    assert_eq!(w.answered(c).await, ["eyes", "-1"]);
    assert!(
        w.replies()[0].contains("needs the `write` permission"),
        "{}",
        w.replies()[0]
    );
    let c = w
        .sim
        .comment(w.repo, w.pr, "dev", "/warden explain pdb-missing");
    assert_eq!(w.answered(c).await, ["eyes", "+1"]);
    // hold is restricted to @acme/platform: a writer outside it is refused, then allowed.
    let c = w.sim.comment(w.repo, w.pr, "writer", "/warden hold");
    assert_eq!(w.answered(c).await, ["eyes", "-1"]);
    assert!(
        w.replies()[2].contains("is restricted to members of `@acme/platform`"),
        "{}",
        w.replies()[2]
    );
    assert!(w.warden.store.holds(None).unwrap().is_empty());
    w.sim.add_team_member("acme", "platform", "writer");
    let c = w.sim.comment(w.repo, w.pr, "writer", "/warden hold -- now");
    assert_eq!(w.answered(c).await, ["eyes", "+1"]);
    assert_eq!(w.warden.store.holds(None).unwrap().len(), 1);
    // The help reply says so.
    let c = w.sim.comment(w.repo, w.pr, "reader", "/warden help hold");
    w.answered(c).await;
    assert!(
        w.replies()[4].contains("members of @acme/platform only"),
        "{}",
        w.replies()[4]
    );
}
