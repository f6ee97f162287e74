//! The `apply` mode: the agent applies the rendered objects itself, with server-side apply
//! (field manager `warden-agent`), keeps what it applied as a Kubernetes ApplySet (a parent
//! ConfigMap, the `applyset.kubernetes.io/part-of` label on every member), prunes members that
//! are no longer rendered and waits for rollouts. The steps follow `kubectl apply --prune
//! --applyset`:
//!
//! 1. the parent is written with the union of the group-kinds and namespaces it covered and
//!    will cover, so an interrupted deploy never loses track of an object;
//! 2. CRDs are applied first and waited for (Established), then Namespaces, then the rest;
//! 3. objects listed with the set's label and not applied this time are deleted (CRDs last);
//! 4. the parent is written with what the set covers now and the deployed commit;
//! 5. Deployments, StatefulSets and DaemonSets are waited for until rolled out.
//!
//! The decisions are in [`plan`] and [`health`] (pure); this file only talks to the API server.

pub mod health;
pub mod plan;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroup, APIResourceList};
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::Value;
use tokio::sync::Mutex;

use super::{AgentError, Deployer};
use crate::github::ids::Sha;
use crate::kustomize::Rendered;
use crate::manifest::Gvk;
use health::Health;
use plan::{GroupKind, Member, ObjRef, PART_OF, Parent, Plan, Recorded, Served, SetState};

/// How `apply` mode runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The ApplySet's parent ConfigMap.
    pub parent: Parent,
    /// Where objects of namespaced kinds without a namespace go.
    pub default_namespace: String,
    /// How long CRDs and rollouts may take, in all.
    pub rollout_timeout: Duration,
    /// How often to look again while waiting.
    pub poll: Duration,
}

/// Applies renders to one cluster.
pub struct Applier {
    client: Client,
    opts: ApplyOptions,
    tooling: String,
    /// One deploy at a time (the ApplySet steps must not interleave).
    busy: Mutex<()>,
}

/// Discovery answers for one deploy: group-version to the resources it serves (None: the
/// cluster does not serve that group-version).
#[derive(Default)]
struct Discovered {
    lists: HashMap<String, Option<APIResourceList>>,
    preferred: HashMap<String, Option<String>>,
}

fn status_of(e: &kube::Error) -> Option<&kube::core::Status> {
    match e {
        kube::Error::Api(s) => Some(s),
        _ => None,
    }
}

fn not_found(e: &kube::Error) -> bool {
    status_of(e).is_some_and(|s| s.code == 404)
}

/// An API error as the agent reports it: a refusal the same commit would meet again (bad
/// object, unknown kind, conflict) fails the commit; anything else (5xx, throttling, a broken
/// connection, a permission an admin can grant) is tried again on the next pass.
fn api_error(doing: String, e: kube::Error) -> AgentError {
    match status_of(&e) {
        Some(s) if (400..500).contains(&s.code) && !matches!(s.code, 401 | 403 | 429) => {
            AgentError::Rejected(format!("{doing}: {} ({})", s.message, s.code))
        }
        Some(s) => AgentError::Deploy(format!("{doing}: {} ({})", s.message, s.code)),
        None => AgentError::Deploy(format!("{doing}: {e}")),
    }
}

fn resource(gvk: &Gvk, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&gvk.group, &gvk.version, &gvk.kind),
        plural,
    )
}

impl Applier {
    pub fn new(client: Client, opts: ApplyOptions) -> Applier {
        Applier {
            client,
            opts,
            tooling: format!("{}/v{}", plan::TOOL, env!("CARGO_PKG_VERSION")),
            busy: Mutex::new(()),
        }
    }

