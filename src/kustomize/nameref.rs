//! Name references: once prefixes, suffixes and hashes have renamed objects, every field that
//! names one of them (a pod's ConfigMap volume, a RoleBinding's roleRef, an HPA's target…) is
//! updated to the new name. Candidates are chosen the way kustomize does: by previous name,
//! kind, namespace reachability and matching prefixes/suffixes.

use super::config::NameBackRef;
use super::fieldspec::{self, Create, FieldSpec};
use super::resource::{Resource, is_cluster_scoped_kind};
use super::{Error, Result, effective_namespace, gvk_selected};
use crate::manifest::{Gvk, ResId};
use serde_json::Value;

/// What the candidates look like while referrers are being rewritten.
struct Snapshot {
    cur: ResId,
    org: ResId,
    prev: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// Precomputed: is the current kind cluster-scoped, and the effective namespaces.
    cluster: bool,
    cur_ns: String,
    org_ns: String,
    org_cluster: bool,
}

pub fn fix_references(resources: &mut [Resource], backrefs: &[NameBackRef]) -> Result<()> {
    let snaps: Vec<Snapshot> = resources
        .iter()
        .map(|r| {
            let cur = r.cur_id();
            let org = r.org_id();
            Snapshot {
                cluster: is_cluster_scoped_kind(&cur.gvk),
                cur_ns: effective_namespace(&cur.gvk, &cur.namespace).to_string(),
                org_cluster: is_cluster_scoped_kind(&org.gvk),
                org_ns: effective_namespace(&org.gvk, &org.namespace).to_string(),
                cur,
                org,
                prev: r.prev_ids(),
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
            }
        })
        .collect();
    // Candidates by any previous name: a reference only ever matches those.
    let mut by_name: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, snap) in snaps.iter().enumerate() {
        for id in &snap.prev {
            let list = by_name.entry(id.name.as_str()).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    let mut ref_by: Vec<(usize, ResId)> = Vec::new();
    for ri in 0..resources.len() {
        let org_gvk = snaps[ri].org.gvk.clone();
        let mut filters: Vec<(&FieldSpec, &Gvk)> = Vec::new();
        for br in backrefs {
            for fs in &br.referrers {
                if fs.matches_gvk(&org_gvk) {
                    filters.push((fs, &br.target));
                }
            }
        }
        if filters.is_empty() {
            continue;
        }
        let reach = reachable(&resources[ri])?;
        let referrer_cur = resources[ri].cur_id();
        let ref_prefixes = resources[ri].prefixes.clone();
        let ref_suffixes = resources[ri].suffixes.clone();
        let role_ref_gvk = role_ref_gvk(&resources[ri]);
        for (fs, target) in filters {
            let mut spec = fs.clone();
            spec.group = "".into();
            spec.version = "".into();
            spec.kind = "".into();
            spec.create = false;
            let ctx = Ctx {
                snaps: &snaps,
                by_name: &by_name,
                reach: &reach,
                target,
                referrer: &referrer_cur,
                ref_prefixes: &ref_prefixes,
                ref_suffixes: &ref_suffixes,
                role_ref: if fs.path.ends_with("roleRef/name") {
                    role_ref_gvk.clone()
                } else {
                    None
                },
            };
            let r = &mut resources[ri];
            fieldspec::visit(&mut r.obj, &spec, Create::Never, &mut |v| {
                set(v, &ctx, &mut ref_by)
            })
            .map_err(|e| {
                Error::new(format!(
                    "updating name reference in '{}' field of '{}': {e}",
                    fs.path, referrer_cur
                ))
            })?;
        }
    }
    for (i, id) in ref_by {
        if !resources[i].ref_by.contains(&id) {
            resources[i].ref_by.push(id);
        }
    }
    Ok(())
}

struct Ctx<'a> {
    snaps: &'a [Snapshot],
    by_name: &'a std::collections::HashMap<&'a str, Vec<usize>>,
    reach: &'a Reach,
    target: &'a Gvk,
    referrer: &'a ResId,
    ref_prefixes: &'a [String],
    ref_suffixes: &'a [String],
    role_ref: Option<Gvk>,
}

