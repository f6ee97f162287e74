//! The team's own Rego policies, conftest-compatible, evaluated with regorus.
//!
//! Every `.rego` file under the configured policy directories is compiled once into a
//! [`Policies`]; each rendered object is then evaluated on its own as `input`, with
//! `data.warden` carrying the environment, target and repo ([`PolicyData`]).
//!
//! conftest semantics: in each evaluated package (`main` unless configured), the rules named
//! `deny`, `violation` and `warn`, or prefixed `deny_<x>`, `violation_<x>`, `warn_<x>`, are
//! collected; deny and violation give errors, warn gives warnings. A result is a string (the
//! message) or an object with a string `msg` (other fields are metadata; a string `rule` or
//! `id` names the finding's rule, a string `path` or `field` names the offending field).
//! `exception` rules in the same package drop every result of the rules they name (without
//! the `deny_`/`violation_`/`warn_` prefix), as conftest does.
//!
//! Both Rego v1 (`deny contains msg if { … }`) and v0 (`deny[msg] { … }`) files are
//! accepted: each file is parsed as v1 first and as v0 when that fails.
//!
//! Policies come from pull requests, so evaluation is bounded: each rule evaluation has a
//! time limit ([`Limits`]), `http.send` and `opa.runtime` do not exist, and an error in one
//! policy gives one `policy-error` finding naming its file instead of stopping the others.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Duration;

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};

use super::{Finding, Level, Rule, Severity};
use crate::manifest::{Object, Seg};

/// The package of the rule Warden adds to evaluate all rules at once; reserved.
const BATCH_PACKAGE: &str = "__warden__";
const BATCH_RULE: &str = "batch";

/// Rule id of a policy that does not compile or fails while evaluating.
pub const POLICY_ERROR: &str = "policy-error";

/// The rules this module emits besides the policies' own `policy/<package>/<rule>` ids.
pub const RULES: &[Rule] = &[Rule {
    id: POLICY_ERROR,
    default: Level::Error,
    summary: "A Rego policy does not compile, or fails or runs out of time while evaluating",
    help: "A policy that cannot be evaluated checks nothing, so the change cannot be judged by \
           it. Fix the file and line named in the message (syntax, an unknown function, a \
           conflict between rule values, a result without a string `msg`), or make an \
           expensive rule cheaper: each rule has a time limit per object. Run the policy \
           locally with `warden check` or `conftest test` to reproduce.",
}];

/// The package evaluated when none is configured (conftest's default namespace).
pub const DEFAULT_NAMESPACE: &str = "main";

/// A namespace entry meaning "every package" (conftest's `--all-namespaces`).
pub const ALL_NAMESPACES: &str = "*";

/// What policies see as `data.warden`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PolicyData {
    /// `data.warden.environment`: the environment of the target (`production`, …).
    pub environment: String,
    /// `data.warden.target`: the kustomization root being rendered.
    pub target: String,
    /// `data.warden.repo`: the repository (`owner/name`).
    pub repo: String,
}

/// Bounds on what one policy evaluation may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one rule evaluated on one object.
    pub time_per_rule: Duration,
    /// Results kept from one rule on one object; the rest are summed up in one finding.
    pub max_results_per_rule: usize,
    /// Longest message kept, in bytes; longer ones are cut.
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            time_per_rule: Duration::from_secs(1),
            max_results_per_rule: 100,
            max_message_bytes: 2000,
        }
    }
}

/// One rule to query: `data.<package>.<rule>`.
#[derive(Debug, Clone)]
struct Query {
    /// The package, dotted (`main`, `k8s.security`).
    package: String,
    /// The rule name (`deny`, `warn_labels`).
    rule: String,
    /// The query text handed to regorus.
    path: String,
    severity: Severity,
    /// Files that define this rule; the first names runtime errors regorus does not place.
    files: Vec<String>,
    /// Index into [`Policies::exceptions`] of this package's `exception` rule.
    exception: Option<usize>,
}

/// An `exception` rule of one package.
#[derive(Debug, Clone)]
struct Exception {
    path: String,
    files: Vec<String>,
}

/// Compiled policies, ready to evaluate objects. Compile once, evaluate many.
pub struct Policies {
    base: Engine,
    queries: Vec<Query>,
    exceptions: Vec<Exception>,
    /// A rule whose value is every rule's then every exception's: `[data.main.deny, …]`.
    batch: Option<String>,
    limits: Limits,
    /// The engine prepared for the last [`PolicyData`] seen by [`Policies::evaluate`].
    cached: Mutex<Option<(PolicyData, Engine)>>,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies")
            .field("rules", &self.rules())
            .field("limits", &self.limits)
            .finish()
    }
}

