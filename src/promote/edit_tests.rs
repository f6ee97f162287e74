use super::*;
use proptest::prelude::*;

fn tag(name: &str, t: &str) -> ImageEdit {
    ImageEdit {
        name: name.into(),
        new_tag: Some(t.into()),
        ..ImageEdit::default()
    }
}

fn edit(text: &str, edits: &[ImageEdit]) -> Result<String, EditError> {
    set_images("overlays/prod/kustomization.yaml", text, edits)
}

fn ok(text: &str, edits: &[ImageEdit]) -> String {
    match edit(text, edits) {
        Ok(s) => s,
        Err(e) => panic!("{e}\n--- input:\n{text}"),
    }
}

/// The (removed, added) line pairs of a line diff.
fn changed_lines(a: &str, b: &str) -> Vec<(String, String)> {
    let d = similar::TextDiff::from_lines(a, b);
    let mut out = Vec::new();
    for op in d.ops() {
        let (old, new) = (op.old_range(), op.new_range());
        let ol: Vec<&str> = a.split_inclusive('\n').collect();
        let nl: Vec<&str> = b.split_inclusive('\n').collect();
        if old.len() + new.len() > 0 && op.tag() != similar::DiffTag::Equal {
            out.push((ol[old].concat(), nl[new].concat()));
        }
    }
    out
}

const REALISTIC: &str = "\
# Production overlay. Bump with care!
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop-prod   # the prod namespace
resources:
  - ../../base
images:
  # the storefront
  - name: ghcr.io/example/shop
    newTag: \"1.4.0\" # pinned by release
  - name: 'ghcr.io/example/worker'   # worker
    newName: ghcr.io/example/worker-v2
    newTag: 1.4.0
    digest: sha256:aaaa
  - {name: redis, newTag: '7.0'}
replicas:
  - name: shop
    count: 3
";

#[test]
fn realistic_file_changes_only_the_values() {
    let out = ok(
        REALISTIC,
        &[
            tag("ghcr.io/example/shop", "1.5.0"),
            tag("ghcr.io/example/worker", "1.5.1"),
            tag("redis", "7.2"),
        ],
    );
    let expected = REALISTIC
        .replace("newTag: \"1.4.0\" #", "newTag: \"1.5.0\" #")
        .replace(
            "    newTag: 1.4.0\n    digest: sha256:aaaa\n",
            "    newTag: 1.5.1\n",
        )
        .replace("newTag: '7.0'", "newTag: '7.2'");
    assert_eq!(out, expected);
}

#[test]
fn unchanged_values_keep_their_bytes() {
    let text = "images:\n- name: x\n  newTag: \"1.0\"\n";
    assert_eq!(ok(text, &[tag("x", "1.0")]), text);
    assert_eq!(ok(text, &[]), text);
}

#[test]
fn plain_values_are_quoted_only_when_needed() {
    let text = "images:\n- name: x\n  newTag: 1.4\n";
    assert_eq!(
        ok(text, &[tag("x", "1.5")]),
        "images:\n- name: x\n  newTag: 1.5\n"
    );
    // 1.10 reads as the number 1.1.
    assert_eq!(
        ok(text, &[tag("x", "1.10")]),
        "images:\n- name: x\n  newTag: \"1.10\"\n"
    );
    assert_eq!(
        ok(text, &[tag("x", "v1 #2")]),
        "images:\n- name: x\n  newTag: \"v1 #2\"\n"
    );
    let plain_110 = "images:\n- name: x\n  newTag: 1.10\n";
    assert_eq!(
        ok(plain_110, &[tag("x", "1.10")]),
        "images:\n- name: x\n  newTag: \"1.10\"\n",
        "a plain 1.10 reads as 1.1, so it is not yet the intended tag"
    );
}

#[test]
fn single_and_double_quotes_are_kept() {
    let text = "images:\n- name: x\n  newTag: 'a'\n- name: y\n  newTag: \"b\"\n";
    assert_eq!(
        ok(text, &[tag("x", "it's"), tag("y", "q\"")]),
        "images:\n- name: x\n  newTag: 'it''s'\n- name: y\n  newTag: \"q\\\"\"\n"
    );
}

