//! A Kubernetes API server stand-in for `warden-agent`'s tests and the demo: an HTTP server on
//! loopback that answers the calls the agent makes, the way the API server documents them.
//!
//! - discovery: `/api`, `/api/v1`, `/apis/{group}`, `/apis/{group}/{version}` (built-in kinds,
//!   and the kinds of every established CRD);
//! - objects under `/api/v1/...` and `/apis/{group}/{version}/...`: get, list (with equality,
//!   inequality and existence label selectors), delete, merge patch
//!   (`application/merge-patch+json`) and server-side apply (`application/apply-patch+yaml`,
//!   which needs `fieldManager`; a field another manager applied with a different value is a
//!   409 conflict unless `force=true`; a field a manager stops applying is removed);
//! - namespaced objects need their namespace to exist (404 otherwise); a CRD becomes
//!   `Established` (and its kinds served) after it has been read once; custom resources of a
//!   kind not yet served are 404;
//! - a stand-in controller rolls Deployments, StatefulSets and DaemonSets out one read after
//!   each change of their spec, unless a test stalls or fails them.
//!
//! What it does not model: watches, finalizers and namespace termination (deleting a namespace
//! deletes its objects at once), admission, validation of object schemas, authentication.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A kind the fake serves.
#[derive(Debug, Clone)]
struct Served {
    plural: String,
    kind: String,
    namespaced: bool,
    builtin: bool,
}

/// One stored object.
#[derive(Debug, Clone)]
struct Stored {
    /// What writes other than apply made (creation by a test, merge patches).
    base: Value,
    /// Each field manager's last applied configuration, in the order they first applied.
    applied: Vec<(String, Value)>,
    /// The object as served: base, then every manager's configuration, plus metadata and
    /// status.
    live: Value,
    /// Reads until the stand-in controller catches up with the spec (workloads) or the CRD
    /// is established.
    lag: u32,
}

/// (group, plural, namespace or "", name).
type Key = (String, String, String, String);

/// One request as received.
#[derive(Debug, Clone)]
pub struct KubeRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Option<Value>,
    pub status: u16,
}

#[derive(Default)]
struct KState {
    /// group-version ("v1", "apps/v1") to its kinds.
    served: BTreeMap<String, Vec<Served>>,
    objects: BTreeMap<Key, Stored>,
    requests: Vec<KubeRequest>,
    stalled: HashSet<(String, String, String)>,
    failing: HashSet<(String, String, String)>,
    next_uid: u64,
    resource_version: u64,
}

/// The fake API server.
#[derive(Clone)]
pub struct KubeSim {
    state: Arc<Mutex<KState>>,
    url: String,
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn builtin_kinds() -> Vec<(&'static str, &'static str, &'static str, bool)> {
    // (group-version, plural, kind, namespaced)
    vec![
        ("v1", "namespaces", "Namespace", false),
        ("v1", "configmaps", "ConfigMap", true),
        ("v1", "secrets", "Secret", true),
        ("v1", "services", "Service", true),
        ("v1", "serviceaccounts", "ServiceAccount", true),
        ("v1", "pods", "Pod", true),
        (
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            true,
        ),
        ("v1", "persistentvolumes", "PersistentVolume", false),
        ("v1", "limitranges", "LimitRange", true),
        ("v1", "resourcequotas", "ResourceQuota", true),
        ("apps/v1", "deployments", "Deployment", true),
        ("apps/v1", "statefulsets", "StatefulSet", true),
        ("apps/v1", "daemonsets", "DaemonSet", true),
        ("apps/v1", "replicasets", "ReplicaSet", true),
        ("batch/v1", "jobs", "Job", true),
        ("batch/v1", "cronjobs", "CronJob", true),
        ("networking.k8s.io/v1", "ingresses", "Ingress", true),
        (
            "networking.k8s.io/v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
        ),
        (
            "policy/v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
        ),
        (
            "autoscaling/v2",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            true,
        ),
        ("rbac.authorization.k8s.io/v1", "roles", "Role", true),
        (
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            "RoleBinding",
            true,
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "clusterroles",
            "ClusterRole",
            false,
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
        ),
        (
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
        ),
    ]
}

fn group_of(gv: &str) -> &str {
    gv.rsplit_once('/').map_or("", |(g, _)| g)
}

fn status(code: u16, reason: &str, message: String) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn not_found_resource() -> (u16, Value) {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource".into(),
    )
}