/// Which objects a referrer can name: those in its namespace, cluster-scoped ones, and for a
/// RoleBinding those in the namespaces of its ServiceAccount subjects (everything, for a
/// cluster-scoped referrer).
struct Reach {
    all: bool,
    namespace: String,
    sa_namespaces: Vec<String>,
}

impl Reach {
    fn ok(&self, s: &Snapshot) -> bool {
        self.all
            || s.cluster
            || s.cur_ns == self.namespace
            || self.sa_namespaces.contains(&s.cur.namespace)
    }
}

fn reachable(referrer: &Resource) -> Result<Reach> {
    let rid = referrer.cur_id();
    if is_cluster_scoped_kind(&rid.gvk) {
        return Ok(Reach {
            all: true,
            namespace: String::new(),
            sa_namespaces: Vec::new(),
        });
    }
    let mut sa_namespaces: Vec<String> = Vec::new();
    if referrer.kind() == "RoleBinding"
        && let Some(Value::Array(subjects)) = referrer.obj.get("subjects")
    {
        for s in subjects {
            if let (Some(ns), Some(kind)) = (s.get("namespace"), s.get("kind"))
                && kind.as_str() == Some("ServiceAccount")
            {
                match ns.as_str() {
                    Some(n) => sa_namespaces.push(n.to_string()),
                    None => {
                        return Err(Error::new(format!(
                            "invalid input: namespace is blank for resource {rid}"
                        )));
                    }
                }
            }
        }
    }
    Ok(Reach {
        all: false,
        namespace: effective_namespace(&rid.gvk, &rid.namespace).to_string(),
        sa_namespaces,
    })
}

/// The reachable objects that once had this name, in build order.
fn named(ctx: &Ctx, name: &str) -> Vec<usize> {
    ctx.by_name
        .get(name)
        .map(|l| {
            l.iter()
                .copied()
                .filter(|&i| ctx.reach.ok(&ctx.snaps[i]))
                .collect()
        })
        .unwrap_or_default()
}

fn role_ref_gvk(r: &Resource) -> Option<Gvk> {
    let rr = r.obj.get("roleRef")?.as_object()?;
    Some(Gvk {
        group: rr.get("apiGroup")?.as_str()?.to_string(),
        version: String::new(),
        kind: rr.get("kind")?.as_str()?.to_string(),
    })
}

