use super::*;
use proptest::prelude::*;

fn parent() -> Parent {
    Parent {
        namespace: "warden-agent".into(),
        name: "warden-agent-staging".into(),
    }
}

fn origin(line: usize) -> Origin {
    Origin {
        file: "overlays/staging/all.yaml".into(),
        line,
        ..Origin::default()
    }
}

/// Discovery as a small cluster answers it.
fn cluster(g: &Gvk) -> Option<Served> {
    let (plural, namespaced) = match (g.group.as_str(), g.version.as_str(), g.kind.as_str()) {
        ("", "v1", "Namespace") => ("namespaces", false),
        ("", "v1", "ConfigMap") => ("configmaps", true),
        ("", "v1", "Service") => ("services", true),
        ("apps", "v1", "Deployment") => ("deployments", true),
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") => {
            ("customresourcedefinitions", false)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => ("clusterroles", false),
        _ => return None,
    };
    Some(Served {
        plural: plural.into(),
        namespaced,
    })
}

fn obj(api_version: &str, kind: &str, name: &str, ns: Option<&str>) -> Value {
    let mut v = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
    if let Some(ns) = ns {
        v["metadata"]["namespace"] = json!(ns);
    }
    v
}

fn run(objects: &[Value]) -> Result<Plan, PlanError> {
    let origins: Vec<Origin> = (0..objects.len()).map(|i| origin(i + 1)).collect();
    let pairs: Vec<(&Value, &Origin)> = objects.iter().zip(origins.iter()).collect();
    let crds = served_by_crds(&pairs);
    plan(
        &parent(),
        &pairs,
        &|g| {
            crds.get(&(g.group.clone(), g.version.clone(), g.kind.clone()))
                .cloned()
                .or_else(|| cluster(g))
        },
        "default",
    )
}

#[test]
fn the_id_is_the_specs_hash_of_the_parents_name_namespace_kind_and_group() {
    // Computed with Python's hashlib and base64.urlsafe_b64encode, padding stripped.
    assert_eq!(
        parent().id(),
        "applyset-yFnt6HfBSeL9OUoOHqI-ePd1MkmlzFYTyyX1KR-pxKQ-v1"
    );
    let other = Parent {
        namespace: "ops".into(),
        name: "inv".into(),
    };
    assert_eq!(
        other.id(),
        "applyset-Yml-UZf0H_LoPgaBWSEV9SEwYht6-rz9G56UdAS0R7s-v1"
    );
    // A label value: at most 63 characters.
    assert!(parent().id().len() <= 63);
}

#[test]
fn crds_then_namespaces_then_the_rest_in_render_order_each_labelled() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets"},
                 "versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false}]}});
    let objects = vec![
        obj("apps/v1", "Deployment", "web", Some("shop")),
        obj("example.com/v1", "Widget", "gear", Some("shop")),
        obj("v1", "Service", "web", None),
        obj("v1", "Namespace", "shop", None),
        crd,
        obj(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "reader",
            Some("ignored"),
        ),
    ];
    let p = run(&objects).unwrap();
    let order: Vec<String> = p.members.iter().map(|m| m.obj_ref.to_string()).collect();
    assert_eq!(
        order,
        [
            "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
            "Namespace shop",
            "Deployment.apps shop/web",
            "Widget.example.com shop/gear",
            "Service default/web",
            "ClusterRole.rbac.authorization.k8s.io reader",
        ]
    );
    for m in &p.members {
        assert_eq!(m.body["metadata"]["labels"][PART_OF], parent().id());
    }
    // Namespaced kinds get the default namespace; cluster-scoped ones lose a stray one.
    assert_eq!(p.members[4].body["metadata"]["namespace"], "default");
    assert!(p.members[5].body["metadata"].get("namespace").is_none());
    assert_eq!(p.members[3].served.plural, "widgets");
    let gks: Vec<String> = p.set.group_kinds.iter().map(|g| g.to_string()).collect();
    assert_eq!(
        gks,
        [
            "ClusterRole.rbac.authorization.k8s.io",
            "CustomResourceDefinition.apiextensions.k8s.io",
            "Deployment.apps",
            "Namespace",
            "Service",
            "Widget.example.com"
        ]
    );
    assert_eq!(
        p.set.namespaces.iter().cloned().collect::<Vec<_>>(),
        ["default", "shop"]
    );
    // A version the CRD does not serve is not served.
    let e = run(&[obj("example.com/v0", "Widget", "old", None)]).unwrap_err();
    assert!(e.to_string().contains("does not serve kind Widget"), "{e}");
}

