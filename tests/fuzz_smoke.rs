//! Stable-Rust stand-in for the cargo-fuzz targets in `fuzz/`: random and mutated inputs through
//! the same entry points (the YAML reader, and a kustomization build over an in-memory tree).
//! Nothing may panic, and no input may take long.
//!
//! Seeds are the committed differential cases (tests/data/differential/cases), flattened into
//! the fuzz target's format: the kustomization, then `#%% PATH` sections for the other files.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use warden::kustomize::{self, BuildOptions, fs::MemFs};
use warden::yaml::{self, Limits};

/// Longest any one input may take (generous: debug builds, loaded CI machines).
const BUDGET: Duration = Duration::from_secs(5);

const BASE_K: &str = "resources:\n- base.yaml\n";
const BASE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: nginx:1\n";

/// Fragments worth splicing into YAML and kustomization text.
const DICT: &[&str] = &[
    ":",
    "- ",
    "\n",
    "  ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!str ",
    "!!binary ",
    "|-\n  ",
    ">\n  ",
    "'",
    "\"",
    "\\u0000",
    "#",
    "---\n",
    "...\n",
    "? ",
    "%YAML 1.2\n",
    "~",
    "0x1F",
    "1e400",
    ".nan",
    "-.inf",
    "0o17",
    "2001-12-14t21:59:43.10-05:00",
    "null",
    "yes",
    "resources:\n- ",
    "components:\n- ",
    "namePrefix: p-\n",
    "nameSuffix: -s\n",
    "namespace: ns\n",
    "labels:\n- pairs: {a: b}\n  includeSelectors: true\n",
    "commonLabels: {a: b}\n",
    "commonAnnotations: {a: b}\n",
    "images:\n- name: nginx\n  newTag: t\n",
    "replicas:\n- name: web\n  count: 3\n",
    "patches:\n- path: a.yaml\n",
    "patches:\n- target: {kind: Deployment}\n  patch: '[{\"op\": \"move\", \"from\": \"/spec\", \"path\": \"/x\"}]'\n",
    "$patch: delete\n",
    "$patch: replace\n",
    "$retainKeys: [a]\n",
    "$setElementOrder/containers: [{name: c}]\n",
    "configMapGenerator:\n- name: cm\n  literals: [a=b]\n  behavior: merge\n",
    "secretGenerator:\n- name: s\n  files: [a.yaml]\n",
    "replacements:\n- source: {kind: Deployment, fieldPath: metadata.name}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.template.spec.containers.[name=c].image]\n",
    "vars:\n- name: V\n  objref: {kind: Deployment, name: web, apiVersion: apps/v1}\n",
    "$(V)",
    "sortOptions: {order: fifo}\n",
    "sortOptions: {order: legacy}\n",
    "../",
    "/etc/passwd",
    "../base",
    "kind: Component\n",
    "kind: List\nitems:\n- ",
    "apiVersion: v1\n",
    "kind: ConfigMap\n",
    "metadata: {name: x}\n",
    "openapi: {path: a.yaml}\n",
    "crds: [a.yaml]\n",
    "helmCharts:\n- name: x\n",
    "generators: [a.yaml]\n",
    "transformers: [a.yaml]\n",
    "buildMetadata: [originAnnotations]\n",
    "\n#%% a.yaml\n",
    "\n#%% b.yaml\n",
];

/// Build the fuzz input format into an in-memory tree rooted at /r (see fuzz/fuzz_targets).
fn tree(text: &str) -> MemFs {
    let mut fs = MemFs::new();
    fs.add("/r/base/kustomization.yaml", BASE_K);
    fs.add("/r/base/base.yaml", BASE);
    let mut parts = text.split("\n#%% ");
    fs.add(
        "/r/app/kustomization.yaml",
        parts.next().unwrap_or("").as_bytes(),
    );
    for part in parts.take(8) {
        let (name, body) = part.split_once('\n').unwrap_or((part, ""));
        let name = name.trim();
        if !name.is_empty() && !name.contains('\0') {
            fs.add(Path::new("/r/app").join(name), body.as_bytes());
        }
    }
    fs
}

fn check_yaml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let t = Instant::now();
    for dup in [false, true] {
        let limits = Limits {
            allow_duplicate_keys: dup,
            ..Limits::default()
        };
        if let Ok(docs) = yaml::parse_stream(&text, &limits) {
            for d in &docs {
                let out = yaml::to_yaml(&d.value);
                // What we print must read back.
                yaml::parse_stream(&out, &limits).unwrap_or_else(|e| {
                    panic!("printed YAML does not parse ({e}):\n{out}\nfrom input {text:?}")
                });
            }
        }
    }
    assert!(t.elapsed() < BUDGET, "slow YAML input: {text:?}");
}

fn check_build(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let fs = tree(&text);
    let t = Instant::now();
    if let Ok(r) = kustomize::build(&fs, Path::new("/r/app"), &BuildOptions::default()) {
        let _ = r.to_yaml();
    }
    assert!(t.elapsed() < BUDGET, "slow build input: {text:?}");
}

