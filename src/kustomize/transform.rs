//! The built-in transformers driven by field specs: namespace, name prefix/suffix, labels,
//! annotations, images and replicas. Each works on the whole list of resources of one level.

use super::fieldspec::{self, Create, FieldSpec, Seg};
use super::kustomization::{Image, Replica};
use super::resource::{Resource, is_cluster_scoped_kind};
use super::{Error, Result};
use crate::manifest::Gvk;
use serde_json::Value;

fn obj_err(r: &Resource, path: &str, e: String) -> Error {
    Error::new(format!(
        "considering field '{path}' of object {}: {e}",
        r.cur_id()
    ))
}

/// Set `value` at every field `specs` name in `r`; with `unset_only`, only where the field is
/// missing, null or empty.
fn set_scalar_fields(
    r: &mut Resource,
    specs: &[FieldSpec],
    value: &str,
    create: Create,
    unset_only: bool,
) -> Result<()> {
    let gvk = r.gvk();
    for fs in specs.iter().filter(|fs| fs.matches_gvk(&gvk)) {
        let path = fs.path.clone();
        fieldspec::visit(&mut r.obj, fs, create, &mut |v| {
            match v {
                Value::Object(_) | Value::Array(_) => {
                    return Err("namespace field specs must target scalar nodes".to_string());
                }
                _ if unset_only && !is_unset(v) => {}
                _ => *v = Value::String(value.to_string()),
            }
            Ok(())
        })
        .map_err(|e| obj_err(r, &path, e))?;
    }
    Ok(())
}

/// A field that `unsetOnly` may fill: null or the empty string.
fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Which subjects of a (Cluster)RoleBinding the namespace transformer moves along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectMode {
    /// Subjects named `default` (kustomize's `defaultOnly`, also when unspecified).
    #[default]
    DefaultOnly,
    /// Every ServiceAccount subject (`allServiceAccounts`).
    AllServiceAccounts,
    /// None (`none`).
    NoSubjects,
}

impl SubjectMode {
    /// kustomize's `setRoleBindingSubjects` values; `""` is the default.
    pub fn parse(s: &str) -> Option<SubjectMode> {
        match s {
            "" | "defaultOnly" => Some(SubjectMode::DefaultOnly),
            "allServiceAccounts" => Some(SubjectMode::AllServiceAccounts),
            "none" => Some(SubjectMode::NoSubjects),
            _ => None,
        }
    }
}

/// How the namespace transformer sets namespaces (the NamespaceTransformer plugin's options;
/// the kustomization's `namespace:` field uses the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NamespaceMode {
    /// Only fill namespaces that are missing or empty.
    pub unset_only: bool,
    pub subjects: SubjectMode,
}

/// `namespace:`: sets metadata.namespace of namespaced objects and the namespace fields the
/// config names; RoleBinding subjects named `default` follow.
pub fn namespace(resources: &mut [Resource], ns: &str, specs: &[FieldSpec]) -> Result<()> {
    namespace_with(resources, ns, specs, NamespaceMode::default())
}

/// [`namespace`] with explicit options; fails when two objects end up with the same id.
pub fn namespace_with(
    resources: &mut [Resource],
    ns: &str,
    specs: &[FieldSpec],
    mode: NamespaceMode,
) -> Result<()> {
    for i in 0..resources.len() {
        resources[i].store_previous_id();
        set_namespace(&mut resources[i], ns, specs, mode)?;
        let id = resources[i].cur_id();
        let eff = super::effective_namespace(&id.gvk, &id.namespace);
        let clashes = resources
            .iter()
            .filter(|o| {
                let oid = o.cur_id();
                oid.gvk == id.gvk
                    && oid.name == id.name
                    && super::effective_namespace(&oid.gvk, &oid.namespace) == eff
            })
            .count();
        if clashes != 1 {
            return Err(Error::new(format!(
                "namespace transformation produces ID conflict: {clashes} objects are now {id}"
            )));
        }
    }
    Ok(())
}