/// The leaf paths a configuration sets, with their values (lists are leaves, as in an
/// atomic list; keyed lists are not modelled).
fn leaves(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match v {
        // An empty mapping sets no field.
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(k.clone());
                leaves(x, prefix, out);
                prefix.pop();
            }
        }
        other => out.push((prefix.clone(), other.clone())),
    }
}

fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, init)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for k in init {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("an object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Parse `a=b,c!=d,e` (the forms the agent and kubectl send).
fn selector_matches(selector: &str, labels: &Value) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                labels[k.trim()].as_str() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                labels[k.trim()].as_str() == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                labels.get(k.trim()).is_none()
            } else {
                labels.get(term).is_some()
            }
        })
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| super::api::decode(&v.replace('+', " ")))
    })
}

impl KState {
    fn find(&self, gv: &str, plural: &str) -> Option<Served> {
        self.served
            .get(gv)?
            .iter()
            .find(|s| s.plural == plural)
            .cloned()
    }

    fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// Rebuild what is served from base and the managers' configurations.
    fn compose(&mut self, key: &Key, gv: &str, kind: &str) {
        let rv = self.next_rv();
        let has_uid = self.objects[key].live["metadata"].get("uid").is_some();
        if !has_uid {
            self.next_uid += 1;
        }
        let uid = format!("00000000-0000-4000-8000-{:012}", self.next_uid);
        let stored = self.objects.get_mut(key).expect("the object");
        let old = stored.live.clone();
        let mut live = stored.base.clone();
        for (_, cfg) in &stored.applied {
            merge(&mut live, cfg);
        }
        live["apiVersion"] = json!(gv);
        live["kind"] = json!(kind);
        if !live["metadata"].is_object() {
            live["metadata"] = serde_json::json!({});
        }
        let meta = live["metadata"].as_object_mut().expect("metadata");
        let old_meta = &old["metadata"];
        meta.insert("name".into(), json!(key.3));
        if key.2.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), json!(key.2));
        }
        meta.insert(
            "uid".into(),
            old_meta.get("uid").cloned().unwrap_or(json!(uid)),
        );
        meta.insert(
            "creationTimestamp".into(),
            old_meta
                .get("creationTimestamp")
                .cloned()
                .unwrap_or(json!("2026-01-01T00:00:00Z")),
        );
        meta.insert("resourceVersion".into(), json!(rv));
        let generation = old_meta["generation"].as_i64().unwrap_or(0);
        let changed = old.get("spec") != live.get("spec") || generation == 0;
        let meta = live["metadata"].as_object_mut().expect("metadata");
        let generation = if changed { generation + 1 } else { generation };
        meta.insert("generation".into(), json!(generation));
        let managers: Vec<Value> = stored
            .applied
            .iter()
            .map(|(m, _)| {
                json!({"manager": m, "operation": "Apply", "apiVersion": gv,
                       "fieldsType": "FieldsV1", "time": "2026-01-01T00:00:00Z"})
            })
            .collect();
        if !managers.is_empty() {
            meta.insert("managedFields".into(), Value::Array(managers));
        }
        match old.get("status") {
            Some(s) => {
                live["status"] = s.clone();
            }
            None => {
                if let Some(s) = stored.base.get("status") {
                    live["status"] = s.clone();
                } else if let Some(m) = live.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if kind == "Namespace" {
            live["status"] = json!({"phase": "Active"});
        }
        if changed && (key.0 == "apps" || key.0 == "apiextensions.k8s.io") {
            stored.lag = 1;
        }
        stored.live = live;
    }

    /// The stand-in controllers, on each read of the object itself (a list shows the object
    /// as it is, and does not count as the read the controller lags by).
    fn reconcile(&mut self, key: &Key) {
        self.reconcile_with(key, true);
    }

    fn reconcile_with(&mut self, key: &Key, counts: bool) {
        let wkey = (key.1.clone(), key.2.clone(), key.3.clone());
        let stalled = self.stalled.contains(&wkey);
        let failing = self.failing.contains(&wkey);
        let Some(stored) = self.objects.get_mut(key) else {
            return;
        };
        if key.0 == "apps" && failing {
            let gen_ = stored.live["metadata"]["generation"].clone();
            stored.live["status"] = json!({
                "observedGeneration": gen_, "replicas": 1, "updatedReplicas": 0,
                "conditions": [{"type": "Progressing", "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": format!("ReplicaSet \"{}-7d9f\" has timed out progressing.", key.3)}]
            });
            return;
        }
        if stalled {
            return;
        }
        if stored.lag > 0 {
            if counts {
                stored.lag -= 1;
            }
            return;
        }
        let live = &mut stored.live;
        let generation = live["metadata"]["generation"].clone();
        let replicas = live["spec"]["replicas"].as_i64().unwrap_or(1);
        match (key.0.as_str(), key.1.as_str()) {
            ("apps", "deployments") => {
                live["status"] = json!({
                    "observedGeneration": generation, "replicas": replicas,
                    "updatedReplicas": replicas, "readyReplicas": replicas,
                    "availableReplicas": replicas,
                    "conditions": [{"type": "Available", "status": "True"},
                        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]
                });
            }
            ("apps", "statefulsets") => {
                let rev = format!("{}-{}", key.3, generation);
                live["status"] = json!({
                    "observedGeneration": generation, "replicas": replicas,
                    "readyReplicas": replicas, "updatedReplicas": replicas,
                    "currentRevision": rev, "updateRevision": rev
                });
            }
            ("apps", "daemonsets") => {
                live["status"] = json!({
                    "observedGeneration": generation, "desiredNumberScheduled": 3,
                    "currentNumberScheduled": 3, "updatedNumberScheduled": 3,
                    "numberAvailable": 3, "numberReady": 3
                });
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                live["status"] = json!({"conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}
                ]});
                let spec = live["spec"].clone();
                self.serve_crd(&spec);
            }
            _ => {}
        }
    }

    fn serve_crd(&mut self, spec: &Value) {
        let group = spec["group"].as_str().unwrap_or_default();
        let plural = spec["names"]["plural"].as_str().unwrap_or_default();
        let kind = spec["names"]["kind"].as_str().unwrap_or_default();
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        for v in spec["versions"].as_array().into_iter().flatten() {
            if v["served"].as_bool() == Some(false) {
                continue;
            }
            let gv = format!("{group}/{}", v["name"].as_str().unwrap_or_default());
            let kinds = self.served.entry(gv).or_default();
            if !kinds.iter().any(|s| s.plural == plural) {
                kinds.push(Served {
                    plural: plural.into(),
                    kind: kind.into(),
                    namespaced,
                    builtin: false,
                });
            }
        }
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.objects.contains_key(&(
            String::new(),
            "namespaces".into(),
            String::new(),
            ns.to_string(),
        ))
    }

    fn delete(&mut self, key: &Key) {
        let Some(gone) = self.objects.remove(key) else {
            return;
        };
        if key.0.is_empty() && key.1 == "namespaces" {
            self.objects.retain(|k, _| k.2 != key.3);
        }
        if key.1 == "customresourcedefinitions" {
            let spec = &gone.live["spec"];
            let group = spec["group"].as_str().unwrap_or_default().to_string();
            let plural = spec["names"]["plural"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.objects.retain(|k, _| !(k.0 == group && k.1 == plural));
            for (gv, kinds) in self.served.iter_mut() {
                if group_of(gv) == group {
                    kinds.retain(|s| s.plural != plural);
                }
            }
            self.served.retain(|_, kinds| !kinds.is_empty());
        }
    }
}