impl Policies {
    /// Compile policy files with the default [`Limits`].
    ///
    /// `files` are (repo-relative path, source) of every `.rego` file under the policy
    /// directories; `*_test.rego` files (conftest unit tests) are skipped. `namespaces` are
    /// the packages to evaluate (`["main"]` when empty; `"*"` means all of them).
    /// Every file that fails to parse, or a program that fails to compile, gives a
    /// `policy-error` finding naming the file and line.
    pub fn compile(
        files: &[(String, String)],
        namespaces: &[String],
    ) -> Result<Policies, Vec<Finding>> {
        Policies::compile_with_limits(files, namespaces, Limits::default())
    }

    /// [`Policies::compile`] with explicit limits.
    pub fn compile_with_limits(
        files: &[(String, String)],
        namespaces: &[String],
        limits: Limits,
    ) -> Result<Policies, Vec<Finding>> {
        // A panic inside regorus on a hostile policy must not take Warden down.
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            Policies::compile_unguarded(files, namespaces, limits)
        }))
        .unwrap_or_else(|_| {
            Err(vec![Finding {
                file: None,
                ..Finding::in_file(
                    POLICY_ERROR,
                    Severity::Error,
                    "",
                    0,
                    "the policy engine failed while compiling the policies (internal error); \
                     simplify the policies changed in this pull request",
                )
            }])
        })
    }

    fn compile_unguarded(
        files: &[(String, String)],
        namespaces: &[String],
        limits: Limits,
    ) -> Result<Policies, Vec<Finding>> {
        let mut engine = Engine::new();
        // OPA (and so conftest) makes a failing builtin undefined rather than an error.
        engine.set_strict_builtin_errors(false);
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: limits.time_per_rule,
            check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
        });

        // regorus allocates a whole range up front, before its timer can stop it: a policy
        // asking for `numbers.range(1, 1e12)` would exhaust memory. These take precedence.
        let ranges = engine
            .add_extension("numbers.range".to_string(), 2, Box::new(bounded_range))
            .and_then(|()| {
                engine.add_extension(
                    "numbers.range_step".to_string(),
                    3,
                    Box::new(bounded_range_step),
                )
            });
        if let Err(e) = ranges {
            return Err(vec![compile_error("", &e)]);
        }

        let mut errors = Vec::new();
        let mut loaded = BTreeSet::new();
        for (path, source) in files {
            if is_unit_test(path) || !loaded.insert(path.clone()) {
                continue;
            }
            if let Err(e) = add_file(&mut engine, path, source) {
                errors.push(compile_error(path, &e));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        let packages = match engine.get_policy_package_components() {
            Ok(p) => p,
            Err(e) => return Err(vec![compile_error("", &e)]),
        };
        let mut reserved = Vec::new();
        for p in &packages {
            if matches!(
                p.components.first().map(String::as_str),
                Some("warden" | BATCH_PACKAGE)
            ) {
                let line = package_line(files, &p.source_file);
                reserved.push(Finding::in_file(
                    POLICY_ERROR,
                    Severity::Error,
                    p.source_file.clone(),
                    line,
                    "package `warden` is reserved: Warden puts the environment, target and \
                     repo in `data.warden`; rename the package",
                ));
            }
        }
        if !reserved.is_empty() {
            return Err(reserved);
        }

        // data.warden exists while compiling so that references to it are checked.
        if let Err(e) = engine.add_data(warden_data(&PolicyData::default())) {
            return Err(vec![compile_error("", &e)]);
        }
        // Evaluating anything prepares the program: rule conflicts, unsafe variables and
        // unknown functions are found here, before any object is evaluated.
        if let Err(e) = engine.eval_query("data.warden".to_string(), false) {
            let (file, line, _) = error_location(&format!("{e:#}")).unwrap_or_default();
            return Err(vec![compile_error_at(&file, line, &e)]);
        }

        // Policy `print` output is gathered (and dropped), never written to stderr.
        engine.set_gather_prints(true);
        let (queries, exceptions) = collect_queries(&mut engine, &packages, namespaces);
        let errors = probe(&mut engine, &queries, &exceptions);
        if !errors.is_empty() {
            return Err(errors);
        }
        // One rule that collects all the others: a rule, unlike a query, is parsed once.
        let batch_source = format!(
            "package {BATCH_PACKAGE}\n\n{BATCH_RULE} := [{}]\n",
            queries
                .iter()
                .map(|q| q.path.as_str())
                .chain(exceptions.iter().map(|e| e.path.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut with_batch = engine.clone();
        let batch = with_batch
            .add_policy(BATCH_PACKAGE.to_string(), batch_source)
            .and_then(|_| with_batch.eval_query("data.warden".to_string(), false));
        let (engine, batch) = match batch {
            Ok(_) => (
                with_batch,
                Some(format!("data.{BATCH_PACKAGE}.{BATCH_RULE}")),
            ),
            Err(_) => (engine, None),
        };
        Ok(Policies {
            base: engine,
            queries,
            exceptions,
            batch,
            limits,
            cached: Mutex::new(None),
        })
    }

    /// The policy rule ids that can fire (`policy/main/deny`, …), with their severities.
    pub fn rules(&self) -> Vec<(String, Severity)> {
        self.queries
            .iter()
            .map(|q| (format!("policy/{}/{}", q.package, q.rule), q.severity))
            .collect()
    }

    /// True when no evaluated package has a deny, violation or warn rule.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// An evaluator with `data.warden` set: the cheap way to evaluate many objects of one
    /// target. Fails (with a `policy-error` finding) only if the program cannot be prepared.
    pub fn evaluator(&self, data: &PolicyData) -> Result<Evaluator<'_>, Box<Finding>> {
        let mut engine = self.base.clone();
        engine.clear_data();
        let prepared = engine.add_data(warden_data(data)).and_then(|()| {
            engine
                .eval_query("data.warden".to_string(), false)
                .map(|_| ())
        });
        match prepared {
            Ok(()) => Ok(Evaluator {
                policies: self,
                data: data.clone(),
                engine,
            }),
            Err(e) => {
                let (file, line, _) = error_location(&format!("{e:#}")).unwrap_or_default();
                Err(Box::new(compile_error_at(&file, line, &e)))
            }
        }
    }

    /// Evaluate the policies on object `index` of a render, appending findings to `out`.
    ///
    /// Reuses the engine prepared for the previous call when `data` is the same, so calls
    /// for the objects of one target in a row are cheap.
    pub fn evaluate(&self, index: usize, obj: &Object, data: &PolicyData, out: &mut Vec<Finding>) {
        if self.queries.is_empty() {
            return;
        }
        let mut slot = match self.cached.try_lock() {
            Ok(slot) => slot,
            // Busy (another thread) or poisoned: use a private engine.
            Err(_) => {
                match self.evaluator(data) {
                    Ok(mut ev) => ev.evaluate(index, obj, out),
                    Err(f) => out.push(with_object(*f, index)),
                }
                return;
            }
        };
        if slot.as_ref().is_none_or(|(d, _)| d != data) {
            match self.evaluator(data) {
                Ok(ev) => *slot = Some((data.clone(), ev.engine)),
                Err(f) => {
                    out.push(with_object(*f, index));
                    return;
                }
            }
        }
        if let Some((_, engine)) = slot.as_mut()
            && !run(self, engine, index, obj, out)
        {
            *slot = None;
        }
    }
}

/// Policies prepared for one [`PolicyData`]; evaluates objects one by one.
pub struct Evaluator<'a> {
    policies: &'a Policies,
    data: PolicyData,
    engine: Engine,
}

impl Evaluator<'_> {
    /// Evaluate the policies on object `index`, appending findings to `out`.
    pub fn evaluate(&mut self, index: usize, obj: &Object, out: &mut Vec<Finding>) {
        if !run(self.policies, &mut self.engine, index, obj, out) {
            // The engine may be left half-way: start the next object afresh.
            match self.policies.evaluator(&self.data) {
                Ok(fresh) => self.engine = fresh.engine,
                Err(f) => out.push(with_object(*f, index)),
            }
        }
    }
}

