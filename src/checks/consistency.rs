//! Consistency of one render (all objects of one target): selectors that select nothing,
//! duplicates, missing namespaces, dangling references, HPA/replica fights, Ingress
//! conflicts and missing PodDisruptionBudgets.
//!
//! Everything is indexed by hash maps, so a render of n objects costs O(n) lookups (PDBs are
//! scanned per namespace). An object without `metadata.namespace` is taken to share the
//! namespace of whatever it is compared with (the deploy tool will usually put both in the
//! same namespace); `namespace-missing` reports it separately.

use std::collections::HashMap;

use serde_json::Value;

use super::workload::{PodTemplate, at, group_of, pod_template};
use super::{ExternalRef, Finding, Level, Rule, Severity, Subject};
use crate::kustomize::resource::precomputed_scope;
use crate::manifest::{Object, Seg};

/// The rules this module emits.
pub const RULES: &[Rule] = &[
    Rule {
        id: "selector-mismatch",
        default: Level::Error,
        summary: "A workload's selector does not select its own pod template",
        help: "The API server rejects a Deployment, StatefulSet, DaemonSet, ReplicaSet or Job \
               whose `spec.selector` does not match `spec.template.metadata.labels`, so the \
               sync fails. Make every `matchLabels` entry (and `matchExpressions`) agree with the \
               template labels.",
    },
    Rule {
        id: "service-selector-orphan",
        default: Level::Warning,
        summary: "A Service's selector matches no pod template in the render",
        help: "A Service whose selector matches no pods has no endpoints: traffic to it fails. \
               Fix the selector or the workload's template labels. Services without a selector \
               and ExternalName Services are not checked; suppress the rule on a Service that \
               selects pods managed elsewhere.",
    },
    Rule {
        id: "duplicate-resource",
        default: Level::Error,
        summary: "The same group/kind/namespace/name appears twice in one render",
        help: "Two objects with the same identity overwrite each other when applied (or the \
               GitOps tool refuses the sync); which one wins depends on ordering. Remove one, or \
               rename it.",
    },
    Rule {
        id: "namespace-missing",
        default: Level::Warning,
        summary: "A namespaced object has no metadata.namespace",
        help: "Without a namespace the object lands in whatever namespace the deploy tool or \
               kubectl context defaults to. Set it, for example with kustomize's `namespace:` \
               field. Scope comes from the built-in kinds and from CRDs in the render; objects \
               of unknown kinds are not reported.",
    },
    Rule {
        id: "ref-missing",
        default: Level::Warning,
        summary: "A pod references a ConfigMap, Secret, ServiceAccount or PVC not in the render",
        help: "Pods referencing a missing ConfigMap, Secret, ServiceAccount or \
               PersistentVolumeClaim do not start. Add the object, fix the name, mark the \
               reference `optional: true`, or declare it under `external:` in \
               `.github/warden.yml` if it is created outside this repo. Secrets made by \
               SealedSecret, ExternalSecret, cert-manager Certificate, Vault and 1Password \
               operators in the render count as present.",
    },
    Rule {
        id: "hpa-replicas-conflict",
        default: Level::Warning,
        summary: "A workload scaled by an HPA also sets spec.replicas",
        help: "Every sync resets the replica count the HorizontalPodAutoscaler chose, so the \
               GitOps tool and the HPA fight (and each deploy briefly scales the workload). Remove \
               `spec.replicas` from the manifest and let the HPA's `minReplicas` apply.",
    },
    Rule {
        id: "ingress-host-conflict",
        default: Level::Error,
        summary: "Two Ingresses claim the same host and path",
        help: "When two Ingresses of the same class claim the same host and path, the \
               controller picks one (or rejects the second), so traffic goes to the wrong \
               backend. Merge them or change one host or path.",
    },
    Rule {
        id: "pdb-missing",
        default: Level::Info,
        summary: "A multi-replica workload has no PodDisruptionBudget",
        help: "Without a PodDisruptionBudget, node drains and cluster upgrades may evict all \
               replicas at once. Add a PodDisruptionBudget (for example `maxUnavailable: 1`) \
               whose selector matches the pod template labels.",
    },
];

fn sev(rule: &str) -> Severity {
    super::default_severity(RULES, rule)
}