#[test]
fn flow_entries_and_flow_lists() {
    assert_eq!(
        ok("images:\n- {name: x, newTag: 1.2}\n", &[tag("x", "1.3")]),
        "images:\n- {name: x, newTag: 1.3}\n"
    );
    assert_eq!(
        ok("images: [{name: x, newTag: '1'}]", &[tag("x", "2")]),
        "images: [{name: x, newTag: '2'}]"
    );
    assert_eq!(
        ok("images: [{name: x, newTag: '1'}]\n", &[tag("y", "2")]),
        "images: [{name: x, newTag: '1'}, {name: y, newTag: 2}]\n"
    );
    assert_eq!(
        ok("images: []\n", &[tag("y", "v2")]),
        "images: [{name: y, newTag: v2}]\n"
    );
    assert_eq!(
        ok(
            "images:\n- {name: x, digest: \"sha256:1\", newTag: a}\n",
            &[tag("x", "b")]
        ),
        "images:\n- {name: x, newTag: b}\n"
    );
    assert_eq!(
        ok(
            "images:\n- {digest: sha256:1, newTag: a, name: x}\n",
            &[tag("x", "b")]
        ),
        "images:\n- {newTag: b, name: x}\n"
    );
    // A new entry in a block list of flow entries is a flow entry.
    assert_eq!(
        ok("images:\n  - {name: x, newTag: a}\n", &[tag("y", "b")]),
        "images:\n  - {name: x, newTag: a}\n  - {name: y, newTag: b}\n"
    );
}

#[test]
fn digests_follow_the_source() {
    let text = "images:\n- name: x\n  newTag: a\n";
    let both = ImageEdit {
        name: "x".into(),
        new_tag: Some("b".into()),
        digest: Some("sha256:ff".into()),
        ..ImageEdit::default()
    };
    assert_eq!(
        ok(text, &[both]),
        "images:\n- name: x\n  newTag: b\n  digest: sha256:ff\n"
    );
    let digest_only = ImageEdit {
        name: "x".into(),
        digest: Some("sha256:ff".into()),
        ..ImageEdit::default()
    };
    assert_eq!(
        ok(text, &[digest_only]),
        "images:\n- name: x\n  digest: sha256:ff\n"
    );
    // The first key after the dash removed: the next one moves up.
    assert_eq!(
        ok(
            "images:\n- digest: sha256:1 # old\n  name: x\n  newTag: a\n",
            &[tag("x", "b")]
        ),
        "images:\n- name: x\n  newTag: b\n"
    );
}

#[test]
fn missing_entries_and_keys_are_added_in_the_files_style() {
    assert_eq!(
        ok("images:\n  - name: x\n    newTag: a\n", &[tag("y", "b")]),
        "images:\n  - name: x\n    newTag: a\n  - name: y\n    newTag: b\n"
    );
    assert_eq!(
        ok("images:\n- name: x # c\nkind: K\n", &[tag("x", "b")]),
        "images:\n- name: x # c\n  newTag: b\nkind: K\n"
    );
    assert_eq!(
        ok("resources:\n  - a.yaml\n", &[tag("y", "b")]),
        "resources:\n  - a.yaml\nimages:\n  - name: y\n    newTag: b\n"
    );
    assert_eq!(
        ok("resources:\n- a.yaml\n", &[tag("y", "b")]),
        "resources:\n- a.yaml\nimages:\n- name: y\n  newTag: b\n"
    );
    assert_eq!(
        ok("", &[tag("y", "b")]),
        "images:\n- name: y\n  newTag: b\n"
    );
    assert_eq!(
        ok("images:\nkind: K\n", &[tag("y", "b")]),
        "images:\n- name: y\n  newTag: b\nkind: K\n"
    );
}

#[test]
fn crlf_and_no_final_newline() {
    assert_eq!(
        ok(
            "images:\r\n- name: x\r\n  newTag: a\r\n  digest: sha256:1\r\n",
            &[tag("x", "b")]
        ),
        "images:\r\n- name: x\r\n  newTag: b\r\n"
    );
    assert_eq!(
        ok("resources:\r\n- a\r\n", &[tag("y", "b")]),
        "resources:\r\n- a\r\nimages:\r\n- name: y\r\n  newTag: b\r\n"
    );
    assert_eq!(
        ok(
            "images:\n- name: x\n  newTag: a\n  digest: sha256:1",
            &[tag("x", "b")]
        ),
        "images:\n- name: x\n  newTag: b"
    );
    assert_eq!(
        ok("images:\n- name: x", &[tag("x", "b")]),
        "images:\n- name: x\n  newTag: b"
    );
    assert_eq!(
        ok("kind: K", &[tag("x", "b")]),
        "kind: K\nimages:\n- name: x\n  newTag: b"
    );
}

