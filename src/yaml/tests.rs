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