fn keys(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|k| Seg::Key((*k).to_string())).collect()
}

/// Namespaces compare equal when either is unset.
fn same_ns(a: &str, b: &str) -> bool {
    a.is_empty() || b.is_empty() || a == b
}

/// What every rule needs to know about an object, borrowed from it.
struct Info<'a> {
    api: &'a str,
    group: &'a str,
    kind: &'a str,
    ns: &'a str,
    name: &'a str,
}

fn info(obj: &Object) -> Info<'_> {
    let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("");
    let meta = obj.get("metadata").and_then(Value::as_object);
    let m = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let api = s("apiVersion");
    Info {
        api,
        group: group_of(api),
        kind: s("kind"),
        ns: m("namespace"),
        name: m("name"),
    }
}

/// Why a label selector does not select a label set: the first failing part.
#[derive(Debug, PartialEq, Eq)]
enum Miss<'a> {
    Label(&'a str),
    Expr(usize),
}

/// Does a `LabelSelector` (`matchLabels`/`matchExpressions`) select these labels?
/// An empty selector selects everything; unknown operators are left to schema validation.
fn selector_miss<'a>(sel: &'a Object, labels: Option<&Object>) -> Option<Miss<'a>> {
    let label = |k: &str| labels.and_then(|l| l.get(k));
    if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in ml {
            if label(k) != Some(v) {
                return Some(Miss::Label(k));
            }
        }
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
        for (i, e) in exprs.iter().enumerate() {
            let Some(key) = e.get("key").and_then(Value::as_str) else {
                continue;
            };
            let have = label(key);
            let values = e.get("values").and_then(Value::as_array);
            let listed = || have.is_some_and(|h| values.is_some_and(|vs| vs.contains(h)));
            let ok = match e.get("operator").and_then(Value::as_str) {
                Some("In") => listed(),
                Some("NotIn") => !listed(),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                _ => true,
            };
            if !ok {
                return Some(Miss::Expr(i));
            }
        }
    }
    None
}

