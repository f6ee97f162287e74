//! The object-level diff of two renders: matching by identity, pairing re-generated objects,
//! folding the reference updates they cause, field changes, classes and the unified text.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::classify::{classify_added, classify_changed, classify_removed};
use super::normalize::{
    ListMatch, is_secret, key_of, list_match, normalize, redact_secret, schema_of,
};
use super::{
    Cascade, ChangeClass, FieldChange, FieldPath, ObjectDiff, ObjectKey, PathSeg, SecretKeys,
    SourcePlace, Status, TargetDiff,
};
use crate::kustomize::openapi::SchemaRef;
use crate::manifest::{Gvk, Object, Origin, get_str, gvk_of, id_of};

/// One side's object and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub obj: &'a Object,
    pub origin: Option<&'a Origin>,
}

impl<'a> Side<'a> {
    /// Objects without origins (hash-suffixed names are then paired on their names alone).
    pub fn all(objects: &'a [Object]) -> Vec<Side<'a>> {
        objects
            .iter()
            .map(|obj| Side { obj, origin: None })
            .collect()
    }
}

/// The identity an object is matched by.
pub fn key_of_object(obj: &Object) -> ObjectKey {
    let id = id_of(obj);
    ObjectKey {
        group: id.gvk.group,
        kind: id.gvk.kind,
        namespace: id.namespace,
        name: id.name,
    }
}

/// The canonical YAML Warden diffs: normalised (server-owned fields dropped, keyed lists in key
/// order), keys in kubectl's order, Secret values replaced by placeholders.
pub fn canonical_yaml(obj: &Object) -> String {
    let gvk = gvk_of(obj);
    let mut n = normalize(obj, &gvk);
    if is_secret(&gvk) {
        redact_secret(&mut n, None);
    }
    crate::yaml::object_to_yaml(&n)
}

/// One object of one side, prepared for comparison.
struct Prepared<'a> {
    side: Side<'a>,
    key: ObjectKey,
    gvk: Gvk,
}

impl Prepared<'_> {
    /// The normalised object (made only for objects that differ: most do not).
    fn norm(&self) -> Object {
        normalize(self.side.obj, &self.gvk)
    }
}

fn prepare<'a>(side: Side<'a>) -> Prepared<'a> {
    let gvk = gvk_of(side.obj);
    Prepared {
        key: key_of_object(side.obj),
        gvk,
        side,
    }
}

