//! The `argocd` and `flux` modes: the agent does not apply anything itself; it pins the GitOps
//! controller already in the cluster to the approved commit. Argo CD: the `Application`'s
//! `spec.source.targetRevision` is set to the SHA and a sync of that revision is requested
//! (the `operation` field, as `argocd app sync` does). Flux: the `GitRepository`'s
//! `spec.ref.commit` is set to the SHA and a reconcile is requested
//! (`reconcile.fluxcd.io/requestedAt`, as `flux reconcile source git` does). What is deployed is
//! read back from the same field, so the cluster itself remembers it.

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use super::{AgentError, Deployer};
use crate::github::ids::Sha;
use crate::kustomize::Rendered;

/// Which controller object the agent pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    ArgoCd,
    Flux,
}

impl Controller {
    fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Controller::ArgoCd => ("argoproj.io", "v1alpha1", "Application", "applications"),
            Controller::Flux => (
                "source.toolkit.fluxcd.io",
                "v1",
                "GitRepository",
                "gitrepositories",
            ),
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }

    fn kind(self) -> &'static str {
        match self {
            Controller::ArgoCd => "Application",
            Controller::Flux => "GitRepository",
        }
    }
}

/// Pins one Argo CD `Application` or Flux `GitRepository`.
pub struct Pinner {
    api: Api<DynamicObject>,
    controller: Controller,
    namespace: String,
    name: String,
    /// Seconds since the epoch, for Flux's reconcile request (the clock is the caller's).
    now: fn() -> u64,
}

impl Pinner {
    pub fn new(
        client: Client,
        controller: Controller,
        namespace: &str,
        name: &str,
        now: fn() -> u64,
    ) -> Pinner {
        let ar = controller.resource();
        Pinner {
            api: Api::namespaced_with(client, namespace, &ar),
            controller,
            namespace: namespace.to_string(),
            name: name.to_string(),
            now,
        }
    }

    fn what(&self) -> String {
        format!(
            "{} {}/{}",
            self.controller.kind(),
            self.namespace,
            self.name
        )
    }

    fn kube_error(&self, doing: &str, e: kube::Error) -> AgentError {
        AgentError::Deploy(format!("{doing} {}: {e}", self.what()))
    }

    /// The merge patch that pins `sha`.
    pub fn patch(controller: Controller, sha: &Sha, now: u64) -> Value {
        match controller {
            Controller::ArgoCd => json!({
                "spec": {"source": {"targetRevision": sha.as_str()}},
                "operation": {
                    "initiatedBy": {"username": "warden-agent", "automated": false},
                    "info": [{"name": "reason", "value": "approved by Warden"}],
                    "sync": {"revision": sha.as_str()},
                },
            }),
            Controller::Flux => json!({
                "metadata": {"annotations": {
                    "reconcile.fluxcd.io/requestedAt": crate::github::client::format_time(now as i64),
                }},
                "spec": {"ref": {"commit": sha.as_str()}},
            }),
        }
    }

    /// The pinned revision in an object of this controller.
    pub fn pinned(controller: Controller, data: &Value) -> Option<&str> {
        match controller {
            Controller::ArgoCd => data["spec"]["source"]["targetRevision"].as_str(),
            Controller::Flux => data["spec"]["ref"]["commit"].as_str(),
        }
    }
}

impl Deployer for Pinner {
    async fn deployed(&self) -> Result<Option<Sha>, AgentError> {
        let obj = self
            .api
            .get(&self.name)
            .await
            .map_err(|e| self.kube_error("reading", e))?;
        if self.controller == Controller::ArgoCd && obj.data["spec"]["sources"].is_array() {
            return Err(AgentError::Deploy(format!(
                "{} has several sources (spec.sources); warden-agent pins spec.source only",
                self.what()
            )));
        }
        // A branch name or a tag is not a deployment the agent made: nothing is deployed yet.
        Ok(Self::pinned(self.controller, &obj.data).and_then(|r| Sha::parse(r).ok()))
    }

    async fn deploy(&self, sha: &Sha, _rendered: &Rendered) -> Result<String, AgentError> {
        let patch = Self::patch(self.controller, sha, (self.now)());
        self.api
            .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| self.kube_error("patching", e))?;
        Ok(format!("pinned {} to {}", self.what(), sha.short()))
    }
}