/// A plain label map selector (Service, ReplicationController).
fn map_selects(sel: &Object, labels: Option<&Object>) -> bool {
    sel.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

struct Workload<'a, 'i> {
    index: usize,
    info: &'i Info<'a>,
    tpl: PodTemplate<'a>,
}

/// Run the consistency rules over all objects of one render.
pub fn check(objs: &[Subject<'_>], external: &[ExternalRef], out: &mut Vec<Finding>) {
    let infos: Vec<Info<'_>> = objs.iter().map(|s| info(s.obj)).collect();
    let workloads: Vec<Workload<'_, '_>> = objs
        .iter()
        .zip(&infos)
        .enumerate()
        .filter(|(_, (_, inf))| might_have_template(inf.kind))
        .filter_map(|(index, (s, info))| {
            pod_template(s.obj).map(|tpl| Workload { index, info, tpl })
        })
        .collect();
    // Scope of each object's kind from kustomize's table (`None`: not a built-in kind).
    let mut memo: HashMap<(&str, &str), Option<bool>> = HashMap::new();
    let scopes: Vec<Option<bool>> = infos
        .iter()
        .map(|inf| {
            *memo
                .entry((inf.api, inf.kind))
                .or_insert_with(|| precomputed_scope(inf.api, inf.kind))
        })
        .collect();

    duplicates(objs, &infos, &scopes, out);
    namespaces(objs, &infos, &scopes, out);
    selectors(objs, &workloads, out);
    service_orphans(objs, &infos, &workloads, out);
    refs(objs, &infos, &workloads, external, out);
    hpa_conflicts(objs, &infos, out);
    ingress_conflicts(objs, &infos, out);
    pdbs(objs, &infos, &workloads, out);
}

/// Cheap pre-check before [`pod_template`]: only these kinds have one.
fn might_have_template(kind: &str) -> bool {
    matches!(
        kind,
        "Pod"
            | "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "Job"
            | "CronJob"
            | "Rollout"
    )
}

fn duplicates(
    objs: &[Subject<'_>],
    infos: &[Info<'_>],
    scopes: &[Option<bool>],
    out: &mut Vec<Finding>,
) {
    let mut seen: HashMap<(&str, &str, &str, &str), usize> = HashMap::with_capacity(infos.len());
    for (i, inf) in infos.iter().enumerate() {
        if inf.kind.is_empty() || inf.name.is_empty() {
            continue;
        }
        let ns = if scopes[i] == Some(true) { "" } else { inf.ns };
        if let Some(&first) = seen.get(&(inf.group, inf.kind, ns, inf.name)) {
            let place = objs[first].origin.to_string();
            let place = if place.is_empty() {
                String::new()
            } else {
                format!(" (first defined at {place})")
            };
            let where_ns = if ns.is_empty() {
                String::new()
            } else {
                format!(" in namespace `{ns}`")
            };
            out.push(Finding::at(
                "duplicate-resource",
                sev("duplicate-resource"),
                i,
                keys(&["metadata", "name"]),
                format!(
                    "{} `{}`{where_ns} appears twice in this render{place}; remove or rename one",
                    inf.kind, inf.name
                ),
            ));
        } else {
            seen.insert((inf.group, inf.kind, ns, inf.name), i);
        }
    }
}

fn namespaces(
    objs: &[Subject<'_>],
    infos: &[Info<'_>],
    scopes: &[Option<bool>],
    out: &mut Vec<Finding>,
) {
    // CRDs in the render: (group, kind) → cluster-scoped?
    let mut crds: HashMap<(&str, &str), bool> = HashMap::new();
    for (s, inf) in objs.iter().zip(infos) {
        if inf.group == "apiextensions.k8s.io" && inf.kind == "CustomResourceDefinition" {
            let o = s.obj;
            if let (Some(g), Some(k)) = (
                at(o, &["spec", "group"]).and_then(Value::as_str),
                at(o, &["spec", "names", "kind"]).and_then(Value::as_str),
            ) {
                let cluster = at(o, &["spec", "scope"]).and_then(Value::as_str) == Some("Cluster");
                crds.insert((g, k), cluster);
            }
        }
    }
    for (i, (s, inf)) in objs.iter().zip(infos).enumerate() {
        if !inf.ns.is_empty() || inf.kind.is_empty() || inf.kind.ends_with("List") {
            continue;
        }
        let cluster = scopes[i].or_else(|| crds.get(&(inf.group, inf.kind)).copied());
        if cluster != Some(false) {
            continue;
        }
        let path = if s.obj.contains_key("metadata") {
            keys(&["metadata"])
        } else {
            Vec::new()
        };
        out.push(Finding::at(
            "namespace-missing",
            sev("namespace-missing"),
            i,
            path,
            format!(
                "{} `{}` is namespaced but has no `metadata.namespace`, so it lands in whatever \
                 namespace the deploy tool defaults to; set it (e.g. kustomize `namespace:`)",
                inf.kind, inf.name
            ),
        ));
    }
}

fn selectors(objs: &[Subject<'_>], workloads: &[Workload<'_, '_>], out: &mut Vec<Finding>) {
    for w in workloads {
        if w.tpl.template_path.is_empty() || w.tpl.template_path.len() > 2 {
            continue; // Pods and CronJobs have no selector of their own.
        }
        let Some(sel) = at(objs[w.index].obj, &["spec", "selector"]).and_then(Value::as_object)
        else {
            continue;
        };
        let path = if w.info.kind == "ReplicationController" {
            match sel
                .iter()
                .find(|(k, v)| w.tpl.labels.and_then(|l| l.get(*k)) != Some(*v))
            {
                Some((k, _)) => keys(&["spec", "selector", k]),
                None => continue,
            }
        } else {
            match selector_miss(sel, w.tpl.labels) {
                Some(Miss::Label(k)) => keys(&["spec", "selector", "matchLabels", k]),
                Some(Miss::Expr(i)) => {
                    let mut p = keys(&["spec", "selector", "matchExpressions"]);
                    p.push(Seg::Index(i));
                    p
                }
                None => continue,
            }
        };
        let field = super::path_to_string(&path);
        out.push(Finding::at(
            "selector-mismatch",
            sev("selector-mismatch"),
            w.index,
            path,
            format!(
                "{} `{}`: `{field}` does not match the pod template's labels, so the API server \
                 rejects it; make the selector and `spec.template.metadata.labels` agree",
                w.info.kind, w.info.name
            ),
        ));
    }
}

fn service_orphans(
    objs: &[Subject<'_>],
    infos: &[Info<'_>],
    workloads: &[Workload<'_, '_>],
    out: &mut Vec<Finding>,
) {
    // (label key, value) → workloads whose template has it.
    let mut by_label: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (wi, w) in workloads.iter().enumerate() {
        for (k, v) in w.tpl.labels.into_iter().flatten() {
            if let Some(v) = v.as_str() {
                by_label.entry((k.as_str(), v)).or_default().push(wi);
            }
        }
    }
    for (i, (s, inf)) in objs.iter().zip(infos).enumerate() {
        if !inf.group.is_empty() || inf.kind != "Service" {
            continue;
        }
        if at(s.obj, &["spec", "type"]).and_then(Value::as_str) == Some("ExternalName") {
            continue;
        }
        let Some(sel) = at(s.obj, &["spec", "selector"]).and_then(Value::as_object) else {
            continue;
        };
        let Some((k, v)) = sel.iter().next() else {
            continue;
        };
        let found = v
            .as_str()
            .and_then(|v| by_label.get(&(k.as_str(), v)))
            .is_some_and(|cands| {
                cands.iter().any(|&wi| {
                    let w = &workloads[wi];
                    same_ns(w.info.ns, inf.ns) && map_selects(sel, w.tpl.labels)
                })
            });
        if found {
            continue;
        }
        let shown: Vec<String> = sel
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
            .collect();
        out.push(Finding::at(
            "service-selector-orphan",
            sev("service-selector-orphan"),
            i,
            keys(&["spec", "selector"]),
            format!(
                "Service `{}` selects {} but no pod template in this render has those labels; \
                 fix the selector or the workload's template labels",
                inf.name,
                shown.join(",")
            ),
        ));
    }
}

/// A path relative to the pod spec, kept on the stack until needed.
#[derive(Clone, Copy)]
enum P<'a> {
    K(&'a str),
    I(usize),
}

struct Ref<'a> {
    kind: &'static str,
    name: &'a str,
    path: [P<'a>; 8],
    len: usize,
}

fn push_ref<'a>(
    list: &mut Vec<Ref<'a>>,
    kind: &'static str,
    name: Option<&'a Value>,
    optional: Option<&'a Value>,
    parts: &[P<'a>],
) {
    let Some(name) = name.and_then(Value::as_str).filter(|n| !n.is_empty()) else {
        return;
    };
    if optional.and_then(Value::as_bool) == Some(true) {
        return;
    }
    let mut path = [P::I(0); 8];
    let len = parts.len().min(8);
    path[..len].copy_from_slice(&parts[..len]);
    list.push(Ref {
        kind,
        name,
        path,
        len,
    });
}

/// Every ConfigMap, Secret, ServiceAccount and PVC a pod spec references (not optional ones).
fn pod_refs<'a>(spec: &'a Object, list: &mut Vec<Ref<'a>>) {
    use P::{I, K};
    for key in ["serviceAccountName", "serviceAccount"] {
        if let Some(sa) = spec.get(key).filter(|v| v.as_str() != Some("default")) {
            push_ref(list, "ServiceAccount", Some(sa), None, &[K(key)]);
            break;
        }
    }
    for (i, s) in spec
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        push_ref(
            list,
            "Secret",
            s.get("name"),
            None,
            &[K("imagePullSecrets"), I(i), K("name")],
        );
    }
    for (i, v) in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let vol = K("volumes");
        if let Some(cm) = v.get("configMap") {
            push_ref(
                list,
                "ConfigMap",
                cm.get("name"),
                cm.get("optional"),
                &[vol, I(i), K("configMap"), K("name")],
            );
        }
        if let Some(sec) = v.get("secret") {
            push_ref(
                list,
                "Secret",
                sec.get("secretName"),
                sec.get("optional"),
                &[vol, I(i), K("secret"), K("secretName")],
            );
        }
        if let Some(pvc) = v.get("persistentVolumeClaim") {
            push_ref(
                list,
                "PersistentVolumeClaim",
                pvc.get("claimName"),
                None,
                &[vol, I(i), K("persistentVolumeClaim"), K("claimName")],
            );
        }
        let sources = v
            .get("projected")
            .and_then(|p| p.get("sources"))
            .and_then(Value::as_array);
        for (j, src) in sources.into_iter().flatten().enumerate() {
            let base = [vol, I(i), K("projected"), K("sources"), I(j)];
            if let Some(cm) = src.get("configMap") {
                push_ref(
                    list,
                    "ConfigMap",
                    cm.get("name"),
                    cm.get("optional"),
                    &[
                        base[0],
                        base[1],
                        base[2],
                        base[3],
                        base[4],
                        K("configMap"),
                        K("name"),
                    ],
                );
            }
            if let Some(sec) = src.get("secret") {
                push_ref(
                    list,
                    "Secret",
                    sec.get("name"),
                    sec.get("optional"),
                    &[
                        base[0],
                        base[1],
                        base[2],
                        base[3],
                        base[4],
                        K("secret"),
                        K("name"),
                    ],
                );
            }
        }
    }
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        for (c, ctr) in spec
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            for (e, env) in ctr
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(from) = env.get("valueFrom") else {
                    continue;
                };
                let base = [K(field), I(c), K("env"), I(e), K("valueFrom")];
                for (kind, key) in [("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")] {
                    if let Some(r) = from.get(key) {
                        push_ref(
                            list,
                            kind,
                            r.get("name"),
                            r.get("optional"),
                            &[
                                base[0],
                                base[1],
                                base[2],
                                base[3],
                                base[4],
                                K(key),
                                K("name"),
                            ],
                        );
                    }
                }
            }
            for (e, env) in ctr
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (kind, key) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
                    if let Some(r) = env.get(key) {
                        push_ref(
                            list,
                            kind,
                            r.get("name"),
                            r.get("optional"),
                            &[K(field), I(c), K("envFrom"), I(e), K(key), K("name")],
                        );
                    }
                }
            }
        }
    }
}

/// The (kind, name) an object provides for references, if any: the object itself for the
/// core kinds, the Secret an operator will create for secret-producing custom resources.
fn provides<'a>(obj: &'a Object, inf: &Info<'a>) -> Option<(&'static str, &'a str)> {
    let s = |p: &[&str]| at(obj, p).and_then(Value::as_str).filter(|n| !n.is_empty());
    let kind = match (inf.group, inf.kind) {
        ("", "ConfigMap") => "ConfigMap",
        ("", "Secret") => "Secret",
        ("", "ServiceAccount") => "ServiceAccount",
        ("", "PersistentVolumeClaim") => "PersistentVolumeClaim",
        ("bitnami.com", "SealedSecret") => {
            return Some((
                "Secret",
                s(&["spec", "template", "metadata", "name"]).unwrap_or(inf.name),
            ));
        }
        ("external-secrets.io", "ExternalSecret") => {
            return Some(("Secret", s(&["spec", "target", "name"]).unwrap_or(inf.name)));
        }
        ("cert-manager.io", "Certificate") => return Some(("Secret", s(&["spec", "secretName"])?)),
        (
            "secrets.hashicorp.com",
            "VaultStaticSecret" | "VaultDynamicSecret" | "VaultPKISecret",
        ) => {
            return Some(("Secret", s(&["spec", "destination", "name"])?));
        }
        ("onepassword.com", "OnePasswordItem") => "Secret",
        _ => return None,
    };
    Some((kind, inf.name))
}