/// Evaluate one object; false when regorus panicked (reported as a `policy-error`).
fn run(
    policies: &Policies,
    engine: &mut Engine,
    index: usize,
    obj: &Object,
    out: &mut Vec<Finding>,
) -> bool {
    let ok = std::panic::catch_unwind(AssertUnwindSafe(|| {
        run_unguarded(policies, engine, index, obj, out)
    }))
    .is_ok();
    if !ok {
        out.push(Finding::at(
            POLICY_ERROR,
            Severity::Error,
            index,
            Vec::new(),
            "the policy engine failed on this object (internal error); the policies were not \
             all evaluated",
        ));
    }
    ok
}

fn run_unguarded(
    policies: &Policies,
    engine: &mut Engine,
    index: usize,
    obj: &Object,
    out: &mut Vec<Finding>,
) {
    engine.set_input(object_to_value(obj));
    if !run_batch(policies, engine, index, out) {
        run_each(policies, engine, index, out);
    }
    let _ = engine.take_prints();
}

/// Evaluate every rule and exception in one query, sharing the work of helper rules.
/// False (nothing reported) when that query fails or is undefined: then each rule is
/// evaluated on its own, so that an error is pinned to its rule and the others still run.
fn run_batch(
    policies: &Policies,
    engine: &mut Engine,
    index: usize,
    out: &mut Vec<Finding>,
) -> bool {
    let n = policies.queries.len();
    let Some(batch) = &policies.batch else {
        return false;
    };
    let Ok(Value::Array(values)) = engine.eval_rule(batch.clone()) else {
        return false;
    };
    if values.len() != n + policies.exceptions.len() {
        return false;
    }
    let values: Vec<&Value> = values.iter().collect();
    let excepted: Vec<BTreeSet<String>> = values[n..].iter().map(|v| exception_names(v)).collect();
    for (q, v) in policies.queries.iter().zip(&values[..n]) {
        let name = strip_rule_prefix(&q.rule);
        if q.exception.is_some_and(|ei| excepted[ei].contains(name)) {
            continue;
        }
        report(policies, q, index, v, out);
    }
    true
}