/// The namespace filter on one object (no id bookkeeping).
pub fn set_namespace(
    r: &mut Resource,
    ns: &str,
    specs: &[FieldSpec],
    mode: NamespaceMode,
) -> Result<()> {
    let gvk = r.gvk();
    let api_version = gvk.api_version();
    if !is_cluster_scoped_kind(&gvk) && (!mode.unset_only || r.namespace().is_empty()) {
        r.set_namespace(ns);
    }
    let is_binding = is_binding_kind(&gvk.kind);
    let specs: Vec<FieldSpec> = specs
        .iter()
        .filter(|fs| fs.path != "metadata/namespace")
        .filter(|fs| api_version == "v1" || fs.path != "metadata/name")
        .filter(|fs| !(is_binding && is_binding_kind(&fs.kind) && fs.path == "subjects/namespace"))
        .cloned()
        .collect();
    if is_binding
        && mode.subjects != SubjectMode::NoSubjects
        && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects")
    {
        for s in subjects.iter_mut() {
            let Value::Object(m) = s else { continue };
            let selected = match mode.subjects {
                SubjectMode::DefaultOnly => {
                    m.get("name").and_then(|n| n.as_str()) == Some("default")
                }
                SubjectMode::AllServiceAccounts => {
                    m.get("kind").and_then(|n| n.as_str()) == Some("ServiceAccount")
                }
                SubjectMode::NoSubjects => false,
            };
            if selected && (!mode.unset_only || m.get("namespace").is_none_or(is_unset)) {
                m.insert("namespace".into(), Value::String(ns.to_string()));
            }
        }
    }
    set_scalar_fields(r, &specs, ns, Create::Scalar, mode.unset_only)
}

fn is_binding_kind(kind: &str) -> bool {
    kind == "RoleBinding" || kind == "ClusterRoleBinding"
}

/// `namePrefix:` / `nameSuffix:`.
pub fn prefix_suffix(
    resources: &mut [Resource],
    affix: &str,
    specs: &[FieldSpec],
    is_prefix: bool,
) -> Result<()> {
    for r in resources.iter_mut() {
        let org = r.org_id();
        let skip = org.gvk.kind == "CustomResourceDefinition"
            || (org.gvk.kind == "APIService" && org.gvk.group == "apiregistration.k8s.io")
            || org.gvk.kind == "Namespace";
        if skip {
            continue;
        }
        for fs in specs {
            if !fs.matches_gvk(&org.gvk) {
                continue;
            }
            if fs.path == "metadata/name" && !affix.is_empty() {
                if is_prefix {
                    r.prefixes.push(affix.to_string());
                } else {
                    r.suffixes.push(affix.to_string());
                }
                r.store_previous_id();
            }
            if !fs.matches_gvk(&r.gvk()) {
                continue;
            }
            let path = fs.path.clone();
            fieldspec::visit(&mut r.obj, fs, Create::Never, &mut |v| {
                let cur = match &*v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    Value::Object(_) | Value::Array(_) => {
                        return Err("expected a scalar node".to_string());
                    }
                    other => other.to_string(),
                };
                *v = Value::String(if is_prefix {
                    format!("{affix}{cur}")
                } else {
                    format!("{cur}{affix}")
                });
                Ok(())
            })
            .map_err(|e| obj_err(r, &path, e))?;
        }
    }
    Ok(())
}

/// Labels or annotations: add every pair to the mappings the specs name. A key added fresh
/// to several fields of one object shares one value there (see [`super::resource::Shared`]);
/// a key already present is overwritten in place, reaching the fields it shares a value with.
pub fn add_map_entries(
    resources: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        for (k, val) in pairs {
            let value = Value::String(val.clone());
            let mut fresh: Vec<Vec<Seg>> = Vec::new();
            let mut existing: Vec<Vec<Seg>> = Vec::new();
            for fs in specs.iter().filter(|fs| fs.matches_gvk(&gvk)) {
                let path = fs.path.clone();
                fieldspec::visit_with_path(&mut r.obj, fs, Create::Map, &mut |v, at| {
                    if v.is_null() {
                        *v = Value::Object(Default::default());
                    }
                    match v {
                        Value::Object(m) => {
                            let mut p = at.to_vec();
                            p.push(Seg::Key(k.clone()));
                            if m.insert(k.clone(), value.clone()).is_some() {
                                existing.push(p);
                            } else {
                                fresh.push(p);
                            }
                            Ok(())
                        }
                        _ => Err("expected a mapping node".to_string()),
                    }
                })
                .map_err(|e| obj_err(r, &path, e))?;
            }
            for p in &existing {
                r.propagate_shared(p, &value);
            }
            r.add_shared(fresh, value);
        }
    }
    Ok(())
}