impl KubeSim {
    /// Start on loopback.
    pub async fn start() -> std::io::Result<KubeSim> {
        let mut st = KState::default();
        for (gv, plural, kind, namespaced) in builtin_kinds() {
            st.served.entry(gv.to_string()).or_default().push(Served {
                plural: plural.into(),
                kind: kind.into(),
                namespaced,
                builtin: true,
            });
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let sim = KubeSim {
            state: Arc::new(Mutex::new(st)),
            url,
        };
        for ns in ["default", "kube-system"] {
            sim.insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        }
        let app = axum::Router::new().fallback(handle).with_state(sim.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(sim)
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// A client for this server (no authentication).
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("a loopback URL"));
        kube::Client::try_from(config).expect("a client for the fake")
    }

    fn lock(&self) -> MutexGuard<'_, KState> {
        self.state.lock().expect("kube sim lock")
    }

    /// Create an object as another writer would (no field manager); a CRD is established and
    /// served at once.
    pub fn insert(&self, obj: Value) {
        let mut st = self.lock();
        let gv = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let served = st
            .served
            .get(&gv)
            .and_then(|k| k.iter().find(|s| s.kind == kind).cloned())
            .unwrap_or_else(|| panic!("the fake does not serve {kind} in {gv}"));
        let key = (
            group_of(&gv).to_string(),
            served.plural.clone(),
            if served.namespaced {
                obj["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string()
            } else {
                String::new()
            },
            obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        st.objects.insert(
            key.clone(),
            Stored {
                base: obj.clone(),
                applied: Vec::new(),
                live: Value::Null,
                lag: 0,
            },
        );
        st.compose(&key, &gv, &kind);
        if kind == "CustomResourceDefinition" {
            st.objects.get_mut(&key).expect("the CRD").lag = 0;
            st.reconcile(&key);
        }
    }

    /// The object as served (group, plural, namespace or "", name).
    pub fn get(&self, group: &str, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(group.into(), plural.into(), namespace.into(), name.into()))
            .map(|s| s.live.clone())
    }

    /// Every stored object's (group, plural, namespace, name).
    pub fn keys(&self) -> Vec<(String, String, String, String)> {
        self.lock().objects.keys().cloned().collect()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<KubeRequest> {
        self.lock().requests.clone()
    }

    /// Keep this workload (plural, namespace, name) from ever rolling out.
    pub fn stall(&self, plural: &str, namespace: &str, name: &str) {
        self.lock()
            .stalled
            .insert((plural.into(), namespace.into(), name.into()));
    }

    /// Make this Deployment report that its progress deadline passed.
    pub fn fail_rollout(&self, plural: &str, namespace: &str, name: &str) {
        self.lock()
            .failing
            .insert((plural.into(), namespace.into(), name.into()));
    }
}

/// Where a request points.
struct Target {
    gv: String,
    served: Served,
    namespace: Option<String>,
    name: Option<String>,
}

fn discovery(st: &KState, path: &str) -> Option<(u16, Value)> {
    let resource_list = |gv: &str| {
        st.served.get(gv).map(|kinds| {
            let mut resources = Vec::new();
            for s in kinds {
                resources.push(json!({"name": s.plural, "singularName": s.kind.to_lowercase(),
                    "namespaced": s.namespaced, "kind": s.kind, "verbs": VERBS}));
                if s.builtin && s.plural == "deployments" {
                    resources.push(json!({"name": "deployments/status", "singularName": "",
                        "namespaced": true, "kind": "Deployment", "verbs": ["get", "patch", "update"]}));
                }
            }
            (
                200,
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                       "resources": resources}),
            )
        })
    };
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api"] => Some((
            200,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        )),
        ["api", "v1"] => resource_list("v1"),
        ["apis", group] => {
            let versions: Vec<Value> = st
                .served
                .keys()
                .filter(|gv| group_of(gv) == *group)
                .map(|gv| json!({"groupVersion": gv, "version": gv.rsplit('/').next()}))
                .collect();
            if versions.is_empty() {
                return Some(not_found_resource());
            }
            Some((
                200,
                json!({"kind": "APIGroup", "apiVersion": "v1", "name": group,
                       "versions": versions, "preferredVersion": versions[0]}),
            ))
        }
        ["apis", group, version] => {
            Some(resource_list(&format!("{group}/{version}")).unwrap_or_else(not_found_resource))
        }
        _ => None,
    }
}