/// The difference between two renders of one target (objects in render order).
pub fn diff(base: &[Side<'_>], head: &[Side<'_>]) -> TargetDiff {
    let base: Vec<Prepared> = base.iter().copied().map(prepare).collect();
    let head: Vec<Prepared> = head.iter().copied().map(prepare).collect();

    // Match by identity; duplicates pair in order.
    let mut by_key: BTreeMap<&ObjectKey, Vec<usize>> = BTreeMap::new();
    for (i, p) in head.iter().enumerate() {
        by_key.entry(&p.key).or_default().push(i);
    }
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut removed: Vec<usize> = Vec::new();
    let mut taken = vec![false; head.len()];
    for (i, p) in base.iter().enumerate() {
        match by_key
            .get_mut(&p.key)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
        {
            Some(j) => {
                taken[j] = true;
                pairs.push((i, j));
            }
            None => removed.push(i),
        }
    }
    let mut added: Vec<usize> = (0..head.len()).filter(|j| !taken[*j]).collect();

    // Re-generated objects: a removed and an added one with the same name before the hash.
    let mut renamed: Vec<(usize, usize)> = Vec::new();
    removed.retain(|&i| {
        let b = &base[i];
        let Some(stem) = generated_stem(&b.key.name, b.side.origin) else {
            return true;
        };
        let found = added.iter().position(|&j| {
            let h = &head[j];
            h.key.group == b.key.group
                && h.key.kind == b.key.kind
                && h.key.namespace == b.key.namespace
                && generated_stem(&h.key.name, h.side.origin) == Some(stem)
        });
        match found {
            Some(pos) => {
                renamed.push((i, added.remove(pos)));
                false
            }
            None => true,
        }
    });
    let names: HashMap<&str, &str> = renamed
        .iter()
        .map(|&(i, j)| (base[i].key.name.as_str(), head[j].key.name.as_str()))
        .collect();

    let mut out = TargetDiff::default();
    let mut cascades: BTreeMap<usize, Vec<ObjectKey>> = BTreeMap::new();
    for &(i, j) in &renamed {
        let (b, h) = (&base[i], &head[j]);
        let mut b_norm = b.norm();
        rename_refs(&mut b_norm, &names);
        let mut d = changed(b, h, b_norm, h.norm());
        d.renamed_from = Some(b.key.name.clone());
        d.classes.insert(ChangeClass::Config);
        out.objects.push(d);
        out.counts.changed += 1;
    }
    for &(i, j) in &pairs {
        let (b, h) = (&base[i], &head[j]);
        if b.side.obj == h.side.obj {
            continue;
        }
        let (mut b_norm, h_norm) = (b.norm(), h.norm());
        if b_norm == h_norm {
            continue;
        }
        out.counts.changed += 1;
        let refs = if names.is_empty() {
            Vec::new()
        } else {
            rename_refs(&mut b_norm, &names)
        };
        for old in &refs {
            if let Some(pos) = renamed
                .iter()
                .position(|&(ri, _)| base[ri].key.name == *old)
            {
                cascades.entry(pos).or_default().push(h.key.clone());
            }
        }
        if !refs.is_empty() && b_norm == h_norm {
            continue;
        }
        out.objects.push(changed(b, h, b_norm, h_norm));
    }
    for i in removed {
        let b = &base[i];
        out.objects.push(one_sided(b, Status::Removed));
        out.counts.removed += 1;
    }
    for j in added {
        let h = &head[j];
        out.objects.push(one_sided(h, Status::Added));
        out.counts.added += 1;
    }
    for (pos, mut dependents) in cascades {
        let (i, j) = renamed[pos];
        dependents.sort();
        dependents.dedup();
        out.cascades.push(Cascade {
            generated: head[j].key.clone(),
            from_name: base[i].key.name.clone(),
            dependents,
        });
    }
    out.objects
        .sort_by(|a, b| a.key.cmp(&b.key).then(a.status.cmp(&b.status)));
    out.cascades.sort_by(|a, b| a.generated.cmp(&b.generated));
    out.classes = out
        .objects
        .iter()
        .flat_map(|o| o.classes.iter().copied())
        .collect();
    if !out.cascades.is_empty() {
        out.classes.insert(ChangeClass::Config);
    }
    out
}

/// The name without Kustomize's hash suffix, when the object looks generated: a `-` and ten
/// characters of the hash alphabet, on an object a generator made (or of unknown origin).
fn generated_stem<'n>(name: &'n str, origin: Option<&Origin>) -> Option<&'n str> {
    if origin.is_some_and(|o| o.generator.is_none()) {
        return None;
    }
    let (stem, hash) = name.rsplit_once('-')?;
    let alphabet = |c: u8| b"2456789bcdfghkmt".contains(&c);
    (hash.len() == 10 && hash.bytes().all(alphabet) && !stem.is_empty()).then_some(stem)
}

/// Replace every string equal to an old generated name by its new name; the old names found.
fn rename_refs(obj: &mut Object, names: &HashMap<&str, &str>) -> Vec<String> {
    fn walk(v: &mut Value, names: &HashMap<&str, &str>, found: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                if let Some(new) = names.get(s.as_str()) {
                    found.insert(std::mem::replace(s, new.to_string()));
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, names, found)),
            Value::Object(map) => map.values_mut().for_each(|c| walk(c, names, found)),
            _ => {}
        }
    }
    let mut found = BTreeSet::new();
    for v in obj.values_mut() {
        walk(v, names, &mut found);
    }
    found.into_iter().collect()
}