    fn api(&self, gvk: &Gvk, served: &Served, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = resource(gvk, &served.plural);
        match namespace {
            Some(ns) if served.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    fn parent_api(&self) -> Api<DynamicObject> {
        self.api(
            &Gvk::from_api_version("v1", "ConfigMap"),
            &Served {
                plural: "configmaps".into(),
                namespaced: true,
            },
            Some(&self.opts.parent.namespace),
        )
    }

    /// The parent as it is in the cluster (None before the first deploy).
    async fn recorded(&self) -> Result<Option<Recorded>, AgentError> {
        let parent = &self.opts.parent;
        match self.parent_api().get(&parent.name).await {
            Ok(obj) => {
                let live = serde_json::to_value(&obj)
                    .map_err(|e| AgentError::State(format!("{parent}: {e}")))?;
                plan::read_parent(parent, &live)
                    .map(Some)
                    .map_err(|e| AgentError::State(e.to_string()))
            }
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(api_error(format!("reading {parent}"), e)),
        }
    }

    /// Write the parent; its uid.
    async fn write_parent(
        &self,
        set: &SetState,
        commit: Option<&str>,
    ) -> Result<Option<String>, AgentError> {
        let parent = &self.opts.parent;
        let body = parent.body(set, commit, &self.tooling);
        let written = self
            .parent_api()
            .patch(
                &parent.name,
                &PatchParams::apply(plan::FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|e| api_error(format!("writing the inventory {parent}"), e))?;
        Ok(written.metadata.uid)
    }

    /// How the cluster serves a kind, by discovery (`/api/v1`, `/apis/{group}/{version}`).
    async fn discover(&self, d: &mut Discovered, gvk: &Gvk) -> Result<Option<Served>, AgentError> {
        let gv = gvk.api_version();
        if !d.lists.contains_key(&gv) {
            let list = if gvk.group.is_empty() {
                self.client.list_core_api_resources(&gvk.version).await
            } else {
                self.client.list_api_group_resources(&gv).await
            };
            let list = match list {
                Ok(l) => Some(l),
                Err(e) if not_found(&e) => None,
                Err(e) => return Err(api_error(format!("discovering {gv}"), e)),
            };
            d.lists.insert(gv.clone(), list);
        }
        Ok(d.lists[&gv].as_ref().and_then(|l| {
            l.resources
                .iter()
                .find(|r| r.kind == gvk.kind && !r.name.contains('/'))
                .map(|r| Served {
                    plural: r.name.clone(),
                    namespaced: r.namespaced,
                })
        }))
    }

    /// A version the cluster serves a group-kind in (its group's preferred one), for kinds
    /// the set covered before but the render no longer has.
    async fn discover_gk(
        &self,
        d: &mut Discovered,
        gk: &GroupKind,
    ) -> Result<Option<(Gvk, Served)>, AgentError> {
        let version = if gk.group.is_empty() {
            Some("v1".to_string())
        } else {
            if !d.preferred.contains_key(&gk.group) {
                let req = http::Request::get(format!("/apis/{}", gk.group))
                    .body(Vec::new())
                    .map_err(|e| AgentError::Deploy(e.to_string()))?;
                let v = match self.client.request::<APIGroup>(req).await {
                    Ok(g) => g
                        .preferred_version
                        .or_else(|| g.versions.first().cloned())
                        .map(|v| v.version),
                    Err(e) if not_found(&e) => None,
                    Err(e) => {
                        return Err(api_error(format!("discovering group {}", gk.group), e));
                    }
                };
                d.preferred.insert(gk.group.clone(), v);
            }
            d.preferred[&gk.group].clone()
        };
        let Some(version) = version else {
            return Ok(None);
        };
        let gvk = Gvk {
            group: gk.group.clone(),
            version,
            kind: gk.kind.clone(),
        };
        Ok(self.discover(d, &gvk).await?.map(|s| (gvk, s)))
    }

    async fn make_plan(&self, d: &mut Discovered, rendered: &Rendered) -> Result<Plan, AgentError> {
        let values: Vec<(Value, crate::manifest::Origin)> = rendered
            .resources
            .iter()
            .map(|r| (Value::Object(r.obj.clone()), r.origin.clone()))
            .collect();
        let objects: Vec<(&Value, &crate::manifest::Origin)> =
            values.iter().map(|(v, o)| (v, o)).collect();
        let from_crds = plan::served_by_crds(&objects);
        let mut served: HashMap<Gvk, Option<Served>> = HashMap::new();
        for (obj, _) in &objects {
            let gvk = Gvk::from_api_version(
                obj["apiVersion"].as_str().unwrap_or_default(),
                obj["kind"].as_str().unwrap_or_default(),
            );
            if gvk.kind.is_empty() || gvk.version.is_empty() || served.contains_key(&gvk) {
                continue;
            }
            let key = (gvk.group.clone(), gvk.version.clone(), gvk.kind.clone());
            let s = match from_crds.get(&key) {
                Some(s) => Some(s.clone()),
                None => self.discover(d, &gvk).await?,
            };
            served.insert(gvk, s);
        }
        plan::plan(
            &self.opts.parent,
            &objects,
            &|g| served.get(g).cloned().flatten(),
            &self.opts.default_namespace,
        )
        .map_err(|e| AgentError::Rejected(e.to_string()))
    }

    async fn apply_member(&self, m: &Member) -> Result<(), AgentError> {
        self.api(&m.gvk, &m.served, m.obj_ref.namespace.as_deref())
            .patch(
                &m.obj_ref.name,
                &PatchParams::apply(plan::FIELD_MANAGER).force(),
                &Patch::Apply(&m.body),
            )
            .await
            .map_err(|e| api_error(format!("applying {} ({})", m.obj_ref, m.origin), e))?;
        Ok(())
    }

    async fn get_member(&self, m: &Member) -> Result<Value, AgentError> {
        let obj = self
            .api(&m.gvk, &m.served, m.obj_ref.namespace.as_deref())
            .get(&m.obj_ref.name)
            .await
            .map_err(|e| api_error(format!("reading {}", m.obj_ref), e))?;
        serde_json::to_value(&obj).map_err(|e| AgentError::Deploy(format!("{}: {e}", m.obj_ref)))
    }

    /// Wait until each member is ready by `judge`, until `deadline`.
    async fn wait_for(
        &self,
        members: &[&Member],
        deadline: Instant,
        judge: &(dyn Fn(&Member, &Value) -> Option<Health> + Sync),
        waiting_for: &str,
    ) -> Result<(), AgentError> {
        let mut pending: Vec<&Member> = members.to_vec();
        loop {
            let mut still = Vec::new();
            let mut last = String::new();
            for m in pending {
                let live = self.get_member(m).await?;
                match judge(m, &live) {
                    None | Some(Health::Ready) => {}
                    Some(Health::Failed(why)) => {
                        return Err(AgentError::Unhealthy(format!("{}: {why}", m.obj_ref)));
                    }
                    Some(Health::Progressing(why)) => {
                        last = format!("{}: {why}", m.obj_ref);
                        still.push(m);
                    }
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AgentError::Unhealthy(format!(
                    "{waiting_for} not done after {}s ({} waiting; {last})",
                    self.opts.rollout_timeout.as_secs(),
                    still.len()
                )));
            }
            pending = still;
            tokio::time::sleep(self.opts.poll).await;
        }
    }

    /// List the set's members of every group-kind it covers, in every namespace it covers.
    async fn listed(
        &self,
        d: &mut Discovered,
        plan: &Plan,
        covered: &SetState,
    ) -> Result<Vec<(ObjRef, Value)>, AgentError> {
        let parent = &self.opts.parent;
        let selector = format!("{PART_OF}={}", parent.id());
        let mut namespaces: BTreeSet<String> = covered.namespaces.clone();
        namespaces.insert(parent.namespace.clone());
        let mut out = Vec::new();
        for gk in &covered.group_kinds {
            let found = match plan.members.iter().find(|m| &m.obj_ref.gk == gk) {
                Some(m) => Some((m.gvk.clone(), m.served.clone())),
                None => self.discover_gk(d, gk).await?,
            };
            let Some((gvk, served)) = found else {
                tracing::warn!(kind = %gk, "the cluster no longer serves this kind; nothing of it to prune");
                continue;
            };
            let scopes: Vec<Option<&str>> = if served.namespaced {
                namespaces.iter().map(|n| Some(n.as_str())).collect()
            } else {
                vec![None]
            };
            for ns in scopes {
                let list = match self
                    .api(&gvk, &served, ns)
                    .list(&ListParams::default().labels(&selector))
                    .await
                {
                    Ok(l) => l,
                    // A namespace the set covered may be gone already.
                    Err(e) if not_found(&e) => continue,
                    Err(e) => return Err(api_error(format!("listing {gk} to prune"), e)),
                };
                for item in list.items {
                    let name = item.metadata.name.clone().unwrap_or_default();
                    let r = ObjRef {
                        gk: gk.clone(),
                        namespace: served
                            .namespaced
                            .then(|| item.metadata.namespace.clone().unwrap_or_default()),
                        name,
                    };
                    let v = serde_json::to_value(&item)
                        .map_err(|e| AgentError::Deploy(format!("{r}: {e}")))?;
                    out.push((r, v));
                }
            }
        }
        Ok(out)
    }

    async fn delete(&self, d: &mut Discovered, plan: &Plan, r: &ObjRef) -> Result<(), AgentError> {
        let found = match plan.members.iter().find(|m| m.obj_ref.gk == r.gk) {
            Some(m) => Some((m.gvk.clone(), m.served.clone())),
            None => self.discover_gk(d, &r.gk).await?,
        };
        let Some((gvk, served)) = found else {
            return Ok(());
        };
        match self
            .api(&gvk, &served, r.namespace.as_deref())
            .delete(&r.name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            // Gone with its namespace, or by someone else's hand.
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(api_error(format!("pruning {r}"), e)),
        }
    }

    async fn deploy_locked(&self, sha: &Sha, rendered: &Rendered) -> Result<String, AgentError> {
        let mut d = Discovered::default();
        let recorded = self.recorded().await?.unwrap_or_default();
        let plan = self.make_plan(&mut d, rendered).await?;
        // 1. Cover the old and the new before touching anything.
        let covered = recorded.set.union(&plan.set);
        let uid = self
            .write_parent(&covered, recorded.commit.as_deref())
            .await?;
        // 2. CRDs (then wait for them), Namespaces, the rest.
        let deadline = Instant::now() + self.opts.rollout_timeout;
        let crds: Vec<&Member> = plan
            .members
            .iter()
            .filter(|m| m.obj_ref.gk.is_crd())
            .collect();
        for m in &crds {
            self.apply_member(m).await?;
        }
        if !crds.is_empty() {
            self.wait_for(&crds, deadline, &|_, live| Some(health::crd(live)), "CRDs")
                .await?;
        }
        for m in plan.members.iter().filter(|m| !m.obj_ref.gk.is_crd()) {
            self.apply_member(m).await?;
        }
        // 3. Prune.
        let listed = self.listed(&mut d, &plan, &covered).await?;
        let (delete, kept) = plan::prune(&plan.refs(), &self.opts.parent, uid.as_deref(), listed);
        for k in &kept {
            tracing::warn!(object = %k.obj_ref, reason = %k.why, "not pruned");
        }
        for r in &delete {
            self.delete(&mut d, &plan, r).await?;
            tracing::info!(object = %r, "pruned");
        }
        // 4. Record what the set covers now, and the commit.
        self.write_parent(&plan.set, Some(sha.as_str())).await?;
        // 5. Rollouts.
        let workloads: Vec<&Member> = plan
            .members
            .iter()
            .filter(|m| health::rolls_out(&m.obj_ref.gk))
            .collect();
        self.wait_for(
            &workloads,
            deadline,
            &|m, live| health::rollout(&m.obj_ref.gk, live),
            "rollouts",
        )
        .await?;
        let mut summary = format!(
            "applied {} objects, pruned {}",
            plan.members.len(),
            delete.len()
        );
        if !workloads.is_empty() {
            summary.push_str(&format!(", {} rolled out", workloads.len()));
        }
        if !kept.is_empty() {
            summary.push_str(&format!(", {} kept (owned elsewhere)", kept.len()));
        }
        Ok(summary)
    }
}

impl Deployer for Applier {
    async fn deployed(&self) -> Result<Option<Sha>, AgentError> {
        match self.recorded().await?.and_then(|r| r.commit) {
            None => Ok(None),
            Some(c) => Sha::parse(&c).map(Some).map_err(|e| {
                AgentError::State(format!(
                    "{} data.{}: {e}",
                    self.opts.parent,
                    plan::COMMIT_KEY
                ))
            }),
        }
    }

    async fn deploy(&self, sha: &Sha, rendered: &Rendered) -> Result<String, AgentError> {
        let _one = self.busy.lock().await;
        self.deploy_locked(sha, rendered).await
    }
}
