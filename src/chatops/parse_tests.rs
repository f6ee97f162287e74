use super::*;
use proptest::prelude::*;

fn verbs(body: &str) -> Vec<(usize, Verb)> {
    parse(body, DEFAULT_PREFIX)
        .commands
        .iter()
        .map(|c| (c.line, c.verb))
        .collect()
}

#[test]
fn commands_are_lines_that_start_with_the_prefix() {
    let body = "Thanks! Let's look.\r\n/warden diff production --full\n  /warden hold staging -- waiting for the DB migration\n/wardenx help\nsay /warden help\n/warden";
    let p = parse(body, DEFAULT_PREFIX);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let got: Vec<(usize, usize, &Args)> = p
        .commands
        .iter()
        .map(|c| (c.position, c.line, &c.args))
        .collect();
    assert_eq!(
        got,
        [
            (
                0,
                2,
                &Args::Diff {
                    scope: Some("production".into()),
                    full: true
                }
            ),
            (
                1,
                3,
                &Args::Hold {
                    env: Some("staging".into()),
                    reason: Some("waiting for the DB migration".into())
                }
            ),
            (2, 6, &Args::Help { verb: None }),
        ]
    );
    assert_eq!(
        p.commands[1].text,
        "/warden hold staging -- waiting for the DB migration"
    );
}

