//! Resource selectors as written in `patches[].target` and in replacement `select`/`reject`.
//!
//! Two matching flavours exist in kustomize and both are provided here:
//! - [`Selector::compile`] / [`Matcher`]: patch targets. Group, version, kind, name and namespace
//!   are anchored regular expressions; name and namespace may match either the original or the
//!   current id, the GVK is matched against the current one.
//! - [`Selector::selects_id`]: replacements. Plain string equality against one id (the caller
//!   tries the current and every previous id); namespaces compare by effective namespace.
//!
//! Label and annotation selectors use the Kubernetes label-selector syntax ([`LabelSelector`]).

use crate::kustomize::resource::{Resource, is_cluster_scoped_kind};
use crate::manifest::{Gvk, ResId};
use regex::Regex;
use serde::Deserialize;

/// A resource selector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub label_selector: String,
    #[serde(default)]
    pub annotation_selector: String,
}

/// Namespace kustomize uses for ids of namespaced objects with no (or the default) namespace.
const DEFAULT_NS: &str = "default";
/// Effective namespace of cluster-scoped ids.
const NO_NS: &str = "_non_namespaceable_";

/// The effective namespace of an id: cluster-scoped ids (when the scope is known) have none,
/// an empty namespace means `default`.
pub(crate) fn effective_namespace(ns: &str, cluster_scoped: bool) -> &str {
    if cluster_scoped {
        NO_NS
    } else if ns.is_empty() || ns == DEFAULT_NS {
        DEFAULT_NS
    } else {
        ns
    }
}

/// kustomize's printed form of an id (`Kind.version.group/name.namespace`, with placeholders
/// for empty parts), used in error messages.
pub fn id_string(group: &str, version: &str, kind: &str, name: &str, namespace: &str) -> String {
    fn or<'a>(s: &'a str, d: &'a str) -> &'a str {
        if s.is_empty() { d } else { s }
    }
    format!(
        "{}.{}.{}/{}.{}",
        or(kind, "[noKind]"),
        or(version, "[noVer]"),
        or(group, "[noGrp]"),
        or(name, "[noName]"),
        or(namespace, "[noNs]")
    )
}

impl Selector {
    /// Compile for patch-target matching.
    pub fn compile(&self) -> Result<Matcher, String> {
        let re = |what: &str, p: &str| -> Result<Option<Pattern>, String> {
            if p.is_empty() {
                return Ok(None);
            }
            if !p.chars().any(|c| "\\+*?()|[]{}^$".contains(c)) {
                // Most selectors are plain names, where `.` is the only special character:
                // match them without building a regex.
                return Ok(Some(Pattern::Simple(p.to_string())));
            }
            Regex::new(&format!("^(?:{p})$"))
                .map(|r| Some(Pattern::Regex(r)))
                .map_err(|e| format!("invalid {what} regex {p:?} in selector: {e}"))
        };
        Ok(Matcher {
            group: re("group", &self.group)?,
            version: re("version", &self.version)?,
            kind: re("kind", &self.kind)?,
            name: re("name", &self.name)?,
            namespace: re("namespace", &self.namespace)?,
            labels: LabelSelector::parse(&self.label_selector)?,
            annotations: LabelSelector::parse(&self.annotation_selector)?,
        })
    }

    /// Are group, version, kind, name and namespace all empty?
    pub fn id_is_empty(&self) -> bool {
        self.group.is_empty()
            && self.version.is_empty()
            && self.kind.is_empty()
            && self.name.is_empty()
            && self.namespace.is_empty()
    }

    /// Exact (non-regex) id selection, as replacements do: every non-empty part must equal
    /// the id's; namespaces compare by effective namespace (empty = `default`).
    pub fn selects_id(&self, id: &ResId) -> bool {
        id_selected(
            id,
            &self.group,
            &self.version,
            &self.kind,
            &self.name,
            &self.namespace,
        )
    }