fn source_of(p: &Prepared) -> Option<SourcePlace> {
    p.side
        .origin
        .filter(|o| !o.file.is_empty())
        .map(|o| SourcePlace {
            file: o.file.clone(),
            line: o.line,
            generator: o.generator.clone(),
        })
}

fn api_version(obj: &Object) -> String {
    get_str(obj, &["apiVersion"]).unwrap_or("").to_string()
}

/// An added or removed object.
fn one_sided(p: &Prepared, status: Status) -> ObjectDiff {
    let secret = is_secret(&p.gvk);
    let mut norm = p.norm();
    let mut secret_keys = None;
    if secret {
        let keys = data_keys(&norm);
        secret_keys = Some(match status {
            Status::Added => SecretKeys {
                added: keys,
                ..SecretKeys::default()
            },
            _ => SecretKeys {
                removed: keys,
                ..SecretKeys::default()
            },
        });
        redact_secret(&mut norm, None);
    }
    let text = crate::yaml::object_to_yaml(&norm);
    let unified = match status {
        Status::Added => unified("", &text),
        _ => unified(&text, ""),
    };
    ObjectDiff {
        key: p.key.clone(),
        api_version: api_version(p.side.obj),
        status,
        renamed_from: None,
        classes: match status {
            Status::Added => classify_added(&p.gvk),
            _ => classify_removed(&p.gvk),
        },
        fields: Vec::new(),
        images: Vec::new(),
        secret_keys,
        unified,
        source: source_of(p),
    }
}

/// A changed object from the normalised sides (the base's with references renamed).
fn changed(b: &Prepared, h: &Prepared, b_norm: Object, h_norm: Object) -> ObjectDiff {
    let mut fields = Vec::new();
    let schema = schema_of(&h.gvk);
    diff_maps(&b_norm, &h_norm, schema, &mut Vec::new(), &mut fields);
    let (classes, images) = classify_changed(&h.key, &h.gvk, &b.gvk, &fields, &b_norm, &h_norm);
    let secret = is_secret(&h.gvk);
    let (old_text, new_text, secret_keys) = if secret {
        let keys = secret_key_changes(&b_norm, &h_norm);
        let mut bo = b_norm.clone();
        let mut ho = h_norm.clone();
        redact_secret(&mut ho, Some(&b_norm));
        redact_secret(&mut bo, None);
        (
            crate::yaml::object_to_yaml(&bo),
            crate::yaml::object_to_yaml(&ho),
            Some(keys),
        )
    } else {
        (
            crate::yaml::object_to_yaml(&b_norm),
            crate::yaml::object_to_yaml(&h_norm),
            None,
        )
    };
    ObjectDiff {
        key: h.key.clone(),
        api_version: api_version(h.side.obj),
        status: Status::Changed,
        renamed_from: None,
        classes,
        fields,
        images,
        secret_keys,
        unified: unified(&old_text, &new_text),
        source: source_of(h).or_else(|| source_of(b)),
    }
}

/// The keys of a Secret's `data` and `stringData`, sorted and deduplicated.
fn data_keys(obj: &Object) -> Vec<String> {
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for f in ["data", "stringData"] {
        if let Some(Value::Object(m)) = obj.get(f) {
            keys.extend(m.keys().cloned());
        }
    }
    keys.into_iter().collect()
}

fn secret_key_changes(base: &Object, head: &Object) -> SecretKeys {
    let value = |o: &Object, k: &str| -> Option<Value> {
        ["data", "stringData"]
            .iter()
            .find_map(|f| o.get(*f).and_then(|m| m.get(k)).cloned())
    };
    let (b, h) = (data_keys(base), data_keys(head));
    let mut out = SecretKeys::default();
    for k in &h {
        if !b.contains(k) {
            out.added.push(k.clone());
        } else if value(base, k) != value(head, k) {
            out.changed.push(k.clone());
        }
    }
    out.removed = b.into_iter().filter(|k| !h.contains(k)).collect();
    out
}