/// Which image references an `images:` entry applies to: kustomize compiles the name as a
/// regular expression followed by an optional tag and digest, so we do too (once per entry).
pub struct ImageRule<'a> {
    img: &'a Image,
    matcher: NameMatcher,
}

enum NameMatcher {
    /// A name whose only special character is `.` (any one character): matched directly.
    Simple(Vec<char>),
    Regex(Option<regex::Regex>),
}

/// The characters of a tag or digest in kustomize's image pattern.
fn tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '{' | '}' | '-')
}

/// Is `rest` an optional `:tag` then an optional `@sha256:digest`, and nothing else?
fn tag_and_digest(rest: &str) -> bool {
    let mut rest = rest;
    if let Some(r) = rest.strip_prefix(':') {
        let end = r.find(|c: char| !tag_char(c)).unwrap_or(r.len());
        rest = &r[end..];
    }
    if let Some(r) = rest.strip_prefix("@sha256:") {
        return r.chars().all(tag_char);
    }
    rest.is_empty()
}

impl<'a> ImageRule<'a> {
    pub fn new(img: &'a Image) -> ImageRule<'a> {
        let matcher = if img.name.chars().any(|c| "\\+*?()|[]{}^$".contains(c)) {
            let pattern = format!(
                "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
                img.name
            );
            NameMatcher::Regex(regex::Regex::new(&pattern).ok())
        } else {
            NameMatcher::Simple(img.name.chars().collect())
        };
        ImageRule { img, matcher }
    }

    fn matches(&self, value: &str) -> bool {
        match &self.matcher {
            NameMatcher::Regex(re) => re.as_ref().is_some_and(|re| re.is_match(value)),
            NameMatcher::Simple(name) => {
                let mut chars = value.char_indices();
                for want in name {
                    match chars.next() {
                        Some((_, c)) if *want == c || (*want == '.' && c != '\n') => {}
                        _ => return false,
                    }
                }
                let at = chars.next().map_or(value.len(), |(i, _)| i);
                tag_and_digest(&value[at..])
            }
        }
    }
}

/// Split an image reference into name, tag and digest.
pub fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (at, colon) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (Some(a), c) if c.is_none() || a < c.unwrap_or(usize::MAX) => {
            let a = a + slash;
            (
                image[..a].to_string(),
                String::new(),
                image[a + 1..].to_string(),
            )
        }
        (Some(a), Some(c)) => {
            let (a, c) = (a + slash, c + slash);
            (
                image[..c].to_string(),
                image[c + 1..a].to_string(),
                image[a + 1..].to_string(),
            )
        }
        (None, Some(c)) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
        (Some(_), None) => unreachable!("handled above"),
    }
}

