//! GitHub's own OpenAPI description (the vendored subset in data/github/openapi-subset.json,
//! made by scripts/gen-github-openapi.py from npm `@octokit/openapi`) as a validator of HTTP
//! exchanges: which documented operation a request is, and whether its body and the answer's
//! body have the documented shape.

#![allow(dead_code)] // each test file uses a part

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

/// One documented operation.
pub struct Operation {
    pub method: String,
    pub template: String,
    segments: Vec<String>,
    request: Option<jsonschema::Validator>,
    request_required: bool,
    responses: HashMap<String, Option<jsonschema::Validator>>,
}

/// The vendored description.
pub struct Spec {
    pub source: String,
    ops: Vec<Operation>,
}

fn compile(schema: &Value, definitions: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Value::Object(m) = &mut root {
        m.insert("definitions".into(), definitions.clone());
    } else {
        root = json!({ "allOf": [schema], "definitions": definitions });
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(&root)
        .unwrap_or_else(|e| panic!("the vendored schema does not compile: {e}"))
}

impl Spec {
    pub fn load() -> Spec {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/github/openapi-subset.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
            .expect("vendored OpenAPI subset is JSON");
        let defs = &doc["definitions"];
        let mut ops = Vec::new();
        for (key, op) in doc["operations"].as_object().expect("operations") {
            let (method, template) = key.split_once(' ').expect("METHOD /path");
            let request = op["request"]["schema"]
                .as_object()
                .map(|_| compile(&op["request"]["schema"], defs));
            let responses = op["responses"]
                .as_object()
                .expect("responses")
                .iter()
                .map(|(status, s)| (status.clone(), (!s.is_null()).then(|| compile(s, defs))))
                .collect();
            ops.push(Operation {
                method: method.to_string(),
                template: template.to_string(),
                segments: template
                    .trim_start_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                request,
                request_required: op["request"]["required"].as_bool().unwrap_or(false),
                responses,
            });
        }
        Spec {
            source: doc["source"].as_str().unwrap_or_default().to_string(),
            ops,
        }
    }

    /// Every documented operation, as `METHOD /template`.
    pub fn operations(&self) -> Vec<String> {
        self.ops
            .iter()
            .map(|o| format!("{} {}", o.method, o.template))
            .collect()
    }

    pub fn by_template(&self, method: &str, template: &str) -> Option<&Operation> {
        self.ops
            .iter()
            .find(|o| o.method.eq_ignore_ascii_case(method) && o.template == template)
    }

    /// The operation a concrete request path is (query ignored). A literal segment beats a
    /// parameter; a last `{path}`, `{ref}` or `{branch}` (file paths, `heads/a/b`, branch names
    /// with slashes) takes the rest of the path.
    pub fn find(&self, method: &str, path: &str) -> Option<&Operation> {
        let path = path.split('?').next().unwrap_or(path);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(&Operation, usize)> = None;
        for op in self
            .ops
            .iter()
            .filter(|o| o.method.eq_ignore_ascii_case(method))
        {
            let mut literal = 0;
            let mut ok = true;
            let mut i = 0;
            for (n, seg) in op.segments.iter().enumerate() {
                if matches!(seg.as_str(), "{path}" | "{ref}" | "{branch}")
                    && n + 1 == op.segments.len()
                {
                    ok = i < parts.len();
                    i = parts.len();
                    break;
                }
                let Some(part) = parts.get(i) else {
                    ok = false;
                    break;
                };
                if seg.starts_with('{') {
                    // `{basehead}` is `base...head`.
                    if seg == "{basehead}" && !part.contains("...") {
                        ok = false;
                        break;
                    }
                } else if seg == part {
                    literal += 1;
                } else {
                    ok = false;
                    break;
                }
                i += 1;
            }
            if ok && i == parts.len() && best.is_none_or(|(_, l)| literal > l) {
                best = Some((op, literal));
            }
        }
        best.map(|(o, _)| o)
    }
}

fn errors(v: &jsonschema::Validator, value: &Value) -> Vec<String> {
    v.iter_errors(value)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

impl Operation {
    /// Problems with a request body (empty when it is as documented).
    pub fn check_request(&self, body: Option<&Value>) -> Vec<String> {
        match (&self.request, body) {
            (Some(v), Some(b)) => errors(v, b),
            (Some(_), None) if self.request_required => vec!["a request body is required".into()],
            (None, Some(b)) if !b.is_null() && self.method != "GET" => {
                vec!["this operation documents no request body".into()]
            }
            _ => Vec::new(),
        }
    }

    /// Problems with an answer: its status must be documented, and its body as documented.
    pub fn check_response(&self, status: u16, body: Option<&Value>) -> Vec<String> {
        let key = status.to_string();
        let Some(schema) = self.responses.get(&key) else {
            // 304 answers are documented for some operations only; rate-limit and server
            // errors can come from any operation.
            if matches!(status, 304 | 401 | 403 | 429 | 500 | 502 | 503) {
                return Vec::new();
            }
            let mut documented: Vec<&String> = self.responses.keys().collect();
            documented.sort();
            return vec![format!(
                "status {status} is not documented (documented: {documented:?})"
            )];
        };
        match (schema, body) {
            (Some(v), Some(b)) => errors(v, b),
            (Some(_), None) => vec!["the documented body is missing".into()],
            _ => Vec::new(),
        }
    }
}

/// Every request Warden sent and every answer the simulator gave validates against GitHub's
/// OpenAPI description.
pub fn assert_documented(sim: &warden::sim::Sim) {
    let spec = Spec::load();
    let exchanges = sim.exchanges();
    assert!(!exchanges.is_empty(), "no API exchanges recorded");
    let mut problems = Vec::new();
    for x in &exchanges {
        // GraphQL (the merge queue's one mutation) is not part of the REST description; the
        // tests that use it check what was sent.
        if x.path == "/graphql" {
            continue;
        }
        let Some(op) = spec.find(&x.method, &x.path) else {
            problems.push(format!(
                "{} {}: not a documented operation",
                x.method, x.path
            ));
            continue;
        };
        for e in op.check_request(x.request_body.as_ref()) {
            problems.push(format!("{} {} request: {e}", x.method, x.path));
        }
        for e in op.check_response(x.status, x.response_body.as_ref()) {
            problems.push(format!("{} {} → {}: {e}", x.method, x.path, x.status));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} exchanges are not as documented:\n{}",
        problems.len(),
        exchanges.len(),
        problems.join("\n")
    );
}