/// Evaluate rule by rule (exceptions first, each at most once per object).
fn run_each(policies: &Policies, engine: &mut Engine, index: usize, out: &mut Vec<Finding>) {
    let limit = policies.limits.time_per_rule;
    let mut excepted: Vec<Option<BTreeSet<String>>> = vec![None; policies.exceptions.len()];
    for q in &policies.queries {
        if let Some(ei) = q.exception {
            if excepted[ei].is_none() {
                let ex = &policies.exceptions[ei];
                excepted[ei] = Some(match engine.eval_rule(ex.path.clone()) {
                    Ok(v) => exception_names(&v),
                    Err(e) => {
                        out.push(runtime_error(index, &ex.path, &ex.files, limit, &e));
                        BTreeSet::new()
                    }
                });
            }
            let name = strip_rule_prefix(&q.rule);
            if excepted[ei].as_ref().is_some_and(|s| s.contains(name)) {
                continue;
            }
        }
        match engine.eval_rule(q.path.clone()) {
            Ok(v) => report(policies, q, index, &v, out),
            Err(e) => out.push(runtime_error(index, &q.path, &q.files, limit, &e)),
        }
    }
}

/// Turn one rule's value into findings.
fn report(policies: &Policies, q: &Query, index: usize, v: &Value, out: &mut Vec<Finding>) {
    let items: Vec<&Value> = match v {
        Value::Set(s) => s.iter().collect(),
        Value::Array(a) => a.iter().collect(),
        // conftest ignores rules whose value is not a collection (`deny = true`).
        _ => return,
    };
    let limits = &policies.limits;
    let default_rule = format!("policy/{}/{}", q.package, q.rule);
    let mut kept = 0usize;
    let mut dropped = 0usize;
    for item in items {
        let (msg, rule, path) = match item {
            Value::String(s) => (s.to_string(), None, Vec::new()),
            Value::Object(o) => {
                let field = |k: &str| {
                    o.get(&Value::from(k))
                        .and_then(|v| v.as_string().ok())
                        .map(|s| s.to_string())
                };
                let Some(msg) = field("msg") else {
                    out.push(runtime_error_msg(
                        index,
                        &q.files,
                        0,
                        &format!(
                            "a result of `{}` is an object without a string `msg` field; \
                             return `{{\"msg\": \"…\"}}` or a string",
                            q.path
                        ),
                    ));
                    continue;
                };
                let rule = field("rule")
                    .or_else(|| field("id"))
                    .filter(|r| is_rule_id(r));
                let path = field("path")
                    .or_else(|| field("field"))
                    .and_then(|p| parse_path(&p))
                    .unwrap_or_default();
                (msg, rule, path)
            }
            // conftest ignores other values in a result set.
            _ => continue,
        };
        if kept >= limits.max_results_per_rule {
            dropped += 1;
            continue;
        }
        kept += 1;
        let rule = match rule {
            Some(r) => format!("policy/{}/{}", q.package, r),
            None => default_rule.clone(),
        };
        let msg = truncate(msg, limits.max_message_bytes);
        out.push(Finding::at(&rule, q.severity, index, path, msg));
    }
    if dropped > 0 {
        out.push(Finding::at(
            &default_rule,
            q.severity,
            index,
            Vec::new(),
            format!(
                "{dropped} more results of `{}` on this object were not shown (at most {} per \
                 rule and object)",
                q.path, limits.max_results_per_rule
            ),
        ));
    }
}