fn target(st: &KState, path: &str) -> Result<Target, (u16, Value)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (gv, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => ("v1".to_string(), rest),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
        _ => return Err(not_found_resource()),
    };
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return Err(not_found_resource()),
    };
    let served = st.find(&gv, plural).ok_or_else(not_found_resource)?;
    if namespace.is_some() && !served.namespaced {
        return Err(not_found_resource());
    }
    Ok(Target {
        gv,
        served,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
    })
}

fn answer(
    st: &mut KState,
    method: &Method,
    path: &str,
    query: &str,
    ctype: &str,
    body: &Bytes,
) -> (u16, Value) {
    if method == Method::GET
        && let Some(a) = discovery(st, path)
    {
        return a;
    }
    let t = match target(st, path) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let group = group_of(&t.gv).to_string();
    let what = if group.is_empty() {
        t.served.plural.clone()
    } else {
        format!("{}.{group}", t.served.plural)
    };
    let ns = t.namespace.clone().unwrap_or_default();
    let Some(name) = t.name.clone() else {
        if method != Method::GET {
            return status(405, "MethodNotAllowed", "the fake lists only".into());
        }
        // List: one namespace, or all of them for a namespaced kind without one.
        let selector = query_param(query, "labelSelector").unwrap_or_default();
        let keys: Vec<Key> = st
            .objects
            .keys()
            .filter(|k| {
                k.0 == group && k.1 == t.served.plural && (t.namespace.is_none() || k.2 == ns)
            })
            .cloned()
            .collect();
        let mut items = Vec::new();
        for k in keys {
            st.reconcile_with(&k, false);
            let live = st.objects[&k].live.clone();
            if !selector_matches(&selector, &live["metadata"]["labels"]) {
                continue;
            }
            let mut item = live;
            if t.served.builtin
                && let Some(m) = item.as_object_mut()
            {
                // Built-in lists leave out each item's apiVersion and kind.
                m.remove("apiVersion");
                m.remove("kind");
            }
            items.push(item);
        }
        let rv = st.resource_version.to_string();
        return (
            200,
            json!({"kind": format!("{}List", t.served.kind), "apiVersion": t.gv,
                   "metadata": {"resourceVersion": rv}, "items": items}),
        );
    };
    let key: Key = (
        group.clone(),
        t.served.plural.clone(),
        ns.clone(),
        name.clone(),
    );
    let missing = || {
        let mut s = status(404, "NotFound", format!("{what} \"{name}\" not found"));
        s.1["details"] = json!({"name": name, "group": group, "kind": t.served.plural});
        s
    };
    match method.as_str() {
        "GET" => {
            st.reconcile(&key);
            match st.objects.get(&key) {
                Some(o) => (200, o.live.clone()),
                None => missing(),
            }
        }
        "DELETE" => {
            if !st.objects.contains_key(&key) {
                return missing();
            }
            st.delete(&key);
            (
                200,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                       "details": {"name": name, "group": group, "kind": t.served.plural}}),
            )
        }
        "PATCH" => {
            let Ok(patch) = serde_json::from_slice::<Value>(body) else {
                return status(400, "BadRequest", "the body is not JSON or YAML".into());
            };
            if t.served.namespaced && !st.namespace_exists(&ns) {
                return status(404, "NotFound", format!("namespaces \"{ns}\" not found"));
            }
            match ctype {
                "application/merge-patch+json" => {
                    let Some(stored) = st.objects.get_mut(&key) else {
                        return missing();
                    };
                    merge(&mut stored.base, &patch);
                    st.compose(&key, &t.gv, &t.served.kind);
                    (200, st.objects[&key].live.clone())
                }
                "application/apply-patch+yaml" => apply(st, &t, &key, query, patch),
                other => status(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"
                    ),
                ),
            }
        }
        _ => status(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported"),
        ),
    }
}