    /// Do the label and annotation selectors both match the resource?
    pub fn matches_labels_and_annotations(&self, r: &Resource) -> Result<bool, String> {
        let a = LabelSelector::parse(&self.annotation_selector)?;
        let l = LabelSelector::parse(&self.label_selector)?;
        Ok(a.matches(&r.annotations()) && l.matches(&r.labels()))
    }

    /// kustomize's printed form, used in error messages.
    pub fn describe(&self) -> String {
        format!(
            "{}:a={}:l={}",
            id_string(
                &self.group,
                &self.version,
                &self.kind,
                &self.name,
                &self.namespace
            ),
            self.annotation_selector,
            self.label_selector
        )
    }
}

/// Exact id selection shared by replacement sources and targets. Scope is not consulted
/// (kustomize builds these ids without scope information), so an empty namespace is `default`.
pub(crate) fn id_selected(
    id: &ResId,
    group: &str,
    version: &str,
    kind: &str,
    name: &str,
    namespace: &str,
) -> bool {
    (name.is_empty() || name == id.name)
        && (namespace.is_empty()
            || effective_namespace(namespace, false) == effective_namespace(&id.namespace, false))
        && (group.is_empty() || group == id.gvk.group)
        && (version.is_empty() || version == id.gvk.version)
        && (kind.is_empty() || kind == id.gvk.kind)
}

/// One anchored selector pattern.
#[derive(Debug, Clone)]
enum Pattern {
    /// Literal characters, where `.` matches any one character but a line break.
    Simple(String),
    Regex(Regex),
}

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Regex(r) => r.is_match(s),
            Pattern::Simple(p) => {
                let mut a = p.chars();
                let mut b = s.chars();
                loop {
                    match (a.next(), b.next()) {
                        (None, None) => return true,
                        (Some('.'), Some(c)) if c != '\n' => {}
                        (Some(x), Some(y)) if x == y => {}
                        _ => return false,
                    }
                }
            }
        }
    }
}

/// A compiled patch-target selector.
#[derive(Debug, Clone)]
pub struct Matcher {
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    labels: LabelSelector,
    annotations: LabelSelector,
}

fn re_ok(re: &Option<Pattern>, s: &str) -> bool {
    re.as_ref().is_none_or(|r| r.is_match(s))
}

impl Matcher {
    /// Does the selector pick this resource?
    pub fn matches(&self, r: &Resource) -> bool {
        let cur = r.cur_id();
        let cur_ns = effective_namespace(&cur.namespace, is_cluster_scoped_kind(&cur.gvk));
        // The original id: the first previous one (kustomize rebuilds those without scope
        // information) or the current one.
        let (org_name, org_ns) = match r.previous.first() {
            Some(p) => (p.name.as_str(), effective_namespace(&p.namespace, false)),
            None => (cur.name.as_str(), cur_ns),
        };
        if !re_ok(&self.namespace, org_ns) && !re_ok(&self.namespace, cur_ns) {
            return false;
        }
        if !re_ok(&self.name, org_name) && !re_ok(&self.name, &cur.name) {
            return false;
        }
        if !self.matches_gvk(&cur.gvk) {
            return false;
        }
        self.labels.matches(&r.labels()) && self.annotations.matches(&r.annotations())
    }

    /// Does the GVK part match?
    pub fn matches_gvk(&self, gvk: &Gvk) -> bool {
        re_ok(&self.group, &gvk.group)
            && re_ok(&self.version, &gvk.version)
            && re_ok(&self.kind, &gvk.kind)
    }
}