/// Parse and add one file: as Rego v1, else as v0; when both fail, the error of the parse
/// that got further (the more likely intended syntax) is kept.
fn add_file(engine: &mut Engine, path: &str, source: &str) -> anyhow::Result<()> {
    engine.set_rego_v0(false);
    let v1 = match engine.add_policy(path.to_string(), source.to_string()) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    engine.set_rego_v0(true);
    let v0 = engine.add_policy(path.to_string(), source.to_string());
    engine.set_rego_v0(false);
    match v0 {
        Ok(_) => Ok(()),
        Err(v0) => {
            let at = |e: &anyhow::Error| error_location(&format!("{e:#}")).map(|(_, l, c)| (l, c));
            if at(&v0) > at(&v1) { Err(v0) } else { Err(v1) }
        }
    }
}

/// regorus resolves functions and checks variable safety lazily, while evaluating. Evaluate
/// every rule once on an empty input so that such mistakes in the statements reached are
/// reported when compiling, with their file and line, rather than once per object. Errors
/// that may depend on the input (conflicts, types, time) are left to evaluation.
fn probe(engine: &mut Engine, queries: &[Query], exceptions: &[Exception]) -> Vec<Finding> {
    const STATIC: &[&str] = &["could not find function", "is unsafe", "recursion detected"];
    engine.set_input(Value::new_object());
    let paths = queries
        .iter()
        .map(|q| &q.path)
        .chain(exceptions.iter().map(|e| &e.path));
    let mut errors: Vec<Finding> = Vec::new();
    for path in paths {
        let Err(e) = engine.eval_rule(path.clone()) else {
            continue;
        };
        let msg = format!("{e:#}");
        let text = error_text(&msg);
        if !STATIC.iter().any(|s| text.contains(s)) {
            continue;
        }
        let (file, line, _) = error_location(&msg).unwrap_or_default();
        let f = compile_error_at(&file, line, &e);
        if !errors.contains(&f) {
            errors.push(f);
        }
    }
    let _ = engine.take_prints();
    errors
}

/// Find the evaluated rules and exception rules of the selected packages.
fn collect_queries(
    engine: &mut Engine,
    packages: &[regorus::PolicyPackageComponents],
    namespaces: &[String],
) -> (Vec<Query>, Vec<Exception>) {
    let all = namespaces.iter().any(|n| n == ALL_NAMESPACES);
    let wanted: BTreeSet<&str> = if namespaces.is_empty() {
        BTreeSet::from([DEFAULT_NAMESPACE])
    } else {
        namespaces.iter().map(String::as_str).collect()
    };

    // (package, rule) -> files; package -> exception files.
    let mut rules: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut exceptions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut package_paths: BTreeMap<String, String> = BTreeMap::new();
    let modules = engine.get_modules().clone();
    for (module, pkg) in modules.iter().zip(packages) {
        let name = pkg.components.join(".");
        if !all && !wanted.contains(name.as_str()) {
            continue;
        }
        package_paths
            .entry(name.clone())
            .or_insert_with(|| package_path(&pkg.components));
        for rule in &module.policy {
            let Some(rule_name) = rule_name(rule) else {
                continue;
            };
            if rule_name == "exception" {
                push_unique(
                    exceptions.entry(name.clone()).or_default(),
                    &pkg.source_file,
                );
            } else if rule_severity(&rule_name).is_some() {
                push_unique(
                    rules.entry((name.clone(), rule_name)).or_default(),
                    &pkg.source_file,
                );
            }
        }
    }

    let mut exception_list = Vec::new();
    let mut exception_index = BTreeMap::new();
    for (package, files) in exceptions {
        exception_index.insert(package.clone(), exception_list.len());
        exception_list.push(Exception {
            path: format!("{}.exception", package_paths[&package]),
            files,
        });
    }
    let queries = rules
        .into_iter()
        .filter_map(|((package, rule), files)| {
            Some(Query {
                path: format!("{}.{}", package_paths.get(&package)?, rule),
                severity: rule_severity(&rule)?,
                exception: exception_index.get(&package).copied(),
                package,
                rule,
                files,
            })
        })
        .collect();
    (queries, exception_list)
}

