use super::*;
use serde_json::json;

fn parse(src: &str) -> Vec<Value> {
    parse_stream(src, &Limits::default())
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

#[test]
fn basic_documents() {
    let docs = parse_stream(
        "# c\n---\na: 1\n---\n---\n~\n---\n\n\nb: [x, 'y']\n",
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].value, json!({"a": 1}));
    assert_eq!(docs[0].line, 3);
    assert_eq!(docs[1].value, json!({"b": ["x", "y"]}));
    assert_eq!(docs[1].line, 10);
}

#[test]
fn tags_and_merges() {
    let v = parse(
        "a: !!str 12\nb: !!float 1\nc: !custom 5\nd: &x {p: 1, q: 2}\ne:\n  <<: *x\n  q: 3\nf: \"1\"\n",
    );
    assert_eq!(
        v[0],
        json!({"a": "12", "b": 1.0, "c": "5", "d": {"p": 1, "q": 2}, "e": {"q": 3, "p": 1}, "f": "1"})
    );
}

#[test]
fn billion_laughs_fails_fast() {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..30 {
        let p = i - 1;
        src.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    let err = parse_stream(&src, &Limits::default()).unwrap_err();
    assert!(matches!(err, YamlError::Limit { .. }), "{err:?}");
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn errors_have_positions() {
    let err = parse_stream("a: 1\nb: [\n", &Limits::default()).unwrap_err();
    assert!(
        matches!(err, YamlError::Syntax { line, .. } if line >= 2),
        "{err:?}"
    );
    let err = parse_stream("a: 1\na: 2\n", &Limits::default()).unwrap_err();
    assert!(matches!(err, YamlError::Syntax { line: 2, .. }), "{err:?}");
}

#[test]
fn limits() {
    let l = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(matches!(
        parse_stream("a: {b: {c: {d: 1}}}", &l),
        Err(YamlError::Limit { .. })
    ));
    let l = Limits {
        max_documents: 2,
        ..Limits::default()
    };
    assert!(matches!(
        parse_stream("a\n---\nb\n---\nc\n", &l),
        Err(YamlError::Limit { .. })
    ));
    let l = Limits {
        max_bytes: 3,
        ..Limits::default()
    };
    assert!(matches!(
        parse_stream("a: b\n", &l),
        Err(YamlError::Limit { .. })
    ));
}

#[test]
fn printing() {
    let v = json!({"kind": "x", "spec": {"ports": [{"port": 80}], "e": {}, "l": [], "n": null, "s": "yes", "m": "a\nb\n", "nested": [["a", "b"]]}});
    assert_eq!(
        to_yaml(&v),
        "kind: x\nspec:\n  e: {}\n  l: []\n  m: |\n    a\n    b\n  \"n\": null\n  nested:\n  - - a\n    - b\n  ports:\n  - port: 80\n  s: \"yes\"\n"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn scalar_string() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 _.:#'\"\\-\\[\\]{}&*!|>%@`?,~+=/\\\\]{0,20}",
            "[ -~\\n\\t]{0,40}",
            any::<String>(),
            prop::sample::select(vec![
                "yes",
                "no",
                "on",
                "off",
                "y",
                "n",
                "true",
                "null",
                "~",
                "",
                "0755",
                "1e3",
                "0x1F",
                ".5",
                "1:20",
                "2001-12-14",
                "<<",
                "-",
                "- a",
                "a: b",
                " a",
                "a ",
                "a\nb",
                "a\n",
                "\n",
                "a \nb",
                "\u{feff}x",
                "\u{2028}",
                "\u{85}",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            scalar_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((scalar_string(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Documented exceptions to the round trip: NEL, LS and PS are line breaks to go-yaml's
    /// emitter but content to a YAML 1.2 reader; and a `<<` key is printed plain (as kubectl
    /// does), which reads back as a merge key.
    fn has_unstable_chars(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains(['\u{85}', '\u{2028}', '\u{2029}', '\r']),
            Value::Array(a) => a.iter().any(has_unstable_chars),
            Value::Object(m) => m.iter().any(|(k, v)| {
                k == "<<"
                    || k.contains(['\u{85}', '\u{2028}', '\u{2029}', '\r'])
                    || has_unstable_chars(v)
            }),
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn print_then_parse_round_trips(v in json_value()) {
            prop_assume!(!has_unstable_chars(&v));
            let text = to_yaml(&v);
            let docs = parse_stream(&text, &Limits::default())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            if v.is_null() {
                prop_assert!(docs.is_empty());
            } else {
                prop_assert_eq!(docs.len(), 1, "{}", text);
                prop_assert_eq!(&docs[0].value, &v, "{}", text);
            }
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = parse_stream(&s, &Limits::default());
        }

        #[test]
        fn parse_never_panics_on_yamlish(s in "[-a-z0-9:#&*!|>'\"%@`?,\\[\\]{}<~. \\n\\t]{0,80}") {
            let _ = parse_stream(&s, &Limits::default());
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    for src in [
        "[".repeat(200_000),
        "- ".repeat(50_000),
        "{a: ".repeat(100_000),
    ] {
        let err = parse_stream(&src, &Limits::default()).unwrap_err();
        assert!(
            matches!(err, YamlError::Limit { .. } | YamlError::Syntax { .. }),
            "{err:?}"
        );
    }
}

#[test]
fn records_field_lines() {
    use crate::manifest::Seg;
    let src = "a: 1\n---\n# c\nkind: X\nspec:\n  containers:\n  - name: a\n    image: x\n  -   name: b\n      image: y\n  list: [1,\n    2]\n";
    let docs = super::parse_stream_with_lines(src, &Limits::default()).unwrap();
    assert_eq!(docs.len(), 2);
    let l = &docs[1].lines;
    let k = |s: &str| Seg::Key(s.into());
    assert_eq!(l.line_of(&[]), Some(4));
    assert_eq!(l.line_of(&[k("kind")]), Some(4));
    assert_eq!(l.line_of(&[k("spec"), k("containers")]), Some(6));
    assert_eq!(
        l.line_of(&[k("spec"), k("containers"), Seg::Index(1)]),
        Some(9)
    );
    assert_eq!(
        l.line_of(&[k("spec"), k("containers"), Seg::Index(1), k("image")]),
        Some(10)
    );
    assert_eq!(l.line_of(&[k("spec"), k("list"), Seg::Index(1)]), Some(12));
    assert_eq!(
        l.nearest(&[k("spec"), k("containers"), Seg::Index(0), k("ports")]),
        Some((7, 3))
    );
    // The plain reader records nothing.
    let plain = super::parse_stream(src, &Limits::default()).unwrap();
    assert!(plain[1].lines.is_empty());
}