fn update_image(value: &str, rule: &ImageRule) -> Option<String> {
    if !rule.matches(value) {
        return None;
    }
    let img = rule.img;
    let (mut name, mut tag, mut digest) = split_image(value);
    if !img.new_name.is_empty() {
        name = img.new_name.clone();
    }
    if !img.new_tag.is_empty() && !img.digest.is_empty() {
        tag = img.new_tag.clone();
        digest = img.digest.clone();
    } else if !img.new_tag.is_empty() {
        tag = img.new_tag.clone();
        digest.clear();
    } else if !img.digest.is_empty() {
        tag.clear();
        digest = img.digest.clone();
    } else if !img.tag_suffix.is_empty() {
        tag.push_str(&img.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    Some(name)
}

fn walk_containers(v: &mut Value, img: &ImageRule) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                walk_containers(child, img);
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(items) = child
                {
                    for it in items.iter_mut() {
                        if let Some(Value::String(s)) = it.get_mut("image")
                            && let Some(n) = update_image(s, img)
                        {
                            *s = n;
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            for it in items.iter_mut() {
                walk_containers(it, img);
            }
        }
        _ => {}
    }
}

/// `images:`: new names, tags and digests for matching container images.
pub fn images(resources: &mut [Resource], imgs: &[Image], specs: &[FieldSpec]) -> Result<()> {
    for img in imgs {
        let img = &ImageRule::new(img);
        for r in resources.iter_mut() {
            if r.kind() == "CustomResourceDefinition" {
                continue;
            }
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            walk_containers(&mut root, img);
            if let Value::Object(m) = root {
                r.obj = m;
            }
            let gvk = r.gvk();
            for fs in specs.iter().filter(|fs| fs.matches_gvk(&gvk)) {
                let path = fs.path.clone();
                fieldspec::visit(&mut r.obj, fs, Create::Never, &mut |v| match v {
                    Value::String(s) => {
                        if let Some(n) = update_image(s, img) {
                            *s = n;
                        }
                        Ok(())
                    }
                    Value::Null => Ok(()),
                    _ => Err("wrong node kind: expected ScalarNode".to_string()),
                })
                .map_err(|e| obj_err(r, &path, e))?;
            }
        }
    }
    Ok(())
}

/// `replicas:`: set the count on every object of a replica-bearing kind with that name.
pub fn replicas(resources: &mut [Resource], reps: &[Replica], specs: &[FieldSpec]) -> Result<()> {
    for rep in reps {
        let mut found = false;
        for fs in specs {
            let sel = Gvk {
                group: fs.group.to_string(),
                version: fs.version.to_string(),
                kind: fs.kind.to_string(),
            };
            for r in resources.iter_mut() {
                let hit = r
                    .all_ids()
                    .iter()
                    .any(|id| id.name == rep.name && super::gvk_selected(&id.gvk, &sel));
                if !hit {
                    continue;
                }
                found = true;
                if !fs.matches_gvk(&r.gvk()) {
                    continue;
                }
                let path = fs.path.clone();
                fieldspec::visit(&mut r.obj, fs, Create::Scalar, &mut |v| {
                    *v = Value::from(rep.count);
                    Ok(())
                })
                .map_err(|e| obj_err(r, &path, e))?;
            }
        }
        if !found {
            let gvks: Vec<String> = specs.iter().map(|f| f.kind.to_string()).collect();
            return Err(Error::new(format!(
                "resource with name {} does not match a config with the following GVK [{}]",
                rep.name,
                gvks.join(" ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The regex-free image matcher agrees with kustomize's regular expression.
        #[test]
        fn simple_image_names_agree_with_the_regex(
            name in "[a-c./]{1,5}",
            value in "[a-c./:@]{0,6}(@sha256:[a-f0-9]{0,3})?",
        ) {
            let img = Image { name: name.clone(), ..Default::default() };
            let re = regex::Regex::new(&format!(
                "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
            )).unwrap();
            proptest::prop_assert_eq!(ImageRule::new(&img).matches(&value), re.is_match(&value));
        }
    }

    #[test]
    fn splits_images() {
        let s = |i: &str| split_image(i);
        assert_eq!(s("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(s("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(
            s("reg:5000/app:v1@sha256:abc"),
            ("reg:5000/app".into(), "v1".into(), "sha256:abc".into())
        );
        assert_eq!(
            s("app@sha256:abc"),
            ("app".into(), "".into(), "sha256:abc".into())
        );
    }

    #[test]
    fn updates_images() {
        let img = Image {
            name: "nginx".into(),
            new_tag: "1.25".into(),
            ..Default::default()
        };
        assert_eq!(
            update_image("nginx:1.0", &ImageRule::new(&img)).as_deref(),
            Some("nginx:1.25")
        );
        assert_eq!(update_image("nginxx:1.0", &ImageRule::new(&img)), None);
        let dig = Image {
            name: "nginx".into(),
            new_name: "reg/nginx".into(),
            digest: "sha256:ff".into(),
            ..Default::default()
        };
        assert_eq!(
            update_image("nginx:1.0", &ImageRule::new(&dig)).as_deref(),
            Some("reg/nginx@sha256:ff")
        );
    }
}