fn refs(
    objs: &[Subject<'_>],
    infos: &[Info<'_>],
    workloads: &[Workload<'_, '_>],
    external: &[ExternalRef],
    out: &mut Vec<Finding>,
) {
    // (kind, name) → namespaces that have it.
    let mut have: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for (s, inf) in objs.iter().zip(infos) {
        if inf.name.is_empty() {
            continue;
        }
        if let Some(key) = provides(s.obj, inf) {
            have.entry(key).or_default().push(inf.ns);
        }
    }
    let mut list = Vec::new();
    for w in workloads {
        list.clear();
        pod_refs(w.tpl.spec, &mut list);
        let ns = w.info.ns;
        for r in &list {
            let present = have
                .get(&(r.kind, r.name))
                .is_some_and(|nss| nss.iter().any(|n| same_ns(n, ns)));
            let declared = external.iter().any(|e| {
                e.kind.eq_ignore_ascii_case(r.kind)
                    && e.name == r.name
                    && e.namespace.as_deref().is_none_or(|n| same_ns(n, ns))
            });
            if present || declared {
                continue;
            }
            let mut path = keys(w.tpl.spec_path);
            path.extend(r.path[..r.len].iter().map(|p| match p {
                P::K(k) => Seg::Key((*k).to_string()),
                P::I(i) => Seg::Index(*i),
            }));
            let in_ns = if ns.is_empty() {
                String::new()
            } else {
                format!(" in namespace `{ns}`")
            };
            out.push(Finding::at(
                "ref-missing",
                sev("ref-missing"),
                w.index,
                path,
                format!(
                    "{} `{}` references {} `{}`, which is not in this render{in_ns}; add it, fix \
                     the name, mark the reference `optional: true`, or declare it under \
                     `external:` in .github/warden.yml",
                    w.info.kind, w.info.name, r.kind, r.name
                ),
            ));
        }
    }
}

fn hpa_conflicts(objs: &[Subject<'_>], infos: &[Info<'_>], out: &mut Vec<Finding>) {
    // (kind, name) → scalers: (namespace, scaler kind, scaler name).
    type Scaler<'a> = (&'a str, &'a str, &'a str);
    let mut scaled: HashMap<(&str, &str), Vec<Scaler<'_>>> = HashMap::new();
    for (s, inf) in objs.iter().zip(infos) {
        let default_kind = match (inf.group, inf.kind) {
            ("autoscaling", "HorizontalPodAutoscaler") => None,
            ("keda.sh", "ScaledObject") => Some("Deployment"),
            _ => continue,
        };
        let target = at(s.obj, &["spec", "scaleTargetRef"]);
        let name = target.and_then(|t| t.get("name")).and_then(Value::as_str);
        let kind = target
            .and_then(|t| t.get("kind"))
            .and_then(Value::as_str)
            .or(default_kind);
        if let (Some(kind), Some(name)) = (kind, name) {
            scaled
                .entry((kind, name))
                .or_default()
                .push((inf.ns, inf.kind, inf.name));
        }
    }
    if scaled.is_empty() {
        return;
    }
    for (i, (s, inf)) in objs.iter().zip(infos).enumerate() {
        let Some(scalers) = scaled.get(&(inf.kind, inf.name)) else {
            continue;
        };
        let Some(&(_, skind, sname)) = scalers.iter().find(|(n, _, _)| same_ns(n, inf.ns)) else {
            continue;
        };
        if at(s.obj, &["spec", "replicas"]).is_none_or(Value::is_null) {
            continue;
        }
        out.push(Finding::at(
            "hpa-replicas-conflict",
            sev("hpa-replicas-conflict"),
            i,
            keys(&["spec", "replicas"]),
            format!(
                "{} `{}` sets `spec.replicas` but is scaled by {skind} `{sname}`; every sync \
                 resets the replica count the autoscaler chose. Remove `spec.replicas`",
                inf.kind, inf.name
            ),
        ));
    }
}

fn ingress_conflicts(objs: &[Subject<'_>], infos: &[Info<'_>], out: &mut Vec<Finding>) {
    // (class, host, path) → first claiming object.
    let mut claimed: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (i, (s, inf)) in objs.iter().zip(infos).enumerate() {
        if inf.kind != "Ingress" || !matches!(inf.group, "networking.k8s.io" | "extensions") {
            continue;
        }
        let class = at(s.obj, &["spec", "ingressClassName"])
            .or_else(|| {
                at(
                    s.obj,
                    &["metadata", "annotations", "kubernetes.io/ingress.class"],
                )
            })
            .and_then(Value::as_str)
            .unwrap_or("");
        let rules = at(s.obj, &["spec", "rules"]).and_then(Value::as_array);
        for (r, rule) in rules.into_iter().flatten().enumerate() {
            let host = rule.get("host").and_then(Value::as_str).unwrap_or("");
            let paths = rule
                .get("http")
                .and_then(|h| h.get("paths"))
                .and_then(Value::as_array);
            for (p, hp) in paths.into_iter().flatten().enumerate() {
                let path = hp.get("path").and_then(Value::as_str).unwrap_or("/");
                let first = *claimed.entry((class, host, path)).or_insert(i);
                if first == i {
                    continue;
                }
                let f = &infos[first];
                if f.ns == inf.ns && f.name == inf.name {
                    continue; // the same Ingress twice: duplicate-resource says so
                }
                let mut at_path = keys(&["spec", "rules"]);
                at_path.push(Seg::Index(r));
                at_path.extend(keys(&["http", "paths"]));
                at_path.push(Seg::Index(p));
                if hp.get("path").is_some() {
                    at_path.push(Seg::Key("path".into()));
                }
                let shown_host = if host.is_empty() { "*" } else { host };
                out.push(Finding::at(
                    "ingress-host-conflict",
                    sev("ingress-host-conflict"),
                    i,
                    at_path,
                    format!(
                        "Ingress `{}` claims host `{shown_host}` path `{path}`, already claimed by \
                         Ingress `{}`{}; merge them or change the host or path",
                        inf.name,
                        f.name,
                        if f.ns.is_empty() {
                            String::new()
                        } else {
                            format!(" in namespace `{}`", f.ns)
                        }
                    ),
                ));
            }
        }
    }
}

fn pdbs(
    objs: &[Subject<'_>],
    infos: &[Info<'_>],
    workloads: &[Workload<'_, '_>],
    out: &mut Vec<Finding>,
) {
    // namespace → PDB selectors.
    let mut by_ns: HashMap<&str, Vec<&Object>> = HashMap::new();
    for (s, inf) in objs.iter().zip(infos) {
        if inf.group == "policy"
            && inf.kind == "PodDisruptionBudget"
            && let Some(sel) = at(s.obj, &["spec", "selector"]).and_then(Value::as_object)
        {
            by_ns.entry(inf.ns).or_default().push(sel);
        }
    }
    let unset: &[&Object] = by_ns.get("").map_or(&[], Vec::as_slice);
    for w in workloads {
        let multi = matches!(
            (w.info.group, w.info.kind),
            ("apps", "Deployment" | "StatefulSet") | ("argoproj.io", "Rollout")
        );
        if !multi {
            continue;
        }
        let replicas = at(objs[w.index].obj, &["spec", "replicas"]).and_then(Value::as_i64);
        if replicas.is_none_or(|r| r <= 1) {
            continue;
        }
        let candidates: Box<dyn Iterator<Item = &&Object>> = if w.info.ns.is_empty() {
            Box::new(by_ns.values().flatten())
        } else {
            Box::new(
                by_ns
                    .get(w.info.ns)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .chain(unset),
            )
        };
        let covered = candidates
            .into_iter()
            .any(|sel| selector_miss(sel, w.tpl.labels).is_none());
        if covered {
            continue;
        }
        out.push(Finding::at(
            "pdb-missing",
            sev("pdb-missing"),
            w.index,
            keys(&["spec", "replicas"]),
            format!(
                "{} `{}` runs {} replicas but no PodDisruptionBudget selects its pods; a node \
                 drain may evict them all at once. Add one (e.g. `maxUnavailable: 1`)",
                w.info.kind,
                w.info.name,
                replicas.unwrap_or(0)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn label_selectors() {
        let labels = obj(serde_json::json!({"app": "a", "tier": "web"}));
        let sel = |v| obj(v);
        assert_eq!(
            selector_miss(&sel(serde_json::json!({})), Some(&labels)),
            None
        );
        assert_eq!(
            selector_miss(
                &sel(serde_json::json!({"matchLabels": {"app": "b"}})),
                Some(&labels)
            ),
            Some(Miss::Label("app"))
        );
        let exprs = sel(serde_json::json!({"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "gone", "operator": "DoesNotExist"},
            {"key": "app", "operator": "NotIn", "values": ["a"]}
        ]}));
        assert_eq!(selector_miss(&exprs, Some(&labels)), Some(Miss::Expr(2)));
        assert_eq!(selector_miss(&exprs, None), Some(Miss::Expr(0)));
    }
}
