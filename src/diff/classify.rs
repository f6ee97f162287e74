//! What kind of change an object's change is. Exact, because auto-merge acts on it: anything
//! not recognised is `other`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::normalize::key_of;
use super::{ChangeClass, FieldChange, ImageChange, ObjectKey, PathSeg, Status};
use crate::manifest::{Gvk, Object};

/// The class every change of an object of this kind has, whatever changed.
fn by_kind(gvk: &Gvk) -> Option<ChangeClass> {
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("", "Namespace") => Some(ChangeClass::Namespace),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(ChangeClass::Crd),
        (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => Some(ChangeClass::Rbac),
        _ => None,
    }
}

/// Classes of an added object.
pub fn classify_added(gvk: &Gvk) -> BTreeSet<ChangeClass> {
    BTreeSet::from([by_kind(gvk).unwrap_or(ChangeClass::NewResource)])
}

/// Classes of a removed object.
pub fn classify_removed(gvk: &Gvk) -> BTreeSet<ChangeClass> {
    BTreeSet::from([by_kind(gvk).unwrap_or(ChangeClass::Deletion)])
}

/// Classes of a changed object from its changed fields, and its image changes.
pub fn classify_changed(
    key: &ObjectKey,
    gvk: &Gvk,
    base_gvk: &Gvk,
    fields: &[FieldChange],
    base: &Object,
    head: &Object,
) -> (BTreeSet<ChangeClass>, Vec<ImageChange>) {
    let mut classes = BTreeSet::new();
    let mut images = Vec::new();
    let kind_class = by_kind(gvk).or_else(|| by_kind(base_gvk));
    if let Some(c) = kind_class {
        classes.insert(c);
    }
    for f in fields {
        let path = &f.path.0;
        let class = if kind_class.is_some() {
            continue;
        } else if let Some(container) = image_field(path).filter(|_| f.status == Status::Changed) {
            let old = lookup(base, path).and_then(Value::as_str);
            let new = lookup(head, path).and_then(Value::as_str);
            match (old, new) {
                (Some(old), Some(new)) if repository(old) == repository(new) => {
                    images.push(ImageChange {
                        object: key.clone(),
                        container: container.to_string(),
                        from: old.to_string(),
                        to: new.to_string(),
                    });
                    ChangeClass::ImageBump
                }
                _ => ChangeClass::Other,
            }
        } else if is_scale(gvk, path) {
            ChangeClass::Scale
        } else if is_config(gvk, path) {
            ChangeClass::Config
        } else {
            ChangeClass::Other
        };
        classes.insert(class);
    }
    images.sort();
    (classes, images)
}

/// The container name when the path is a container's `image` in a pod spec
/// (`…spec.containers[name=web].image`).
fn image_field(path: &[PathSeg]) -> Option<&str> {
    let n = path.len();
    if n < 4 {
        return None;
    }
    let is = |i: usize, s: &str| matches!(&path[i], PathSeg::Field(f) if f == s);
    let list = matches!(&path[n - 3], PathSeg::Field(f) if ["containers", "initContainers", "ephemeralContainers"].contains(&f.as_str()));
    if !(is(n - 1, "image") && list && is(n - 4, "spec")) {
        return None;
    }
    match &path[n - 2] {
        PathSeg::Keyed(keys) => keys
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.as_str()),
        _ => None,
    }
}

/// The repository of an image reference: without `@digest` and without a `:tag` after the last
/// `/` (so a registry port `host:5000/app` stays).
pub fn repository(image: &str) -> &str {
    let no_digest = image.split_once('@').map_or(image, |(r, _)| r);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[last_slash..].rfind(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    }
}

fn is_scale(gvk: &Gvk, path: &[PathSeg]) -> bool {
    let field =
        |s: &str| matches!(path, [PathSeg::Field(a), PathSeg::Field(b)] if a == "spec" && b == s);
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet") | ("", "ReplicationController") => {
            field("replicas")
        }
        ("autoscaling", "HorizontalPodAutoscaler") => field("minReplicas") || field("maxReplicas"),
        _ => false,
    }
}

fn is_config(gvk: &Gvk, path: &[PathSeg]) -> bool {
    let top = match path.first() {
        Some(PathSeg::Field(f)) => f.as_str(),
        _ => return false,
    };
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("", "ConfigMap") => top == "data" || top == "binaryData",
        ("", "Secret") => top == "data" || top == "stringData",
        _ => false,
    }
}

/// The value at a field path (keyed items found by their key values).
pub fn lookup<'a>(obj: &'a Object, path: &[PathSeg]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let PathSeg::Field(f) = first else {
        return None;
    };
    let mut cur = obj.get(f)?;
    for seg in rest {
        cur = match seg {
            PathSeg::Field(f) => cur.get(f)?,
            PathSeg::Index(i) => cur.get(*i)?,
            PathSeg::Keyed(keys) => {
                let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
                cur.as_array()?
                    .iter()
                    .find(|item| key_of(item, &names) == *keys)?
            }
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_keep_registry_ports() {
        assert_eq!(repository("nginx"), "nginx");
        assert_eq!(repository("nginx:1.27"), "nginx");
        assert_eq!(repository("ghcr.io/acme/api:1.2.3"), "ghcr.io/acme/api");
        assert_eq!(repository("registry:5000/app"), "registry:5000/app");
        assert_eq!(repository("registry:5000/app:2.0"), "registry:5000/app");
        assert_eq!(repository("app@sha256:abc"), "app");
        assert_eq!(repository("reg:443/app:1@sha256:abc"), "reg:443/app");
    }
}