/// A parsed Kubernetes label selector (`a=b,c!=d,e in (f,g),!h,i`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Id(String),
    Comma,
    Not,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
    In,
    NotIn,
    Open,
    Close,
    End,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Id(s) => s.clone(),
            Tok::Comma => ",".into(),
            Tok::Not => "!".into(),
            Tok::Eq => "=".into(),
            Tok::DoubleEq => "==".into(),
            Tok::NotEq => "!=".into(),
            Tok::Gt => ">".into(),
            Tok::Lt => "<".into(),
            Tok::In => "in".into(),
            Tok::NotIn => "notin".into(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::End => "".into(),
        }
    }
    /// In a value position `in`/`notin` are plain identifiers.
    fn into_value(self) -> Tok {
        match self {
            Tok::In => Tok::Id("in".into()),
            Tok::NotIn => Tok::Id("notin".into()),
            t => t,
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn symbol(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::Close,
        "," => Tok::Comma,
        "!" => Tok::Not,
        "==" => Tok::DoubleEq,
        "=" => Tok::Eq,
        ">" => Tok::Gt,
        "<" => Tok::Lt,
        "!=" => Tok::NotEq,
        "(" => Tok::Open,
        _ => return None,
    })
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\r' | '\n') {
            i += 1;
        }
        if i >= chars.len() {
            out.push(Tok::End);
            return Ok(out);
        }
        if is_special(chars[i]) {
            // Longest run of special characters that still forms a symbol.
            let mut buf = String::new();
            let mut last: Option<(Tok, usize)> = None;
            let mut j = i;
            while j < chars.len() && is_special(chars[j]) {
                buf.push(chars[j]);
                if let Some(t) = symbol(&buf) {
                    last = Some((t, j + 1));
                } else if last.is_some() {
                    break;
                }
                j += 1;
            }
            match last {
                Some((t, end)) => {
                    out.push(t);
                    i = end;
                }
                None => return Err(format!("error expected: keyword found '{buf}'")),
            }
        } else {
            let start = i;
            while i < chars.len()
                && !is_special(chars[i])
                && !matches!(chars[i], ' ' | '\t' | '\r' | '\n')
            {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            out.push(match w.as_str() {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Id(w),
            });
        }
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Tok {
        self.toks.get(self.pos).cloned().unwrap_or(Tok::End)
    }
    fn next(&mut self) -> Tok {
        let t = self.peek();
        self.pos += 1;
        t
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            match self.peek().into_value() {
                Tok::Id(_) | Tok::Not => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    match self.next().into_value() {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => match self.peek().into_value() {
                            Tok::Id(_) | Tok::Not => {}
                            t => {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.text()
                                ));
                            }
                        },
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.text()
                            ));
                        }
                    }
                }
                Tok::End => return Ok(reqs),
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.text()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut tok = self.next().into_value();
        let negated = tok == Tok::Not;
        if negated {
            tok = self.next().into_value();
        }
        let Tok::Id(key) = tok else {
            return Err(format!("found '{}', expected: identifier", tok.text()));
        };
        validate_key(&key)?;
        if matches!(self.peek().into_value(), Tok::End | Tok::Comma) {
            let op = if negated {
                Op::DoesNotExist
            } else {
                Op::Exists
            };
            return Ok(Requirement {
                key,
                op,
                values: vec![],
            });
        }
        if negated {
            // `!key op ...` is not a valid form.
            let t = self.peek();
            return Err(format!(
                "found '{}', expected: '=', '!=', '==', 'in', notin'",
                t.text()
            ));
        }
        // Equality forms are single-value `in` / `notin`.
        let (op, set_based) = match self.next() {
            Tok::In => (Op::In, true),
            Tok::NotIn => (Op::NotIn, true),
            Tok::Eq | Tok::DoubleEq => (Op::In, false),
            Tok::NotEq => (Op::NotIn, false),
            Tok::Gt => (Op::Gt, false),
            Tok::Lt => (Op::Lt, false),
            t => {
                return Err(format!(
                    "found '{}', expected: '=', '!=', '==', 'in', notin'",
                    t.text()
                ));
            }
        };
        let values = if set_based {
            self.values()?
        } else {
            self.exact_value()?
        };
        if matches!(op, Op::Gt | Op::Lt) && values.iter().any(|v| v.parse::<i64>().is_err()) {
            return Err("for 'Gt', 'Lt' operators, the value must be an integer".into());
        }
        for v in &values {
            validate_value(&key, v)?;
        }
        Ok(Requirement { key, op, values })
    }

    fn values(&mut self) -> Result<Vec<String>, String> {
        let t = self.next().into_value();
        if t != Tok::Open {
            return Err(format!("found '{}' expected: '('", t.text()));
        }
        let mut set: Vec<String> = Vec::new();
        let insert = |set: &mut Vec<String>, v: String| {
            if !set.contains(&v) {
                set.push(v);
            }
        };
        match self.peek().into_value() {
            Tok::Close => {
                self.next();
                return Ok(vec![String::new()]);
            }
            Tok::Id(_) | Tok::Comma => {}
            t => {
                return Err(format!(
                    "found '{}', expected: ',', ')' or identifier",
                    t.text()
                ));
            }
        }
        loop {
            match self.next().into_value() {
                Tok::Id(v) => {
                    insert(&mut set, v);
                    match self.peek().into_value() {
                        Tok::Comma => {
                            self.next();
                            if self.peek().into_value() == Tok::Close {
                                insert(&mut set, String::new());
                                self.next();
                                return Ok(set);
                            }
                            if self.peek().into_value() == Tok::Comma {
                                insert(&mut set, String::new());
                            }
                        }
                        Tok::Close => {
                            self.next();
                            return Ok(set);
                        }
                        t => {
                            return Err(format!("found '{}', expected: ',' or ')'", t.text()));
                        }
                    }
                }
                Tok::Comma => {
                    insert(&mut set, String::new());
                    if self.peek().into_value() == Tok::Close {
                        self.next();
                        return Ok(set);
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        t.text()
                    ));
                }
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        match self.peek().into_value() {
            Tok::End | Tok::Comma => Ok(vec![String::new()]),
            _ => match self.next().into_value() {
                Tok::Id(v) => Ok(vec![v]),
                t => Err(format!("found '{}', expected: identifier", t.text())),
            },
        }
    }
}