fn apply(st: &mut KState, t: &Target, key: &Key, query: &str, patch: Value) -> (u16, Value) {
    let Some(manager) = query_param(query, "fieldManager").filter(|m| !m.is_empty()) else {
        return status(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into(),
        );
    };
    let force = query_param(query, "force").as_deref() == Some("true");
    if patch["apiVersion"].as_str() != Some(t.gv.as_str())
        || patch["kind"].as_str() != Some(t.served.kind.as_str())
    {
        return status(
            400,
            "BadRequest",
            format!(
                "the apiVersion and kind of the object ({} {}) do not match the request ({} {})",
                patch["apiVersion"], patch["kind"], t.gv, t.served.kind
            ),
        );
    }
    if patch["metadata"]["name"].as_str() != Some(key.3.as_str()) {
        return status(
            400,
            "BadRequest",
            "the name of the object does not match the name on the URL".into(),
        );
    }
    if let Some(ns) = patch["metadata"]["namespace"].as_str()
        && ns != key.2
    {
        return status(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        );
    }
    let mut cfg = patch;
    if let Some(m) = cfg.as_object_mut() {
        m.remove("status");
    }
    let mut mine = Vec::new();
    leaves(&cfg, &mut Vec::new(), &mut mine);
    let created = !st.objects.contains_key(key);
    if let Some(stored) = st.objects.get_mut(key) {
        // Conflicts: a field another manager applied, set here to a different value.
        let mut conflicts = Vec::new();
        for (other, theirs) in &stored.applied {
            if *other == manager {
                continue;
            }
            for (path, value) in &mine {
                if path
                    .first()
                    .is_some_and(|p| p == "apiVersion" || p == "kind")
                {
                    continue;
                }
                if let Some(v) = get_path(theirs, path)
                    && v != value
                {
                    conflicts.push((other.clone(), path.clone()));
                }
            }
        }
        if !conflicts.is_empty() && !force {
            let list: Vec<String> = conflicts
                .iter()
                .map(|(m, p)| format!("conflict with \"{m}\": .{}", p.join(".")))
                .collect();
            return status(
                409,
                "Conflict",
                format!(
                    "Apply failed with {} conflicts: {}",
                    list.len(),
                    list.join("\n")
                ),
            );
        }
        for (other, path) in conflicts {
            if let Some((_, theirs)) = stored.applied.iter_mut().find(|(m, _)| *m == other) {
                remove_path(theirs, &path);
            }
        }
        match stored.applied.iter_mut().find(|(m, _)| *m == manager) {
            Some((_, old)) => *old = cfg,
            None => stored.applied.push((manager, cfg)),
        }
    } else {
        st.objects.insert(
            key.clone(),
            Stored {
                base: json!({"metadata": {}}),
                applied: vec![(manager, cfg)],
                live: Value::Null,
                lag: 0,
            },
        );
    }
    st.compose(key, &t.gv, &t.served.kind);
    (
        if created { 201 } else { 200 },
        st.objects[key].live.clone(),
    )
}