fn set(
    v: &mut Value,
    ctx: &Ctx,
    ref_by: &mut Vec<(usize, ResId)>,
) -> std::result::Result<(), String> {
    match v {
        Value::Null => Ok(()),
        Value::Object(_) => set_mapping(v, ctx, ref_by),
        Value::Array(items) => {
            for it in items.iter_mut() {
                match it {
                    Value::Object(_) => set_mapping(it, ctx, ref_by)?,
                    Value::Array(_) => return Err("node must be a scalar, sequence or map".into()),
                    _ => set_scalar(it, ctx, ref_by)?,
                }
            }
            Ok(())
        }
        _ => set_scalar(v, ctx, ref_by),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn set_scalar(
    v: &mut Value,
    ctx: &Ctx,
    ref_by: &mut Vec<(usize, ResId)>,
) -> std::result::Result<(), String> {
    let old = scalar_text(v);
    let Some(i) = select(&old, &named(ctx, &old), ctx, false)? else {
        return Ok(());
    };
    ref_by.push((i, ctx.referrer.clone()));
    let new = &ctx.snaps[i].cur.name;
    if *new != old {
        *v = Value::String(new.clone());
    }
    Ok(())
}

fn set_mapping(
    v: &mut Value,
    ctx: &Ctx,
    ref_by: &mut Vec<(usize, ResId)>,
) -> std::result::Result<(), String> {
    let Value::Object(m) = v else {
        return Err("expect a mapping node".into());
    };
    let Some(name) = m.get("name") else {
        return Err("path config error; no 'name' field in node".into());
    };
    let old = scalar_text(name);
    let named = named(ctx, &old);
    let cands: Vec<usize> = match m.get("namespace") {
        None => named,
        Some(nsv) => {
            // kustomize groups every reachable object by original namespace first, and only
            // when none has this one falls back to current namespaces.
            let ns = scalar_text(nsv);
            let any_org = ctx
                .snaps
                .iter()
                .any(|o| ctx.reach.ok(o) && !o.org_cluster && o.org_ns == ns);
            named
                .into_iter()
                .filter(|&i| {
                    let o = &ctx.snaps[i];
                    if any_org {
                        !o.org_cluster && o.org_ns == ns
                    } else {
                        !o.cluster && o.cur_ns == ns
                    }
                })
                .collect()
        }
    };
    let Some(i) = select(&old, &cands, ctx, true)? else {
        return Ok(());
    };
    ref_by.push((i, ctx.referrer.clone()));
    let cur = &ctx.snaps[i].cur;
    if cur.name == old && cur.namespace.is_empty() {
        return Ok(());
    }
    m.insert("name".into(), Value::String(cur.name.clone()));
    if !cur.namespace.is_empty() {
        m.insert("namespace".into(), Value::String(cur.namespace.clone()));
    }
    Ok(())
}

/// Does the shorter list end the longer one?
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() > b.len() { (b, a) } else { (a, b) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

fn affixes_equal(s: &Snapshot, ctx: &Ctx, allow_empty: bool) -> bool {
    if allow_empty {
        let pe = s.prefixes.is_empty() || ctx.ref_prefixes.is_empty();
        let se = s.suffixes.is_empty() || ctx.ref_suffixes.is_empty();
        (pe || same_ending(&s.prefixes, ctx.ref_prefixes))
            && (se || same_ending(&s.suffixes, ctx.ref_suffixes))
    } else {
        same_ending(&s.prefixes, ctx.ref_prefixes) && same_ending(&s.suffixes, ctx.ref_suffixes)
    }
}

fn select(
    old: &str,
    cands: &[usize],
    ctx: &Ctx,
    with_ns: bool,
) -> std::result::Result<Option<usize>, String> {
    let rns = effective_namespace(&ctx.referrer.gvk, &ctx.referrer.namespace);
    let referrer_cluster = is_cluster_scoped_kind(&ctx.referrer.gvk);
    let mut c: Vec<usize> = cands
        .iter()
        .copied()
        .filter(|&i| {
            let s = &ctx.snaps[i];
            s.prev.iter().any(|id| id.name == old)
                && s.prev.iter().any(|id| gvk_selected(&id.gvk, ctx.target))
                && ctx
                    .role_ref
                    .as_ref()
                    .is_none_or(|g| s.prev.iter().any(|id| gvk_selected(&id.gvk, g)))
                && (referrer_cluster
                    || s.cluster
                    || s.cur.gvk.kind == "ServiceAccount"
                    || s.cur_ns == rns)
        })
        .collect();
    if c.len() == 1 {
        return Ok(Some(c[0]));
    }
    c.retain(|&i| affixes_equal(&ctx.snaps[i], ctx, true));
    if c.len() > 1 {
        c.retain(|&i| affixes_equal(&ctx.snaps[i], ctx, false));
    }
    match c.len() {
        0 => Ok(None),
        1 => Ok(Some(c[0])),
        _ => {
            let first = &ctx.snaps[c[0]].cur;
            let identical = c.iter().all(|&i| {
                let s = &ctx.snaps[i].cur;
                s.name == first.name && (!with_ns || s.namespace == first.namespace)
            });
            if identical {
                return Ok(Some(c[0]));
            }
            let ids: Vec<String> = c.iter().map(|&i| ctx.snaps[i].cur.to_string()).collect();
            Err(format!(
                "found multiple possible referrals: {}",
                ids.join(", ")
            ))
        }
    }
}