/// The name a rule defines in its package (`deny` for `deny contains msg if …`, `deny[msg]`
/// and `deny.x contains …`); `None` for functions.
fn rule_name(rule: &regorus::unstable::Rule) -> Option<String> {
    use regorus::unstable::{Expr, Rule as R, RuleHead};
    let mut refr: &Expr = match rule {
        R::Spec { head, .. } => match head {
            RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } => refr,
            RuleHead::Func { .. } => return None,
        },
        R::Default { .. } => return None,
    };
    loop {
        match refr {
            Expr::Var { span, .. } => return Some(span.text().to_string()),
            Expr::RefDot { refr: r, .. } | Expr::RefBrack { refr: r, .. } => refr = r,
            _ => return None,
        }
    }
}

/// conftest's rule classes: `^(deny|violation)(_[a-zA-Z0-9]+)*$` fail, `^warn(_…)*$` warn.
fn rule_severity(name: &str) -> Option<Severity> {
    let (severity, rest) = if let Some(r) = name.strip_prefix("deny") {
        (Severity::Error, r)
    } else if let Some(r) = name.strip_prefix("violation") {
        (Severity::Error, r)
    } else if let Some(r) = name.strip_prefix("warn") {
        (Severity::Warning, r)
    } else {
        return None;
    };
    if rest.is_empty() {
        return Some(severity);
    }
    let rest = rest.strip_prefix('_')?;
    rest.split('_')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(severity)
}

/// conftest's `removeRulePrefix`: the name an exception uses for a rule.
fn strip_rule_prefix(rule: &str) -> &str {
    let r = rule.strip_prefix("violation_").unwrap_or(rule);
    let r = r.strip_prefix("deny_").unwrap_or(r);
    r.strip_prefix("warn_").unwrap_or(r)
}

/// Names in an `exception` value: conftest matches `exception[_][_] == name`.
fn exception_names(v: &Value) -> BTreeSet<String> {
    fn members(v: &Value) -> Vec<&Value> {
        match v {
            Value::Set(s) => s.iter().collect(),
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        }
    }
    members(v)
        .into_iter()
        .flat_map(members)
        .filter_map(|n| n.as_string().ok().map(|s| s.to_string()))
        .collect()
}

/// `data.main`, or `data["my-pkg"]` for components that are not identifiers.
fn package_path(components: &[String]) -> String {
    let mut s = String::from("data");
    for c in components {
        if is_ident(c) {
            s.push('.');
            s.push_str(c);
        } else {
            s.push('[');
            s.push_str(&serde_json::Value::String(c.clone()).to_string());
            s.push(']');
        }
    }
    s
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A rule id a policy may give in `rule`/`id`: short, no spaces or separators.
fn is_rule_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Parse `spec.template.spec.containers[0].image` (also `a["b.c"]`) into segments.
pub fn parse_path(s: &str) -> Option<Vec<Seg>> {
    let s = s.strip_prefix('.').unwrap_or(s);
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut expect_key = true;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => {
                let close = s[i..].find(']')? + i;
                let inner = &s[i + 1..close];
                if let Ok(n) = inner.parse::<usize>() {
                    out.push(Seg::Index(n));
                } else if inner.len() >= 2 && (inner.starts_with('"') || inner.starts_with('\'')) {
                    let q = &inner[..1];
                    out.push(Seg::Key(
                        inner.strip_prefix(q)?.strip_suffix(q)?.to_string(),
                    ));
                } else {
                    return None;
                }
                i = close + 1;
                expect_key = false;
            }
            b'.' if !expect_key => {
                i += 1;
                expect_key = true;
            }
            _ if expect_key => {
                let end = s[i..].find(['.', '[']).map_or(s.len(), |e| e + i);
                if end == i {
                    return None;
                }
                out.push(Seg::Key(s[i..end].to_string()));
                i = end;
                expect_key = false;
            }
            _ => return None,
        }
    }
    if expect_key && !out.is_empty() {
        return None;
    }
    Some(out)
}

/// Most elements a `numbers.range` or `numbers.range_step` call may produce.
pub const MAX_RANGE: u64 = 1_000_000;

/// `numbers.range(a, b)`: the integers from `a` to `b` inclusive, either direction.
fn bounded_range(args: Vec<Value>) -> anyhow::Result<Value> {
    match args.as_slice() {
        [a, b] => match (a.as_i64(), b.as_i64()) {
            (Ok(a), Ok(b)) => range_values("numbers.range", a, b, 1),
            // Like OPA: a non-integer bound makes the call undefined.
            _ => Ok(Value::Undefined),
        },
        _ => anyhow::bail!("numbers.range expects 2 arguments"),
    }
}