#[test]
fn objects_that_cannot_be_applied_are_refused_naming_their_source() {
    let cases = [
        (
            obj("v1", "ConfigMap", "", None),
            "apiVersion, kind and metadata.name",
        ),
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "labels": {PART_OF: "applyset-x-v1"}}}),
            "already carries",
        ),
        (obj("example.com/v1", "Gadget", "g", None), "does not serve"),
        (
            obj(
                "v1",
                "ConfigMap",
                "warden-agent-staging",
                Some("warden-agent"),
            ),
            "the agent's own inventory",
        ),
    ];
    for (o, why) in cases {
        let e = run(&[obj("v1", "Service", "ok", None), o]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(why), "{text}");
        assert!(text.contains("overlays/staging/all.yaml:2"), "{text}");
    }
    let e = run(&[
        obj("v1", "Service", "web", Some("a")),
        obj("v1", "Service", "web", Some("a")),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("appears twice"), "{e}");
}

#[test]
fn the_parent_round_trips_and_foreign_parents_are_refused() {
    let p = run(&[
        obj("v1", "Service", "web", Some("shop")),
        obj("v1", "ConfigMap", "c", Some("warden-agent")),
    ])
    .unwrap();
    let body = parent().body(&p.set, Some("abc"), "warden-agent/v0.1.0");
    assert_eq!(
        body["metadata"]["annotations"][GROUP_KINDS],
        "ConfigMap,Service"
    );
    // The parent's own namespace is not an additional one.
    assert_eq!(body["metadata"]["annotations"][NAMESPACES], "shop");
    let back = read_parent(&parent(), &body).unwrap();
    assert_eq!(back.set, p.set);
    assert_eq!(back.commit.as_deref(), Some("abc"));

    let mut other_tool = body.clone();
    other_tool["metadata"]["annotations"][TOOLING] = json!("kubectl/v1.31");
    let e = read_parent(&parent(), &other_tool).unwrap_err().to_string();
    assert!(e.contains("\"kubectl/v1.31\""), "{e}");
    let mut impostor = body.clone();
    impostor["metadata"]["labels"][ID_LABEL] = json!("applyset-abc-v1");
    let e = read_parent(&parent(), &impostor).unwrap_err().to_string();
    assert!(e.contains("not this agent's ApplySet"), "{e}");
    let unlabelled = json!({"metadata": {"name": "warden-agent-staging"}});
    assert!(read_parent(&parent(), &unlabelled).is_err());
    let mut bad = body;
    bad["metadata"]["annotations"][GROUP_KINDS] = json!("Deploy ment.apps");
    assert!(read_parent(&parent(), &bad).is_err());
}

fn listed(
    gk: (&str, &str),
    ns: Option<&str>,
    name: &str,
    labels: Value,
    owners: Value,
) -> (ObjRef, Value) {
    (
        ObjRef {
            gk: GroupKind::new(gk.0, gk.1),
            namespace: ns.map(str::to_string),
            name: name.into(),
        },
        json!({"metadata": {"name": name, "labels": labels, "ownerReferences": owners}}),
    )
}

#[test]
fn prune_deletes_what_is_no_longer_rendered_crds_last_and_keeps_what_others_own() {
    let id = parent().id();
    let mine = json!({PART_OF: id});
    let applied: HashSet<ObjRef> = [ObjRef {
        gk: GroupKind::new("", "Service"),
        namespace: Some("shop".into()),
        name: "web".into(),
    }]
    .into();
    let items = vec![
        listed(
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
            None,
            "widgets.example.com",
            mine.clone(),
            json!(null),
        ),
        listed(
            ("", "Service"),
            Some("shop"),
            "web",
            mine.clone(),
            json!(null),
        ),
        listed(("", "Namespace"), None, "old", mine.clone(), json!(null)),
        listed(
            ("apps", "Deployment"),
            Some("shop"),
            "old",
            mine.clone(),
            json!(null),
        ),
        listed(
            ("", "ConfigMap"),
            Some("shop"),
            "theirs",
            json!({PART_OF: "applyset-other-v1"}),
            json!(null),
        ),
        listed(
            ("", "ConfigMap"),
            Some("shop"),
            "owned",
            mine.clone(),
            json!([{"kind": "Widget", "name": "gear", "uid": "u-1"}]),
        ),
        listed(
            ("", "ConfigMap"),
            Some("shop"),
            "child",
            mine.clone(),
            json!([{"kind": "ConfigMap", "name": "warden-agent-staging", "uid": "u-parent"}]),
        ),
        listed(
            ("", "ConfigMap"),
            Some("warden-agent"),
            "warden-agent-staging",
            mine,
            json!(null),
        ),
    ];
    let (delete, kept) = prune(&applied, &parent(), Some("u-parent"), items);
    let order: Vec<String> = delete.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        order,
        [
            "ConfigMap shop/child",
            "Deployment.apps shop/old",
            "Namespace old",
            "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
        ]
    );
    assert_eq!(kept.len(), 1);
    assert!(
        kept[0].why.contains("owned by Widget gear"),
        "{}",
        kept[0].why
    );
}

