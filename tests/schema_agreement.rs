//! Schema verdicts agree with the reference validator, kubernetes-validate (PyPI, strict mode).
//!
//! Corpus: the rendered objects under tests/data/schema/corpus/ (kustomize conformance outputs
//! and hand-written objects) plus deterministic mutants of each (unknown fields at several
//! depths, wrong scalar and container types, removed fields, removed container names). Every
//! object is validated by Warden and by tests/data/schema/validate.py for several Kubernetes
//! versions; the verdicts (valid / invalid / no schema) must be equal for every object.
//!
//! Needs `python3` with `pip install kubernetes-validate==1.37.0` (set WARDEN_PYTHON to use
//! another interpreter).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};
use warden::checks::KubeVersion;
use warden::checks::schema::Schemas;
use warden::yaml::{Limits, parse_stream};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/schema")
}

/// Every document of every corpus file, in file-name order.
fn corpus() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir().join("corpus"))
        .expect("corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read corpus file");
        let docs = parse_stream(&text, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for d in docs {
            let v = d.value;
            if v.get("apiVersion").and_then(Value::as_str).is_some()
                && v.get("kind").and_then(Value::as_str).is_some()
            {
                out.push(v);
            }
        }
    }
    out
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// JSON pointers of every node, with the node's kind (o: object, a: array, s: scalar).
fn nodes(v: &Value, ptr: String, out: &mut Vec<(String, char)>) {
    match v {
        Value::Object(m) => {
            out.push((ptr.clone(), 'o'));
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                nodes(x, format!("{ptr}/{k}"), out);
            }
        }
        Value::Array(a) => {
            out.push((ptr.clone(), 'a'));
            for (i, x) in a.iter().enumerate() {
                nodes(x, format!("{ptr}/{i}"), out);
            }
        }
        _ => out.push((ptr, 's')),
    }
}

fn is_type_field(ptr: &str) -> bool {
    ptr == "/apiVersion" || ptr == "/kind"
}

/// Deterministic mutants of one valid-or-not object.
fn mutants(base: &Value, rng: &mut Rng) -> Vec<Value> {
    let mut all = Vec::new();
    nodes(base, String::new(), &mut all);
    let objects: Vec<&String> = all
        .iter()
        .filter(|(p, k)| *k == 'o' && !p.is_empty())
        .map(|(p, _)| p)
        .collect();
    let scalars: Vec<&String> = all
        .iter()
        .filter(|(p, k)| *k == 's' && !is_type_field(p))
        .map(|(p, _)| p)
        .collect();
    let arrays: Vec<&String> = all
        .iter()
        .filter(|(_, k)| *k == 'a')
        .map(|(p, _)| p)
        .collect();
    let mut out = Vec::new();

    // Unknown field at the top level.
    let mut m = base.clone();
    m["extraField"] = json!("x");
    out.push(m);
    // Unknown fields at two random depths (valid where the node is a map, like labels).
    for _ in 0..2 {
        if !objects.is_empty() {
            let p = objects[rng.pick(objects.len())];
            let mut m = base.clone();
            if let Some(Value::Object(o)) = m.pointer_mut(p) {
                o.insert("bogusField".into(), json!("x"));
            }
            out.push(m);
        }
    }
    // Wrong scalar type.
    if !scalars.is_empty() {
        let p = scalars[rng.pick(scalars.len())];
        let mut m = base.clone();
        if let Some(x) = m.pointer_mut(p) {
            *x = match x {
                Value::String(_) => json!(12345),
                Value::Number(_) => json!("not-a-number"),
                Value::Bool(_) => json!("true"),
                _ => json!(1),
            };
        }
        out.push(m);
    }
    // A list where an object is expected, or the other way round.
    if !arrays.is_empty() {
        let p = arrays[rng.pick(arrays.len())];
        let mut m = base.clone();
        if let Some(x) = m.pointer_mut(p) {
            *x = json!({"a": 1});
        }
        out.push(m);
    }
    if !objects.is_empty() {
        let p = objects[rng.pick(objects.len())];
        let mut m = base.clone();
        if let Some(x) = m.pointer_mut(p) {
            *x = json!(["x"]);
        }
        out.push(m);
    }
    // A removed field (required or not).
    let keyed: Vec<&String> = all
        .iter()
        .map(|(p, _)| p)
        .filter(|p| {
            !p.is_empty() && !is_type_field(p) && !p.ends_with(|c: char| c.is_ascii_digit())
        })
        .collect();
    if !keyed.is_empty() {
        let p = keyed[rng.pick(keyed.len())];
        let mut m = base.clone();
        if let Some((parent, key)) = p.rsplit_once('/')
            && let Some(Value::Object(o)) = m.pointer_mut(parent)
        {
            o.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
        out.push(m);
    }
    // Containers without names; replicas as a string.
    for ptr in [
        "/spec/template/spec/containers/0",
        "/spec/containers/0",
        "/spec/jobTemplate/spec/template/spec/containers/0",
    ] {
        if let Some(Value::Object(_)) = base.pointer(ptr) {
            let mut m = base.clone();
            if let Some(Value::Object(c)) = m.pointer_mut(ptr) {
                c.remove("name");
            }
            out.push(m);
        }
    }
    if let Some(Value::Number(n)) = base.pointer("/spec/replicas") {
        let mut m = base.clone();
        m["spec"]["replicas"] = json!(n.to_string());
        out.push(m);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Valid,
    Invalid,
    Unknown,
}

fn reference(version: &str, objects: &[Value]) -> Vec<(Verdict, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("objects.jsonl");
    let mut text = String::new();
    for o in objects {
        text.push_str(&serde_json::to_string(o).expect("json"));
        text.push('\n');
    }
    std::fs::write(&input, text).expect("write objects");
    let python = std::env::var("WARDEN_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(data_dir().join("validate.py"))
        .arg(version)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {python} ({e}): the reference validator is needed; \
                 pip install kubernetes-validate==1.37.0"
            )
        });
    assert!(
        out.status.success(),
        "reference validator failed (pip install kubernetes-validate==1.37.0): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<(Verdict, String)> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| {
            let (v, msg) = l.split_once('\t').unwrap_or((l, ""));
            let v = match v {
                "valid" => Verdict::Valid,
                "invalid" => Verdict::Invalid,
                "unknown" => Verdict::Unknown,
                other => panic!("bad reference line {other}"),
            };
            (v, msg.to_string())
        })
        .collect();
    assert_eq!(
        lines.len(),
        objects.len(),
        "one reference verdict per object"
    );
    lines
}