#[test]
fn quotes_code_and_html_comments_are_not_commands() {
    let body = "\
> /warden validate
>/warden validate
```
/warden validate
```
~~~~sh
/warden validate
~~~
/warden validate
~~~~
    /warden validate
\t/warden validate
<!-- /warden validate -->
<!--
/warden validate
-->
``` not closed by this ``` line
/warden explain security-run-as-root
";
    // A backtick line with a backtick in its info string opens no fence (CommonMark), so the
    // last line is shown as text, and is a command.
    assert_eq!(verbs(body), [(18, Verb::Explain)]);
    // An HTML comment opened mid-line hides what follows until it closes.
    assert_eq!(
        verbs("see <!-- hidden\n/warden validate\n-->\n/warden help"),
        [(4, Verb::Help)]
    );
    // An unclosed fence runs to the end of the comment.
    assert_eq!(
        verbs(
            "````
/warden validate
```
/warden validate"
        ),
        []
    );
    let body = "```\n/warden validate\n```\n/warden explain security-run-as-root";
    assert_eq!(verbs(body), [(4, Verb::Explain)]);
}

#[test]
fn look_alikes_of_the_prefix_are_not_commands() {
    for body in [
        "／warden help",
        "/wаrden help", // Cyrillic а
        "/war\u{200b}den help",
        "\u{feff}/warden help",
        "/Warden help",
        "//warden help",
    ] {
        assert!(parse(body, DEFAULT_PREFIX).is_empty(), "{body:?}");
    }
    // Any whitespace after the prefix separates, as GitHub renders it.
    assert_eq!(verbs("/warden\u{a0}help"), [(1, Verb::Help)]);
}

#[test]
fn unknown_verbs_get_the_nearest_one_and_nothing_runs() {
    let p = parse("/warden validate\n/warden dif production", DEFAULT_PREFIX);
    assert!(p.commands.is_empty());
    assert_eq!(
        p.problems,
        [Problem::UnknownVerb {
            line: 2,
            verb: "dif".into(),
            suggestion: Some(Verb::Diff)
        }]
    );
    assert_eq!(
        p.problems[0].to_string(),
        "line 2: `dif` is not a command; did you mean `diff`?"
    );
    assert_eq!(closest("HOLD"), Some(Verb::Hold));
    assert_eq!(closest("unhlod"), Some(Verb::Unhold));
    assert_eq!(closest("deploy"), None);
}

#[test]
fn arguments_are_checked_for_shape() {
    let bad = [
        ("/warden explain", "which rule"),
        ("/warden explain a b", "unexpected `b`"),
        ("/warden diff a b", "unexpected `b`"),
        ("/warden diff --everything", "unknown option"),
        (
            "/warden diff $(rm -rf /)",
            "is not an environment or target",
        ),
        ("/warden hold `whoami`", "is not an environment"),
        ("/warden hold ../../etc", "is not an environment"),
        ("/warden validate now", "unexpected `now`"),
        ("/warden unhold staging -- because", "takes no `-- reason`"),
        ("/warden help me", "`me` is not a command"),
    ];
    for (body, why) in bad {
        let p = parse(body, DEFAULT_PREFIX);
        assert!(p.commands.is_empty(), "{body}");
        match &p.problems[..] {
            [Problem::BadArgs { why: w, .. }] => assert!(w.contains(why), "{body}: {w}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    let p = parse("/warden hold -- a reason", DEFAULT_PREFIX);
    assert_eq!(
        p.commands[0].args,
        Args::Hold {
            env: None,
            reason: Some("a reason".into())
        }
    );
    let p = parse("/warden diff overlays/staging", DEFAULT_PREFIX);
    assert_eq!(
        p.commands[0].args,
        Args::Diff {
            scope: Some("overlays/staging".into()),
            full: false
        }
    );
}

#[test]
fn more_than_ten_commands_run_none() {
    let body = "/warden help\n".repeat(11);
    let p = parse(&body, DEFAULT_PREFIX);
    assert_eq!(p.problems, [Problem::TooMany { found: 11 }]);
    assert!(p.commands.is_empty());
    assert_eq!(
        parse(&"/warden help\n".repeat(10), DEFAULT_PREFIX)
            .commands
            .len(),
        10
    );
    // Thousands of lines are still one answer.
    let huge = "/warden validate\n".repeat(5000);
    assert_eq!(
        parse(&huge, DEFAULT_PREFIX).problems,
        [Problem::TooMany { found: 5000 }]
    );
}

#[test]
fn a_configured_prefix_replaces_the_default() {
    assert_eq!(parse("/warden help", "/gitops").commands.len(), 0);
    assert_eq!(parse("/gitops help", "/gitops").commands.len(), 1);
}

#[test]
fn an_edit_runs_only_the_command_lines_it_added() {
    let before = "/warden validate\nplease";
    let after = "/warden validate\nplease\n/warden diff staging";
    let p = added(before, after, DEFAULT_PREFIX);
    assert_eq!(p.commands.len(), 1);
    assert_eq!(p.commands[0].verb, Verb::Diff);
    assert_eq!(p.commands[0].position, 1);
    // Rewording prose, or moving a command, adds nothing.
    assert!(added(before, "please!\n/warden validate", DEFAULT_PREFIX).is_empty());
    // A second copy of a line is new.
    assert_eq!(
        added(before, "/warden validate\n/warden validate", DEFAULT_PREFIX)
            .commands
            .len(),
        1
    );
    // A bad line that was already there does not stop a new one; a new bad one does.
    let before = "/warden dif";
    assert_eq!(
        added(before, "/warden dif\n/warden help", DEFAULT_PREFIX)
            .commands
            .len(),
        1
    );
    let p = added("", "/warden help\n/warden dif", DEFAULT_PREFIX);
    assert!(p.commands.is_empty() && p.problems.len() == 1);
}

/// The bodies of the real `issue_comment` payloads in ../shared/github/webhooks/.
#[test]
fn real_comment_bodies_hold_no_commands() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/github/webhooks/issue_comment");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("{} is missing", dir.display());
    };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let body = v["comment"]["body"].as_str().unwrap_or_default();
        assert!(parse(body, DEFAULT_PREFIX).is_empty(), "{}", path.display());
        // The same body with a command appended has exactly that command.
        let with = format!("{body}\n/warden explain pdb-missing");
        let p = parse(&with, DEFAULT_PREFIX);
        assert_eq!(p.commands.len(), 1, "{}", path.display());
        assert_eq!(
            p.commands[0].args,
            Args::Explain {
                rule: "pdb-missing".into()
            }
        );
        n += 1;
    }
    assert!(n >= 4, "{n} payloads");
}

proptest! {
    #[test]
    fn parsing_never_panics_and_respects_its_limits(body in "(\\PC|\n|/warden |```|> |~~~| -- ){0,400}") {
        let p = parse(&body, DEFAULT_PREFIX);
        prop_assert!(p.commands.len() <= MAX_COMMANDS);
        prop_assert!(p.commands.is_empty() || p.problems.is_empty());
        for c in &p.commands {
            prop_assert!(c.text.starts_with(DEFAULT_PREFIX));
            prop_assert!(body.split('\n').nth(c.line - 1).is_some_and(|l| l.contains(&c.text)));
        }
        let _ = added(&body, &body, DEFAULT_PREFIX);
        prop_assert!(added(&body, &body, DEFAULT_PREFIX).commands.is_empty());
    }

    #[test]
    fn a_command_inside_a_quote_or_fence_never_runs(verb in prop::sample::select(Verb::ALL.to_vec()), pre in "[a-z ]{0,20}") {
        let line = format!("/warden {verb}");
        let quoted = format!("{pre}\n> {line}");
        let fenced = format!("{pre}\n```\n{line}\n```");
        prop_assert!(parse(&quoted, DEFAULT_PREFIX).commands.is_empty());
        prop_assert!(parse(&fenced, DEFAULT_PREFIX).commands.is_empty());
        let direct = parse(&format!("{pre}\n{line}"), DEFAULT_PREFIX);
        prop_assert!(direct.problems.is_empty() || verb == Verb::Explain);
    }

    #[test]
    fn positions_count_command_lines_in_order(n in 1usize..=10, junk in "[a-z ]{0,10}") {
        let body: String = (0..n).map(|i| format!("{junk}\n/warden diff env{i}\n")).collect();
        let p = parse(&body, DEFAULT_PREFIX);
        let pos: Vec<usize> = p.commands.iter().map(|c| c.position).collect();
        prop_assert_eq!(pos, (0..n).collect::<Vec<_>>());
    }
}