/// Unified diff lines with `@@` hunk headers and three lines of context, no file headers.
fn unified(old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = diff.unified_diff().context_radius(3).to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Field changes between two mappings, at the leaves where they differ.
fn diff_maps(
    a: &Object,
    b: &Object,
    schema: Option<SchemaRef<'_>>,
    path: &mut Vec<PathSeg>,
    out: &mut Vec<FieldChange>,
) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        path.push(PathSeg::Field(k.clone()));
        let sub = schema.and_then(|s| s.field(k));
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => diff_values(k, x, y, sub, path, out),
            (None, Some(_)) => push(out, path, Status::Added),
            (Some(_), None) => push(out, path, Status::Removed),
            (None, None) => {}
        }
        path.pop();
    }
}

fn push(out: &mut Vec<FieldChange>, path: &[PathSeg], status: Status) {
    out.push(FieldChange {
        path: FieldPath(path.to_vec()),
        status,
    });
}

fn diff_values(
    field: &str,
    a: &Value,
    b: &Value,
    schema: Option<SchemaRef<'_>>,
    path: &mut Vec<PathSeg>,
    out: &mut Vec<FieldChange>,
) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => diff_maps(x, y, schema, path, out),
        (Value::Array(x), Value::Array(y)) => diff_lists(field, x, y, schema, path, out),
        _ => push(out, path, Status::Changed),
    }
}

fn diff_lists(
    field: &str,
    a: &[Value],
    b: &[Value],
    schema: Option<SchemaRef<'_>>,
    path: &mut Vec<PathSeg>,
    out: &mut Vec<FieldChange>,
) {
    let items = schema.and_then(|s| s.items());
    let ma = list_match(field, schema, a);
    let mb = list_match(field, schema, b);
    let keyed = match (&ma, &mb) {
        (ListMatch::Keys { keys: ka, ordered }, ListMatch::Keys { keys: kb, .. }) if ka == kb => {
            Some((ka.clone(), *ordered))
        }
        // One side empty: every item of the other is added or removed.
        (ListMatch::Keys { keys, ordered }, _) if b.is_empty() => Some((keys.clone(), *ordered)),
        (_, ListMatch::Keys { keys, ordered }) if a.is_empty() => Some((keys.clone(), *ordered)),
        _ => None,
    };
    let Some((keys, ordered)) = keyed else {
        let n = a.len().max(b.len());
        for i in 0..n {
            path.push(PathSeg::Index(i));
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) => diff_values(field, x, y, items, path, out),
                (None, Some(_)) => push(out, path, Status::Added),
                (Some(_), None) => push(out, path, Status::Removed),
                (None, None) => {}
            }
            path.pop();
        }
        return;
    };
    let index = |list: &[Value]| -> BTreeMap<Vec<(String, String)>, usize> {
        list.iter()
            .enumerate()
            .map(|(i, v)| (key_of(v, &keys), i))
            .collect()
    };
    let (ia, ib) = (index(a), index(b));
    if ordered {
        let order = |list: &[Value], other: &BTreeMap<Vec<(String, String)>, usize>| {
            list.iter()
                .map(|v| key_of(v, &keys))
                .filter(|k| other.contains_key(k))
                .collect::<Vec<_>>()
        };
        if order(a, &ib) != order(b, &ia) {
            push(out, path, Status::Changed);
        }
    }
    let all: BTreeSet<&Vec<(String, String)>> = ia.keys().chain(ib.keys()).collect();
    for k in all {
        path.push(PathSeg::Keyed(k.clone()));
        match (ia.get(k), ib.get(k)) {
            (Some(&x), Some(&y)) => {
                if let (Some(x), Some(y)) = (a.get(x), b.get(y)) {
                    diff_values(field, x, y, items, path, out);
                }
            }
            (None, Some(_)) => push(out, path, Status::Added),
            (Some(_), None) => push(out, path, Status::Removed),
            (None, None) => {}
        }
        path.pop();
    }
}