fn data_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/differential/cases");
    assert!(d.is_dir(), "differential cases missing at {}", d.display());
    d
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Seeds for the build target: each differential case flattened into the fuzz format.
fn build_seeds() -> &'static [String] {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = Vec::new();
        for case in std::fs::read_dir(data_dir()).unwrap() {
            let case = case.unwrap().path();
            let Ok(run) = std::fs::read_to_string(case.join("run")) else {
                continue;
            };
            let dir = case.join("in").join(run.trim());
            let Ok(k) = std::fs::read_to_string(dir.join("kustomization.yaml")) else {
                continue;
            };
            let mut s = k;
            let mut files = Vec::new();
            files_under(&case.join("in"), &mut files);
            for f in files.iter().take(9) {
                let rel = relative_to(f, &dir);
                if rel == "kustomization.yaml" {
                    continue;
                }
                s.push_str(&format!("\n#%% {rel}\n"));
                s.push_str(&std::fs::read_to_string(f).unwrap_or_default());
            }
            seeds.push(s);
        }
        seeds.sort();
        assert!(!seeds.is_empty(), "no seeds");
        seeds
    })
}

/// `path` relative to directory `base` (both under the same case), with `..` where needed.
fn relative_to(path: &Path, base: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); b.len() - common];
    parts.extend(
        p[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// One mutation step of a seed, driven by proptest-chosen numbers.
fn mutate(seed: &str, ops: &[(u8, u32, u32)]) -> Vec<u8> {
    let mut b = seed.as_bytes().to_vec();
    for &(op, x, y) in ops {
        let n = b.len().max(1);
        let at = x as usize % (b.len() + 1);
        match op % 6 {
            0 => {
                // insert a dictionary fragment
                let frag = DICT[y as usize % DICT.len()];
                b.splice(at..at, frag.bytes());
            }
            1 => {
                // delete a short range
                let end = (at + (y as usize % 16)).min(b.len());
                b.drain(at..end);
            }
            2 => {
                // flip a byte
                if !b.is_empty() {
                    b[x as usize % n] ^= 1 << (y % 8);
                }
            }
            3 => {
                // duplicate a line
                let text = String::from_utf8_lossy(&b).into_owned();
                let lines: Vec<&str> = text.split('\n').collect();
                let i = x as usize % lines.len();
                let mut v: Vec<&str> = lines.clone();
                v.insert(y as usize % (lines.len() + 1), lines[i]);
                b = v.join("\n").into_bytes();
            }
            4 => {
                // change indentation of a line
                let text = String::from_utf8_lossy(&b).into_owned();
                let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
                let i = x as usize % lines.len();
                if y % 2 == 0 {
                    lines[i].insert_str(0, "  ");
                } else {
                    lines[i] = lines[i].trim_start().to_string();
                }
                b = lines.join("\n").into_bytes();
            }
            _ => {
                // splice in a chunk of another seed
                let other = &build_seeds()[y as usize % build_seeds().len()];
                let start = x as usize % (other.len() + 1);
                let end = (start + 64).min(other.len());
                b.splice(at..at, other.as_bytes()[start..end].iter().copied());
            }
        }
    }
    b
}

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    // Fixed seed: the same inputs every run, so failures reproduce.
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

fn ops() -> impl Strategy<Value = Vec<(u8, u32, u32)>> {
    prop::collection::vec((any::<u8>(), any::<u32>(), any::<u32>()), 1..12)
}

#[test]
fn yaml_random_bytes() {
    runner(2000)
        .run(&prop::collection::vec(any::<u8>(), 0..400), |data| {
            check_yaml(&data);
            Ok(())
        })
        .unwrap();
}

#[test]
fn yaml_random_tokens() {
    let token = prop::sample::select(DICT);
    runner(2000)
        .run(&prop::collection::vec(token, 0..60), |toks| {
            check_yaml(toks.concat().as_bytes());
            Ok(())
        })
        .unwrap();
}

#[test]
fn yaml_mutated_seeds() {
    let n = build_seeds().len();
    runner(1500)
        .run(&(0..n, ops()), |(i, ops)| {
            check_yaml(&mutate(&build_seeds()[i], &ops));
            Ok(())
        })
        .unwrap();
}

#[test]
fn build_random_bytes() {
    runner(500)
        .run(&prop::collection::vec(any::<u8>(), 0..400), |data| {
            check_build(&data);
            Ok(())
        })
        .unwrap();
}

#[test]
fn build_seeds_as_is() {
    for s in build_seeds() {
        check_build(s.as_bytes());
    }
}

#[test]
fn build_mutated_seeds() {
    let n = build_seeds().len();
    runner(3000)
        .run(&(0..n, ops()), |(i, ops)| {
            check_build(&mutate(&build_seeds()[i], &ops));
            Ok(())
        })
        .unwrap();
}