fn name_part_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn dns_subdomain_ok(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
                && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn validate_key(k: &str) -> Result<(), String> {
    let ok = match k.split_once('/') {
        None => name_part_ok(k),
        Some((prefix, name)) => {
            !name.contains('/') && dns_subdomain_ok(prefix) && name_part_ok(name)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid label key {k:?}: must be a qualified name (alphanumerics, '-', '_' or '.', \
             starting and ending with an alphanumeric, at most 63 characters) with an optional \
             DNS subdomain prefix and '/'"
        ))
    }
}

fn validate_value(k: &str, v: &str) -> Result<(), String> {
    if v.is_empty() || name_part_ok(v) {
        Ok(())
    } else {
        Err(format!(
            "invalid label value: {v:?}: at key: {k:?}: must be 63 characters or less and be \
             empty or consist of alphanumerics, '-', '_' or '.', starting and ending with an \
             alphanumeric"
        ))
    }
}

impl LabelSelector {
    /// Parse a selector; the empty string selects everything.
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let toks = lex(s)?;
        let mut reqs = Parser { toks, pos: 0 }.parse()?;
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Does the selector match this label (or annotation) set?
    pub fn matches(&self, set: &[(String, String)]) -> bool {
        self.reqs.iter().all(|r| {
            let got = set
                .iter()
                .find(|(k, _)| *k == r.key)
                .map(|(_, v)| v.as_str());
            match r.op {
                Op::In => got.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::NotIn => got.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                Op::Exists => got.is_some(),
                Op::DoesNotExist => got.is_none(),
                Op::Gt | Op::Lt => {
                    let Some(Ok(have)) = got.map(|v| v.parse::<i64>()) else {
                        return false;
                    };
                    let Some(Ok(want)) = r.values.first().map(|v| v.parse::<i64>()) else {
                        return false;
                    };
                    if r.op == Op::Gt {
                        have > want
                    } else {
                        have < want
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Origin;
    use serde_json::json;

    proptest::proptest! {
        /// The regex-free fast path agrees with the anchored regex it stands for.
        #[test]
        fn simple_patterns_agree_with_regexes(p in "[ab.]{1,4}", s in "[ab.\n]{0,5}") {
            let re = Regex::new(&format!("^(?:{p})$")).unwrap();
            proptest::prop_assert_eq!(Pattern::Simple(p.clone()).is_match(&s), re.is_match(&s));
        }
    }

    fn res(v: serde_json::Value) -> Resource {
        Resource::new(
            v.as_object().cloned().unwrap_or_default(),
            Origin::default(),
        )
    }

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selector_forms() {
        let l = set(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let ok = |s: &str| LabelSelector::parse(s).unwrap().matches(&l);
        assert!(ok(""));
        assert!(ok("app=web"));
        assert!(ok("app==web"));
        assert!(!ok("app!=web"));
        assert!(ok("missing!=web"));
        assert!(ok("app in (web, db)"));
        assert!(!ok("app notin (web,db)"));
        assert!(ok("missing notin (web)"));
        assert!(ok("app,tier"));
        assert!(ok("!missing"));
        assert!(!ok("!app"));
        assert!(ok("app=web, tier in (front)"));
        assert!(!ok("app=web,tier=back"));
        assert!(ok("n>4"));
        assert!(!ok("n<5"));
        assert!(ok("example.com/x notin (a)"));
    }

    #[test]
    fn label_selector_errors() {
        for bad in [
            "app=",      // fine actually: empty value
            "app in",    // missing (
            "app in (a", // missing )
            "=x",
            "a=b,",
            "a b",
            "a=b=c",
            "!a=b",
            "bad key=x",
            "a=-x",
            "a>x",
        ] {
            let r = LabelSelector::parse(bad);
            if bad == "app=" {
                assert!(r.is_ok());
            } else {
                assert!(r.is_err(), "{bad} should fail");
            }
        }
    }

    #[test]
    fn matcher_regex_and_ids() {
        let mut r = res(json!({"apiVersion":"apps/v1","kind":"Deployment",
            "metadata":{"name":"p-web","labels":{"app":"web"}}}));
        r.previous.push(ResId {
            gvk: Gvk::from_api_version("apps/v1", "Deployment"),
            namespace: String::new(),
            name: "web".into(),
        });
        let m = |s: Selector| s.compile().unwrap().matches(&r);
        assert!(m(Selector {
            name: "web".into(),
            ..Default::default()
        }));
        assert!(m(Selector {
            name: "p-web".into(),
            ..Default::default()
        }));
        assert!(!m(Selector {
            name: "we".into(),
            ..Default::default()
        }));
        assert!(m(Selector {
            kind: "Deploy.*".into(),
            group: "apps".into(),
            namespace: "default".into(),
            label_selector: "app=web".into(),
            ..Default::default()
        }));
        assert!(!m(Selector {
            kind: "Deployment".into(),
            version: "v2".into(),
            ..Default::default()
        }));
        assert!(
            Selector {
                name: "(".into(),
                ..Default::default()
            }
            .compile()
            .is_err()
        );
    }

    #[test]
    fn cluster_scoped_have_no_default_namespace() {
        let r = res(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}));
        let s = Selector {
            namespace: "default".into(),
            ..Default::default()
        };
        assert!(!s.compile().unwrap().matches(&r));
    }

    #[test]
    fn exact_id_selection() {
        let id = ResId {
            gvk: Gvk::from_api_version("v1", "ConfigMap"),
            namespace: String::new(),
            name: "cm".into(),
        };
        let s: Selector =
            serde_json::from_value(json!({"kind":"ConfigMap","namespace":"default"})).unwrap();
        assert!(s.selects_id(&id));
        let s: Selector = serde_json::from_value(json!({"name":"c.*"})).unwrap();
        assert!(!s.selects_id(&id));
        assert!(serde_json::from_value::<Selector>(json!({"nme":"x"})).is_err());
    }
}