/// `numbers.range_step(a, b, step)`: from `a` towards `b` by a positive `step`.
fn bounded_range_step(args: Vec<Value>) -> anyhow::Result<Value> {
    match args.as_slice() {
        [a, b, step] => match (a.as_i64(), b.as_i64(), step.as_i64()) {
            (Ok(a), Ok(b), Ok(step)) if step > 0 => range_values("numbers.range_step", a, b, step),
            _ => Ok(Value::Undefined),
        },
        _ => anyhow::bail!("numbers.range_step expects 3 arguments"),
    }
}

fn range_values(name: &str, a: i64, b: i64, step: i64) -> anyhow::Result<Value> {
    let (a, b, step) = (i128::from(a), i128::from(b), i128::from(step));
    let count = (b - a).unsigned_abs() / step.unsigned_abs() + 1;
    if count > u128::from(MAX_RANGE) {
        anyhow::bail!("{name} would make {count} numbers; Warden allows at most {MAX_RANGE}");
    }
    let dir = if b >= a { 1 } else { -1 };
    let values = (0..count as i128)
        .map(|k| {
            let v = a + dir * k * step;
            i64::try_from(v).map_or(Value::Undefined, Value::from)
        })
        .collect::<Vec<_>>();
    Ok(Value::from(values))
}