proptest! {
    #[test]
    fn applied_objects_are_never_pruned_and_unlabelled_ones_never_are(
        names in proptest::collection::vec("[a-z]{1,4}", 1..12),
        applied_mask in proptest::collection::vec(any::<bool>(), 12),
        labelled_mask in proptest::collection::vec(any::<bool>(), 12),
    ) {
        let id = parent().id();
        let mut applied = HashSet::new();
        let mut items = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let labels = if labelled_mask[i] { json!({PART_OF: id}) } else { json!({}) };
            let item = listed(("", "ConfigMap"), Some("shop"), n, labels, json!(null));
            if applied_mask[i] {
                applied.insert(item.0.clone());
            }
            items.push(item);
        }
        let expect: BTreeSet<String> = names.iter().enumerate()
            .filter(|(i, n)| labelled_mask[*i] && !names.iter().enumerate().any(|(j, m)| applied_mask[j] && m == *n))
            .map(|(_, n)| n.clone())
            .collect();
        let (delete, _) = prune(&applied, &parent(), None, items);
        let got: BTreeSet<String> = delete.iter().map(|r| r.name.clone()).collect();
        prop_assert_eq!(got, expect);
    }

    #[test]
    fn group_kinds_print_and_parse_back(kind in "[A-Z][a-zA-Z0-9]{0,12}", group in "([a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,2})?") {
        let gk = GroupKind::new(&group, &kind);
        prop_assert_eq!(GroupKind::parse(&gk.to_string()), Some(gk));
    }
}

fn arb_object() -> impl Strategy<Value = Value> {
    let api = prop_oneof![
        Just("v1"),
        Just("apps/v1"),
        Just("example.com/v1"),
        Just("apiextensions.k8s.io/v1"),
        Just(""),
    ];
    let kind = prop_oneof![
        Just("Namespace"),
        Just("ConfigMap"),
        Just("Service"),
        Just("Deployment"),
        Just("CustomResourceDefinition"),
        Just("Widget"),
        Just(""),
    ];
    let meta = prop_oneof![
        (
            "[a-c]{0,2}",
            proptest::option::of("[a-c]{0,2}"),
            any::<bool>()
        )
            .prop_map(|(name, ns, labelled)| {
                let mut m = json!({"name": name});
                if let Some(ns) = ns {
                    m["namespace"] = json!(ns);
                }
                if labelled {
                    m["labels"] = json!({"app": "x"});
                }
                m
            }),
        Just(json!("not a mapping")),
        Just(json!({"name": "a", "labels": ["not", "a", "mapping"]})),
        Just(json!({"name": 7})),
    ];
    (api, kind, meta).prop_map(|(a, k, m)| json!({"apiVersion": a, "kind": k, "metadata": m}))
}

proptest! {
    #[test]
    fn any_render_is_planned_or_refused_never_a_panic_and_plans_keep_their_promises(
        objects in proptest::collection::vec(arb_object(), 0..10)
    ) {
        if let Ok(p) = run(&objects) {
            let phases: Vec<u8> = p.members.iter().map(|m| m.obj_ref.gk.phase()).collect();
            prop_assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{:?}", phases);
            let mut seen = HashSet::new();
            let id = parent().id();
            for m in &p.members {
                prop_assert_eq!(m.body["metadata"]["labels"][PART_OF].as_str(), Some(id.as_str()));
                prop_assert_eq!(m.obj_ref.namespace.is_some(), m.served.namespaced);
                prop_assert!(seen.insert(m.obj_ref.clone()));
                prop_assert!(p.set.group_kinds.contains(&m.obj_ref.gk));
            }
            prop_assert_eq!(p.members.len(), objects.len());
        }
    }
}