async fn handle(
    AxState(sim): AxState<KubeSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let mut st = sim.lock();
    let (code, value) = answer(&mut st, &method, &path, &query, &ctype, &body);
    st.requests.push(KubeRequest {
        method: method.to_string(),
        path,
        query,
        content_type: ctype,
        body: serde_json::from_slice(&body).ok(),
        status: code,
    });
    drop(st);
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        axum::Json(value),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_as_kubernetes_reads_them() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(selector_matches("app=web", &labels));
        assert!(selector_matches("app==web,tier", &labels));
        assert!(selector_matches("app!=db,!missing", &labels));
        assert!(!selector_matches("app=db", &labels));
        assert!(!selector_matches("tier,app!=web", &labels));
        assert!(!selector_matches("missing", &labels));
        assert!(selector_matches("", &labels));
    }

    #[test]
    fn a_field_a_manager_stops_applying_is_gone_and_others_stay() {
        let mut st = KState::default();
        st.served.insert(
            "v1".into(),
            vec![Served {
                plural: "configmaps".into(),
                kind: "ConfigMap".into(),
                namespaced: true,
                builtin: true,
            }],
        );
        st.objects.insert(
            (
                String::new(),
                "namespaces".into(),
                String::new(),
                "default".into(),
            ),
            Stored {
                base: json!({"metadata": {"name": "default"}}),
                applied: vec![],
                live: json!({}),
                lag: 0,
            },
        );
        let t = target(&st, "/api/v1/namespaces/default/configmaps/c").unwrap();
        let key: Key = (
            String::new(),
            "configmaps".into(),
            "default".into(),
            "c".into(),
        );
        let cm = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data});
        let q = "fieldManager=a&force=true";
        assert_eq!(
            apply(&mut st, &t, &key, q, cm(json!({"x": "1", "y": "2"}))).0,
            201
        );
        assert_eq!(
            apply(&mut st, &t, &key, "fieldManager=b", cm(json!({"z": "3"}))).0,
            200
        );
        assert_eq!(apply(&mut st, &t, &key, q, cm(json!({"x": "1"}))).0, 200);
        assert_eq!(st.objects[&key].live["data"], json!({"x": "1", "z": "3"}));
        // b setting a's field to another value conflicts, unless forced.
        assert_eq!(
            apply(&mut st, &t, &key, "fieldManager=b", cm(json!({"x": "9"}))).0,
            409
        );
        assert_eq!(
            apply(&mut st, &t, &key, "fieldManager=a", cm(json!({}))).0,
            200
        );
        assert_eq!(
            apply(&mut st, &t, &key, "", cm(json!({}))).0,
            422,
            "apply needs a field manager"
        );
    }
}