fn is_unit_test(path: &str) -> bool {
    path.ends_with("_test.rego")
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn warden_data(d: &PolicyData) -> Value {
    let mut w = BTreeMap::new();
    w.insert(
        Value::from("environment"),
        Value::from(d.environment.as_str()),
    );
    w.insert(Value::from("target"), Value::from(d.target.as_str()));
    w.insert(Value::from("repo"), Value::from(d.repo.as_str()));
    let mut root = BTreeMap::new();
    root.insert(Value::from("warden"), Value::from(w));
    Value::from(root)
}

/// Convert a rendered object into a regorus value without going through text.
fn object_to_value(obj: &Object) -> Value {
    Value::from(
        obj.iter()
            .map(|(k, v)| (Value::from(k.as_str()), json_to_value(v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::from(a.iter().map(json_to_value).collect::<Vec<_>>()),
        serde_json::Value::Object(o) => object_to_value(o),
    }
}

/// `(file, line, column)` of a regorus error (`--> file:line:col` in its message).
fn error_location(msg: &str) -> Option<(String, usize, usize)> {
    let start = msg.find("--> ")? + 4;
    let first = msg[start..].lines().next()?;
    let mut parts = first.rsplitn(3, ':');
    let col = parts.next()?.trim().parse().ok()?;
    let line = parts.next()?.trim().parse().ok()?;
    let file = parts.next()?.to_string();
    Some((file, line, col))
}

/// The `error: …` text of a regorus error, without the source excerpt.
fn error_text(msg: &str) -> String {
    let text = match msg.rfind("error: ") {
        Some(i) if msg.contains("--> ") => msg[i + 7..].trim(),
        _ => msg.trim(),
    };
    text.lines().next().unwrap_or("").to_string()
}

fn compile_error(file: &str, e: &anyhow::Error) -> Finding {
    let msg = format!("{e:#}");
    let line = error_location(&msg)
        .filter(|(f, _, _)| f == file)
        .map_or(0, |(_, l, _)| l);
    compile_error_at(file, line, e)
}

fn compile_error_at(file: &str, line: usize, e: &anyhow::Error) -> Finding {
    let msg = format!("{e:#}");
    let text = error_text(&msg);
    let mut f = Finding::in_file(
        POLICY_ERROR,
        Severity::Error,
        file,
        line,
        format!("policy does not compile: {text}"),
    );
    if file.is_empty() {
        f.file = None;
    }
    f
}

fn runtime_error(
    index: usize,
    what: &str,
    files: &[String],
    limit: Duration,
    e: &anyhow::Error,
) -> Finding {
    let msg = format!("{e:#}");
    let (file, line) = match error_location(&msg) {
        Some((file, line, _)) if !file.is_empty() => (Some(file), line),
        _ => (None, 0),
    };
    let text = error_text(&msg);
    let text = if text.contains("exceeded time limit") {
        format!(
            "it ran longer than the limit of {} ms per rule and object; make the rule cheaper",
            limit.as_millis()
        )
    } else {
        text
    };
    let mut f = runtime_error_msg(
        index,
        files,
        line,
        &format!("evaluating `{what}` on this object failed: {text}"),
    );
    if let Some(file) = file {
        f.file = Some(file);
    }
    f
}

fn runtime_error_msg(index: usize, files: &[String], line: usize, msg: &str) -> Finding {
    let mut f = Finding::at(POLICY_ERROR, Severity::Error, index, Vec::new(), msg);
    f.file = files.first().cloned();
    f.line = line;
    f
}

fn with_object(mut f: Finding, index: usize) -> Finding {
    f.object = Some(index);
    f
}

fn package_line(files: &[(String, String)], file: &str) -> usize {
    files
        .iter()
        .find(|(p, _)| p == file)
        .and_then(|(_, src)| {
            src.lines()
                .position(|l| l.trim_start().starts_with("package "))
                .map(|i| i + 1)
        })
        .unwrap_or(0)
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_rule_names_like_conftest() {
        assert_eq!(rule_severity("deny"), Some(Severity::Error));
        assert_eq!(rule_severity("violation"), Some(Severity::Error));
        assert_eq!(rule_severity("warn"), Some(Severity::Warning));
        assert_eq!(rule_severity("deny_run_as_root"), Some(Severity::Error));
        assert_eq!(rule_severity("warn_labels2"), Some(Severity::Warning));
        assert_eq!(rule_severity("denyx"), None);
        assert_eq!(rule_severity("deny_"), None);
        assert_eq!(rule_severity("deny__x"), None);
        assert_eq!(rule_severity("deny_a-b"), None);
        assert_eq!(rule_severity("allow"), None);
        assert_eq!(rule_severity("exception"), None);
    }

    #[test]
    fn strips_rule_prefixes_like_conftest() {
        assert_eq!(strip_rule_prefix("deny_root"), "root");
        assert_eq!(strip_rule_prefix("violation_root"), "root");
        assert_eq!(strip_rule_prefix("warn_root"), "root");
        assert_eq!(strip_rule_prefix("deny"), "deny");
    }

    #[test]
    fn parses_field_paths() {
        let p = parse_path("spec.template.spec.containers[0].image").unwrap();
        assert_eq!(
            super::super::path_to_string(&p),
            "spec.template.spec.containers[0].image"
        );
        assert_eq!(p[4], Seg::Index(0));
        let p = parse_path("metadata.annotations[\"a.b/c\"]").unwrap();
        assert_eq!(p[2], Seg::Key("a.b/c".into()));
        assert_eq!(parse_path(""), Some(vec![]));
        assert_eq!(parse_path("a..b"), None);
        assert_eq!(parse_path("a[x]"), None);
        assert_eq!(parse_path("a."), None);
        assert_eq!(parse_path("a[0"), None);
    }

    #[test]
    fn reads_error_locations() {
        let msg = "\n--> policy/a:b.rego:12:5\n   |\n12 | x\n   | ^\nerror: unexpected token";
        assert_eq!(
            error_location(msg),
            Some(("policy/a:b.rego".to_string(), 12, 5))
        );
        assert_eq!(error_text(msg), "unexpected token");
        assert_eq!(error_location("plain failure"), None);
        assert_eq!(error_text("plain failure\nmore"), "plain failure");
    }

    #[test]
    fn quotes_odd_package_components() {
        assert_eq!(package_path(&["main".into()]), "data.main");
        assert_eq!(
            package_path(&["k8s".into(), "my-pkg".into()]),
            "data.k8s[\"my-pkg\"]"
        );
    }

    #[test]
    fn ranges_are_bounded_and_match_opa() {
        let r = |a: i64, b: i64| bounded_range(vec![Value::from(a), Value::from(b)]).unwrap();
        assert_eq!(r(1, 3), Value::from(vec![1.into(), 2.into(), 3.into()]));
        assert_eq!(r(2, 0), Value::from(vec![2.into(), 1.into(), 0.into()]));
        assert_eq!(r(5, 5), Value::from(vec![Value::from(5)]));
        assert!(bounded_range(vec![Value::from(0), Value::from(1_000_000_000_000i64)]).is_err());
        assert_eq!(
            bounded_range(vec![Value::from(0.5), Value::from(2)]).unwrap(),
            Value::Undefined
        );
        let s = |a: i64, b: i64, c: i64| {
            bounded_range_step(vec![Value::from(a), Value::from(b), Value::from(c)]).unwrap()
        };
        assert_eq!(s(0, 10, 4), Value::from(vec![0.into(), 4.into(), 8.into()]));
        assert_eq!(
            s(10, 0, 4),
            Value::from(vec![10.into(), 6.into(), 2.into()])
        );
        assert_eq!(s(0, 10, 0), Value::Undefined);
        assert!(
            bounded_range_step(vec![
                Value::from(i64::MIN),
                Value::from(i64::MAX),
                Value::from(1)
            ])
            .is_err()
        );
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo".into(), 2), "h…");
        assert_eq!(truncate("abc".into(), 5), "abc");
    }
}