#[test]
fn non_ascii_text_before_the_value() {
    assert_eq!(
        ok(
            "# Équipe café ☕\nimages:\n- name: x # ünïcode\n  newTag: \"é\"\n",
            &[tag("x", "b")]
        ),
        "# Équipe café ☕\nimages:\n- name: x # ünïcode\n  newTag: \"b\"\n"
    );
}

#[test]
fn conflicts_and_unsupported_files_are_errors() {
    let dup = "images:\n- name: x\n  newTag: a\n- name: x\n  newTag: b\n";
    assert!(matches!(
        edit(dup, &[tag("x", "c")]),
        Err(EditError::Conflict { name, .. }) if name == "x"
    ));
    for bad in [
        "images:\n- &a {name: x, newTag: a}\n",
        "images:\n- name: x\n  newTag: !!str a\n",
        "base: &b {name: x}\nimages:\n- *b\n",
        "images: &i\n- name: x\n",
        "images:\n- name: x\n  newTag: |\n    a\n",
        "images: x\n",
        "- a\n- b\n",
        "kind: A\n---\nkind: B\n",
        "images:\n- name: x\nimages:\n- name: y\n",
    ] {
        let e = edit(bad, &[tag("x", "c")]).expect_err(bad);
        let msg = e.to_string();
        assert!(msg.contains("overlays/prod/kustomization.yaml"), "{msg}");
        assert!(matches!(e, EditError::Unsupported { .. }), "{bad:?}: {msg}");
    }
    assert!(matches!(
        edit("images: [\n", &[tag("x", "c")]),
        Err(EditError::Yaml { .. })
    ));
    assert!(matches!(
        edit("kind: K\n", &[tag("x", "a\nb")]),
        Err(EditError::InvalidValue { .. })
    ));
    assert!(matches!(
        edit("kind: K\n", &[tag("x", "a"), tag("x", "b")]),
        Err(EditError::Conflict { .. })
    ));
    assert!(
        edit("images:\n- name: x\n  newTag: a\n", &[tag("x", "b")])
            .is_ok_and(|s| s.contains("newTag: b"))
    );
}

// ---------------------------------------------------------------------------------------------
// Property test: generated kustomization files.

#[derive(Debug, Clone)]
struct GenEntry {
    name: String,
    tag: Option<(String, u8)>,
    digest: Option<String>,
    comment: bool,
}

fn quoted(v: &str, style: u8) -> String {
    match style % 3 {
        0 => v.to_string(),
        1 => format!("'{v}'"),
        _ => format!("\"{v}\""),
    }
}

