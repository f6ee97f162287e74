//! Properties of the rendered diff over generated object sets.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{Value, json};
use warden::diff::{Side, diff};
use warden::manifest::Object;

fn as_obj(v: Value) -> Object {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("objects are built as mappings"),
    }
}

fn sides(objs: &[Object]) -> Vec<Side<'_>> {
    Side::all(objs)
}

/// A container: name, env (name, value) and ports.
type Container = (String, Vec<(String, String)>, Vec<u16>);

/// A Deployment with containers (each with env and ports) in the given order.
fn deployment(name: &str, containers: &[Container]) -> Object {
    let cs: Vec<Value> = containers
        .iter()
        .map(|(n, env, ports)| {
            json!({
                "name": n,
                "image": format!("{n}:1"),
                "env": env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "ports": ports.iter().map(|p| json!({"containerPort": p})).collect::<Vec<_>>(),
            })
        })
        .collect();
    as_obj(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"template": {"spec": {"containers": cs}}},
    }))
}

/// A ConfigMap or Service identified by (kind, name), with some content.
fn simple(kind: u8, name: u8, content: u8) -> Object {
    let (api, kind) = match kind % 3 {
        0 => ("v1", "ConfigMap"),
        1 => ("v1", "Service"),
        _ => ("apps/v1", "Deployment"),
    };
    as_obj(json!({
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": format!("obj{name}"), "namespace": "ns"},
        "data": {"v": content.to_string()},
    }))
}

fn containers() -> impl Strategy<Value = Vec<Container>> {
    prop::collection::btree_map(
        "[a-z]{1,6}",
        (
            prop::collection::btree_map("[A-Z]{1,4}", "[a-z0-9]{0,5}", 0..5),
            prop::collection::btree_set(1u16..65535, 0..4),
        ),
        1..5,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(n, (env, ports))| (n, env.into_iter().collect(), ports.into_iter().collect()))
            .collect()
    })
}

proptest! {
    #[test]
    fn a_render_compared_with_itself_has_no_diff(
        objs in prop::collection::btree_map((0u8..3, 0u8..20), 0u8..4, 0..30),
    ) {
        let objs: Vec<Object> = objs.iter().map(|((k, n), c)| simple(*k, *n, *c)).collect();
        let d = diff(&sides(&objs), &sides(&objs));
        prop_assert!(d.is_empty());
        prop_assert!(d.objects.is_empty() && d.cascades.is_empty() && d.classes.is_empty());
    }

    #[test]
    fn counts_match_the_object_sets(
        base in prop::collection::btree_map((0u8..3, 0u8..15), 0u8..3, 0..25),
        head in prop::collection::btree_map((0u8..3, 0u8..15), 0u8..3, 0..25),
    ) {
        let b: Vec<Object> = base.iter().map(|((k, n), c)| simple(*k, *n, *c)).collect();
        let h: Vec<Object> = head.iter().map(|((k, n), c)| simple(*k, *n, *c)).collect();
        let d = diff(&sides(&b), &sides(&h));
        let bk: BTreeSet<_> = base.keys().collect();
        let hk: BTreeSet<_> = head.keys().collect();
        let changed = bk.intersection(&hk).filter(|k| base[**k] != head[**k]).count();
        prop_assert_eq!(d.counts.added, hk.difference(&bk).count());
        prop_assert_eq!(d.counts.removed, bk.difference(&hk).count());
        prop_assert_eq!(d.counts.changed, changed);
        prop_assert_eq!(d.objects.len(), d.counts.added + d.counts.removed + d.counts.changed);
        for o in &d.objects {
            for line in o.unified.lines() {
                prop_assert!(
                    line.starts_with([' ', '+', '-']) || line.starts_with("@@ "),
                    "unexpected line {:?}", line
                );
            }
            prop_assert!(o.unified.ends_with('\n'));
        }
    }

    #[test]
    fn reordering_keyed_list_items_is_no_change(
        cs in containers(),
        seed in any::<u64>(),
    ) {
        let a = deployment("web", &cs);
        // A deterministic shuffle of containers, and of each one's env and ports.
        let mut shuffled = cs.clone();
        let rot = |n: usize| if n == 0 { 0 } else { (seed as usize) % n };
        let r = rot(shuffled.len());
        shuffled.rotate_left(r);
        shuffled.reverse();
        for (_, env, ports) in &mut shuffled {
            let r = rot(env.len());
            env.rotate_left(r);
            ports.reverse();
        }
        let b = deployment("web", &shuffled);
        let d = diff(&sides(&[a]), &sides(&[b]));
        prop_assert!(d.is_empty(), "{:?}", d.objects.first().map(|o| &o.unified));
    }

    #[test]
    fn one_inserted_env_var_is_one_change(
        cs in containers(),
        name in "[A-Z]{5}",
    ) {
        let a = deployment("web", &cs);
        let mut more = cs.clone();
        more[0].1.insert(0, (format!("X{name}"), "v".into()));
        let b = deployment("web", &more);
        let d = diff(&sides(&[a]), &sides(&[b]));
        prop_assert_eq!(d.objects.len(), 1);
        let fields: Vec<String> = d.objects[0].fields.iter().map(|f| f.path.to_string()).collect();
        prop_assert_eq!(
            fields,
            vec![format!("spec.template.spec.containers[name={}].env[name=X{name}]", cs[0].0)]
        );
        let classes: BTreeMap<_, _> = d.classes.iter().map(|c| (c.as_str(), ())).collect();
        prop_assert_eq!(classes.keys().copied().collect::<Vec<_>>(), vec!["other"]);
    }

    #[test]
    fn secret_values_never_leave(
        values in prop::collection::vec("[A-Za-z0-9]{16}", 2..6),
        rotate in 0usize..6,
    ) {
        let secret = |vals: &[String]| {
            let data: serde_json::Map<String, Value> = vals
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("k{i}"), Value::String(v.clone())))
                .collect();
            as_obj(json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": vals.join(",")}},
                "stringData": data,
            }))
        };
        let mut rotated = values.clone();
        if let Some(v) = rotated.get_mut(rotate) {
            *v = v.chars().rev().collect();
        }
        rotated.pop();
        let (b, h) = ([secret(&values)], [secret(&rotated)]);
        let out = diff(&sides(&b), &sides(&h));
        let text = serde_json::to_string(&out).expect("JSON");
        for v in values.iter().chain(&rotated) {
            prop_assert!(!text.contains(v.as_str()), "{} leaked: {}", v, text);
        }
        let keys = out.objects.first().and_then(|o| o.secret_keys.clone()).unwrap_or_default();
        prop_assert_eq!(keys.removed, vec![format!("k{}", values.len() - 1)]);
    }
}