fn warden(schemas: &Schemas, obj: &Map<String, Value>) -> (Verdict, String) {
    let mut out = Vec::new();
    schemas.validate(0, obj, &mut out);
    let msgs: Vec<String> = out
        .iter()
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect();
    let v = if out.iter().any(|f| f.rule == "schema") {
        Verdict::Invalid
    } else if out.iter().any(|f| f.rule == "schema-unknown-kind") {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    (v, msgs.join(" | "))
}

#[test]
fn verdicts_agree_with_kubernetes_validate() {
    let base = corpus();
    assert!(base.len() >= 300, "corpus has {} objects", base.len());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut objects = base.clone();
    for b in &base {
        objects.extend(mutants(b, &mut rng));
    }
    for minor in [25u16, 31, 37] {
        let version = KubeVersion::new(1, minor);
        let schemas = Schemas::new(version).expect("supported version");
        let refs = reference(&version.to_string(), &objects);
        let mut counts = [[0usize; 3]; 3];
        let mut disagreements = Vec::new();
        for (i, (o, (rv, rmsg))) in objects.iter().zip(&refs).enumerate() {
            let (wv, wmsg) = warden(&schemas, o.as_object().expect("object"));
            counts[*rv as usize][wv as usize] += 1;
            if wv != *rv {
                disagreements.push(format!(
                    "#{i} {} {}: reference {rv:?} ({rmsg}) / warden {wv:?} ({wmsg})",
                    o["apiVersion"], o["kind"]
                ));
            }
        }
        let agree: usize = (0..3).map(|i| counts[i][i]).sum();
        println!(
            "schema agreement with kubernetes-validate, Kubernetes {version}: {agree}/{} objects \
             (valid {}, invalid {}, no schema {}; {} base objects)",
            objects.len(),
            counts[0][0],
            counts[1][1],
            counts[2][2],
            base.len()
        );
        assert!(
            disagreements.is_empty(),
            "{} disagreements for {version}:\n{}",
            disagreements.len(),
            disagreements[..disagreements.len().min(30)].join("\n")
        );
        // The corpus must exercise both verdicts.
        assert!(counts[0][0] > 200 && counts[1][1] > 500, "{counts:?}");
    }
}

/// Not a timed test: prints the cost of schema validation per object over the base corpus
/// (a mix of Deployments, Services, ConfigMaps and the rest; run with `--release`).
#[test]
fn validation_speed() {
    let base: Vec<Map<String, Value>> = corpus()
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect();
    let t = std::time::Instant::now();
    let schemas = Schemas::new(KubeVersion::new(1, 33)).expect("supported");
    let load = t.elapsed();
    let mut out = Vec::new();
    let start = std::time::Instant::now();
    for (i, o) in base.iter().enumerate() {
        schemas.validate(i, o, &mut out);
    }
    let first = start.elapsed();
    let rounds = 20;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        out.clear();
        for (i, o) in base.iter().enumerate() {
            schemas.validate(i, o, &mut out);
            warden::checks::deprecations::check(i, o, schemas.version(), &mut out);
        }
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / (rounds * base.len()) as f64;
    println!(
        "schema + deprecation checks: {per:.2} µs/object over {} objects ({} findings per round); \
         loading 1.33: {:.1} ms; first pass with compilation: {:.1} ms",
        base.len(),
        out.len(),
        load.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3
    );
    assert!(
        !out.is_empty(),
        "the corpus has unknown kinds, so findings are expected"
    );
}