fn gen_file(entries: &[GenEntry], flow: u8, indent: bool, crlf: bool, newline_end: bool) -> String {
    let dash = if indent { "  - " } else { "- " };
    let pad = if indent { "    " } else { "  " };
    let mut s = String::from(
        "# generated\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    s.push_str(&format!("{dash}../base # base\n"));
    if !entries.is_empty() {
        s.push_str("images: # images\n");
    }
    let mut flow_items = Vec::new();
    for e in entries {
        let mut pairs = vec![format!("name: {}", e.name)];
        if let Some((t, style)) = &e.tag {
            pairs.push(format!("newTag: {}", quoted(t, *style)));
        }
        if let Some(d) = &e.digest {
            pairs.push(format!("digest: {d}"));
        }
        match flow % 3 {
            0 => {
                for (i, p) in pairs.iter().enumerate() {
                    s.push_str(if i == 0 { dash } else { pad });
                    s.push_str(p);
                    if e.comment {
                        s.push_str("  # note");
                    }
                    s.push('\n');
                }
            }
            1 => s.push_str(&format!("{dash}{{{}}}\n", pairs.join(", "))),
            _ => flow_items.push(format!("{{{}}}", pairs.join(", "))),
        }
    }
    if flow % 3 == 2 && !entries.is_empty() {
        // A flow list replaces the header line.
        s = s.replace(
            "images: # images\n",
            &format!("images: [{}]\n", flow_items.join(", ")),
        );
    }
    s.push_str("replicas:\n");
    s.push_str(&format!("{dash}name: web\n{pad}count: 2"));
    if newline_end {
        s.push('\n');
    }
    if crlf {
        s = s.replace('\n', "\r\n");
    }
    s
}

fn entry_strategy() -> impl Strategy<Value = GenEntry> {
    (
        "[a-z]{1,6}(/[a-z]{1,6})?",
        proptest::option::of(("[0-9]\\.[0-9]{1,2}(\\.[0-9])?|v[0-9a-z.-]{1,6}", 0u8..3)),
        proptest::option::of("sha256:[0-9a-f]{8}"),
        any::<bool>(),
    )
        .prop_map(|(name, tag, digest, comment)| GenEntry {
            name,
            tag,
            digest,
            comment,
        })
}

/// One `images:` entry as read: name, newName, newTag, digest.
type ImageEntry = (String, Option<String>, Option<String>, Option<String>);

/// What Warden's kustomization reader sees in `images:`, by name.
fn images_of(text: &str) -> Vec<ImageEntry> {
    let limits = Limits {
        allow_duplicate_keys: true,
        ..Limits::default()
    };
    let docs = yaml::parse_stream(text, &limits).expect("parses");
    let Some(items) = docs[0].value.get("images").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|i| {
            let f = |k: &str| i.get(k).and_then(|v| read_as(v, k));
            (
                f("name").unwrap_or_default(),
                f("newName"),
                f("newTag"),
                f("digest"),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn surgical_edit_changes_exactly_the_intended_values(
        entries in proptest::collection::vec(entry_strategy(), 0..4),
        flow in 0u8..3,
        indent: bool,
        crlf: bool,
        newline_end: bool,
        edits in proptest::collection::vec(
            (0usize..6, proptest::option::of("[0-9]\\.[0-9]{1,2}|v[0-9a-z.]{1,5}"),
             proptest::option::of("sha256:[0-9a-f]{8}")),
            1..3),
    ) {
        // Unique entry names (duplicates are a tested error of their own).
        let mut entries = entries;
        let mut seen = std::collections::HashSet::new();
        entries.retain(|e| seen.insert(e.name.clone()));
        let text = gen_file(&entries, flow, indent, crlf, newline_end);
        let mut wanted_edits: Vec<ImageEdit> = Vec::new();
        for (i, tag, digest) in edits {
            if tag.is_none() && digest.is_none() {
                continue;
            }
            let name = entries.get(i).map_or_else(|| format!("new{i}"), |e| e.name.clone());
            if wanted_edits.iter().any(|e| e.name == name) {
                continue;
            }
            wanted_edits.push(ImageEdit { name, new_name: None, new_tag: tag, digest });
        }
        let out = set_images("k.yaml", &text, &wanted_edits);
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                // Removing the first key of a flow entry with nothing after it, and the like,
                // may be refused; never a wrong file. Everything generated here is supported.
                return Err(TestCaseError::fail(format!("{e}\n{text}")));
            }
        };
        // The result reads as the intended images.
        let before = images_of(&text);
        let after = images_of(&out);
        let mut expected = before.clone();
        for e in &wanted_edits {
            match expected.iter_mut().find(|x| x.0 == e.name) {
                Some(x) => { x.2 = e.new_tag.clone(); x.3 = e.digest.clone(); }
                None => expected.push((e.name.clone(), None, e.new_tag.clone(), e.digest.clone())),
            }
        }
        prop_assert_eq!(&after, &expected);
        // Every line that changed holds an images: value (or is a new images line).
        let eol = if crlf { "\r\n" } else { "\n" };
        prop_assert_eq!(out.contains("\r\n"), crlf);
        prop_assert_eq!(out.ends_with(eol), newline_end);
        for (old, new) in changed_lines(&text, &out) {
            let touched = |s: &str| s.lines().all(|l| {
                l.contains("newTag") || l.contains("digest") || l.contains("name: new")
                    || l.contains("images:") || l.contains("count: 2")
            });
            // Flow entries change within their line; everything else only in value lines.
            let flow_line = |s: &str| s.lines().all(|l| l.contains('{') || l.contains("images:"));
            prop_assert!(
                (touched(&old) || flow_line(&old)) && (touched(&new) || flow_line(&new)),
                "unexpected change {:?} -> {:?}", old, new
            );
        }
        // Block entries keep their `name:` lines, comments included.
        if flow % 3 == 0 {
            for line in text.lines().filter(|l| l.contains("name:")) {
                prop_assert!(out.lines().any(|l| l == line), "lost {:?}", line);
            }
        }
        // Everything outside the images: block is byte-identical.
        if text.contains("images:") {
            let head = |s: &str| s[..s.find("images:").unwrap_or(s.len())].to_string();
            prop_assert_eq!(head(&text), head(&out));
            let tail = |s: &str| s[s.find("replicas:").unwrap_or(0)..].to_string();
            prop_assert_eq!(tail(&text), tail(&out));
        } else {
            // `images:` added at the end, after a line break when the file had none.
            prop_assert!(out.starts_with(&text));
        }
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in "[ -~\n]{0,200}", name in "[a-z]{1,3}") {
        let _ = set_images("k.yaml", &text, &[tag(&name, "1.0")]);
    }
}
