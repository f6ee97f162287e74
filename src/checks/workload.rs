//! Workload hygiene: image pinning, resources, probes and security settings of every pod
//! template (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
//! CronJob and Argo Rollouts `Rollout`).
//!
//! Per object and allocation-free unless something is found.

use serde_json::Value;

use super::{Finding, Level, Rule, Severity};
use crate::manifest::{Object, Seg};

/// The rules this module emits.
pub const RULES: &[Rule] = &[
    Rule {
        id: "image-tag-mutable",
        default: Level::Warning,
        summary: "Container image has no tag or uses `latest`",
        help: "A missing tag means `latest`, and `latest` (like any tag) can be re-pushed, so the \
               same manifest can run different code on different nodes and a rollback may not \
               roll back. Pin a specific version tag, or better a digest (`image@sha256:…`).",
    },
    Rule {
        id: "image-digest-required",
        default: Level::Off,
        summary: "Container image is not pinned by `@sha256:` digest",
        help: "Only a digest names immutable content. Typically turned on for production \
               environments: reference images as `registry/app:1.2.3@sha256:<64 hex>` (kustomize's \
               `images:` field can set the digest).",
    },
    Rule {
        id: "resources-requests-missing",
        default: Level::Warning,
        summary: "Container has no CPU or memory request",
        help: "Without requests the scheduler cannot place pods sensibly and the pod gets the \
               BestEffort QoS class, the first to be evicted. Set `resources.requests.cpu` and \
               `resources.requests.memory` (a limit without a request counts as the request).",
    },
    Rule {
        id: "resources-limits-missing",
        default: Level::Warning,
        summary: "Container has no memory limit",
        help: "A container without a memory limit can consume all memory of its node and get \
               neighbours OOM-killed. Set `resources.limits.memory` (CPU limits are not required: \
               they throttle rather than protect).",
    },
    Rule {
        id: "probe-readiness-missing",
        default: Level::Warning,
        summary: "Long-running container has no readiness probe",
        help: "Without a readiness probe, traffic is sent to a pod as soon as its process starts \
               and rolling updates cannot tell a broken release from a working one. Add \
               `readinessProbe` (not checked for Jobs, CronJobs and init containers).",
    },
    Rule {
        id: "probe-liveness-missing",
        default: Level::Info,
        summary: "Long-running container has no liveness probe",
        help: "Without a liveness probe a hung process is never restarted. Add `livenessProbe` \
               (checking something cheaper and more lenient than readiness). Not checked for \
               Jobs, CronJobs and init containers.",
    },
    Rule {
        id: "security-privileged",
        default: Level::Error,
        summary: "Container runs privileged",
        help: "A privileged container has all capabilities and access to the host's devices: \
               it is root on the node. Remove `securityContext.privileged: true`; grant the \
               specific capability needed instead.",
    },
    Rule {
        id: "security-run-as-root",
        default: Level::Warning,
        summary: "Container may run as root",
        help: "Set `securityContext.runAsNonRoot: true` (pod or container level) and a non-zero \
               `runAsUser`, and build the image to run as an unprivileged user. A non-zero \
               `runAsUser` alone also passes; `runAsUser: 0` always fails.",
    },
    Rule {
        id: "security-privilege-escalation",
        default: Level::Warning,
        summary: "Container does not set allowPrivilegeEscalation: false",
        help: "Unless disabled, a process can gain more privileges than its parent (setuid \
               binaries, file capabilities). Set `securityContext.allowPrivilegeEscalation: false` \
               on every container.",
    },
    Rule {
        id: "security-host-namespace",
        default: Level::Error,
        summary: "Pod shares the host's network, PID or IPC namespace",
        help: "`hostNetwork`, `hostPID` and `hostIPC` let the pod see and interfere with \
               everything on the node. Remove them; node agents that truly need them should be \
               suppressed explicitly with the `warden.dev/ignore` annotation.",
    },
    Rule {
        id: "security-host-path",
        default: Level::Warning,
        summary: "Pod mounts a hostPath volume",
        help: "hostPath volumes expose the node's filesystem to the pod and tie it to one node. \
               Use a PersistentVolumeClaim, emptyDir, ConfigMap or Secret volume instead.",
    },
    Rule {
        id: "security-capabilities-added",
        default: Level::Warning,
        summary: "Container adds Linux capabilities beyond NET_BIND_SERVICE",
        help: "Added capabilities (NET_ADMIN, SYS_ADMIN, ALL, …) widen what a compromised \
               container can do to the node. Remove them from `securityContext.capabilities.add`; \
               only NET_BIND_SERVICE is accepted. Prefer `drop: [ALL]`.",
    },
];

/// Where a workload keeps its pod template.
#[derive(Debug, Clone, Copy)]
pub struct PodTemplate<'a> {
    /// The pod spec.
    pub spec: &'a Object,
    /// `metadata.labels` of the template (of the Pod itself for a Pod).
    pub labels: Option<&'a Object>,
    /// Path of the pod spec inside the object (`["spec", "template", "spec"]`).
    pub spec_path: &'static [&'static str],
    /// Path of the template (the pod spec's parent; empty for a Pod).
    pub template_path: &'static [&'static str],
    /// Jobs and CronJobs: run to completion, so probes do not apply.
    pub run_to_completion: bool,
}

const POD: &[&str] = &["spec"];
const TEMPLATE: &[&str] = &["spec", "template", "spec"];
const JOB_TEMPLATE: &[&str] = &["spec", "jobTemplate", "spec", "template", "spec"];

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub(crate) fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Read a value at a path of mapping keys.
pub(crate) fn at<'a>(obj: &'a Object, path: &[&str]) -> Option<&'a Value> {
    let (last, init) = path.split_last()?;
    let mut cur = obj;
    for k in init {
        cur = cur.get(*k)?.as_object()?;
    }
    cur.get(*last)
}

/// The pod template of a workload object, if it is one of the kinds that have one.
/// An Argo Rollout using `workloadRef` has no template of its own and gives `None`.
pub fn pod_template(obj: &Object) -> Option<PodTemplate<'_>> {
    let api = obj.get("apiVersion")?.as_str()?;
    let kind = obj.get("kind")?.as_str()?;
    let (spec_path, run_to_completion): (&'static [&'static str], bool) =
        match (group_of(api), kind) {
            ("", "Pod") => (POD, false),
            ("", "ReplicationController")
            | ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
            | ("argoproj.io", "Rollout") => (TEMPLATE, false),
            ("batch", "Job") => (TEMPLATE, true),
            ("batch", "CronJob") => (JOB_TEMPLATE, true),
            _ => return None,
        };
    let spec = at(obj, spec_path)?.as_object()?;
    let template_path = &spec_path[..spec_path.len() - 1];
    let template = if template_path.is_empty() {
        obj
    } else {
        at(obj, template_path)?.as_object()?
    };
    let labels = at(template, &["metadata", "labels"]).and_then(Value::as_object);
    Some(PodTemplate {
        spec,
        labels,
        spec_path,
        template_path,
        run_to_completion,
    })
}

/// The parts of an image reference `[registry[:port]/]path[:tag][@digest]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry and path, without tag or digest.
    pub name: &'a str,
    /// The tag, if any (`None` also for an empty tag after `:`).
    pub tag: Option<&'a str>,
    /// The digest (`sha256:…`), if any.
    pub digest: Option<&'a str>,
}

/// Split an image reference. A `:` before the last `/` is a registry port, not a tag:
/// `host:5000/app` has no tag.
pub fn parse_image(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d).filter(|d| !d.is_empty())),
        None => (image, None),
    };
    let last = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last..].rfind(':') {
        Some(i) => (&rest[..last + i], Some(&rest[last + i + 1..])),
        None => (rest, None),
    };
    ImageRef {
        name,
        tag: tag.filter(|t| !t.is_empty()),
        digest,
    }
}

/// Is this a well-formed `sha256:<64 lowercase hex>` digest?
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContainerKind {
    Main,
    Init,
    Ephemeral,
}

impl ContainerKind {
    fn field(self) -> &'static str {
        match self {
            ContainerKind::Main => "containers",
            ContainerKind::Init => "initContainers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            ContainerKind::Main => "container",
            ContainerKind::Init => "init container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// Builds finding paths below the pod spec.
struct Ctx<'a> {
    index: usize,
    tpl: PodTemplate<'a>,
}

impl Ctx<'_> {
    fn path(&self, rest: &[PathArg<'_>]) -> Vec<Seg> {
        let mut p = Vec::with_capacity(self.tpl.spec_path.len() + rest.len());
        p.extend(
            self.tpl
                .spec_path
                .iter()
                .map(|k| Seg::Key((*k).to_string())),
        );
        p.extend(rest.iter().map(|a| match a {
            PathArg::K(k) => Seg::Key((*k).to_string()),
            PathArg::I(i) => Seg::Index(*i),
        }));
        p
    }
}

enum PathArg<'a> {
    K(&'a str),
    I(usize),
}
use PathArg::{I, K};

fn sev(rule: &str) -> Severity {
    super::default_severity(RULES, rule)
}

/// Run every workload hygiene rule on one object (objects without a pod template are skipped).
pub fn check(index: usize, obj: &Object, out: &mut Vec<Finding>) {
    let Some(tpl) = pod_template(obj) else {
        return;
    };
    let cx = Ctx { index, tpl };
    let spec = tpl.spec;
    let pod_sc = spec.get("securityContext").and_then(Value::as_object);
    let windows = at(spec, &["os", "name"]).and_then(Value::as_str) == Some("windows");

    for ns in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(ns).and_then(Value::as_bool) == Some(true) {
            out.push(Finding::at(
                "security-host-namespace",
                sev("security-host-namespace"),
                index,
                cx.path(&[K(ns)]),
                format!("`{ns}: true` shares the node's namespace with the pod; remove it"),
            ));
        }
    }

    if let Some(vols) = spec.get("volumes").and_then(Value::as_array) {
        for (i, v) in vols.iter().enumerate() {
            let Some(hp) = v.get("hostPath") else {
                continue;
            };
            let vname = v.get("name").and_then(Value::as_str).unwrap_or("?");
            let hpath = hp.get("path").and_then(Value::as_str).unwrap_or("?");
            out.push(Finding::at(
                "security-host-path",
                sev("security-host-path"),
                index,
                cx.path(&[K("volumes"), I(i), K("hostPath")]),
                format!(
                    "volume `{vname}` mounts the node's `{hpath}` (hostPath); use a \
                     PersistentVolumeClaim, emptyDir, ConfigMap or Secret volume instead"
                ),
            ));
        }
    }

    for kind in [
        ContainerKind::Main,
        ContainerKind::Init,
        ContainerKind::Ephemeral,
    ] {
        let Some(list) = spec.get(kind.field()).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in list.iter().enumerate() {
            if let Some(c) = c.as_object() {
                check_container(&cx, kind, i, c, pod_sc, windows, out);
            }
        }
    }
}

fn check_container(
    cx: &Ctx<'_>,
    kind: ContainerKind,
    i: usize,
    c: &Object,
    pod_sc: Option<&Object>,
    windows: bool,
    out: &mut Vec<Finding>,
) {
    let index = cx.index;
    let field = kind.field();
    let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
    let noun = kind.noun();
    let here = |rest: &[&str]| {
        let mut p = cx.path(&[K(field), I(i)]);
        p.extend(rest.iter().map(|k| Seg::Key((*k).to_string())));
        p
    };

    // Images.
    if let Some(image) = c
        .get("image")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        let r = parse_image(image);
        if r.digest.is_none() {
            let why = match r.tag {
                None => Some("has no tag, so it means `latest`"),
                Some("latest") => Some("uses the `latest` tag"),
                Some(_) => None,
            };
            if let Some(why) = why {
                out.push(Finding::at(
                    "image-tag-mutable",
                    sev("image-tag-mutable"),
                    index,
                    here(&["image"]),
                    format!(
                        "image `{image}` of {noun} `{name}` {why}, which can change under the \
                         same manifest; pin a version tag or a digest (`@sha256:…`)"
                    ),
                ));
            }
        }
        if !r.digest.is_some_and(is_sha256_digest) {
            out.push(Finding::at(
                "image-digest-required",
                sev("image-digest-required"),
                index,
                here(&["image"]),
                format!(
                    "image `{image}` of {noun} `{name}` is not pinned by digest; reference it as \
                     `{}@sha256:<digest>`",
                    r.name
                ),
            ));
        }
    }

    // Resources (ephemeral containers may not set any).
    if kind != ContainerKind::Ephemeral {
        let res = c.get("resources").and_then(Value::as_object);
        let requests = res
            .and_then(|r| r.get("requests"))
            .and_then(Value::as_object);
        let limits = res.and_then(|r| r.get("limits")).and_then(Value::as_object);
        let has =
            |m: Option<&Object>, k: &str| m.is_some_and(|m| m.get(k).is_some_and(|v| !v.is_null()));
        let no_cpu = !has(requests, "cpu") && !has(limits, "cpu");
        let no_mem = !has(requests, "memory") && !has(limits, "memory");
        if no_cpu || no_mem {
            let what = match (no_cpu, no_mem) {
                (true, true) => "CPU and memory requests",
                (true, false) => "CPU request",
                _ => "memory request",
            };
            let path = if requests.is_some() {
                here(&["resources", "requests"])
            } else if res.is_some() {
                here(&["resources"])
            } else {
                here(&[])
            };
            out.push(Finding::at(
                "resources-requests-missing",
                sev("resources-requests-missing"),
                index,
                path,
                format!(
                    "{noun} `{name}` has no {what}; set `resources.requests` so the scheduler \
                     can place the pod and it is not first to be evicted"
                ),
            ));
        }
        if !has(limits, "memory") {
            let path = if limits.is_some() {
                here(&["resources", "limits"])
            } else if res.is_some() {
                here(&["resources"])
            } else {
                here(&[])
            };
            out.push(Finding::at(
                "resources-limits-missing",
                sev("resources-limits-missing"),
                index,
                path,
                format!(
                    "{noun} `{name}` has no memory limit; set `resources.limits.memory` so it \
                     cannot exhaust its node's memory"
                ),
            ));
        }
    }

    // Probes: long-running main containers only.
    if kind == ContainerKind::Main && !cx.tpl.run_to_completion {
        for (rule, probe, what) in [
            ("probe-readiness-missing", "readinessProbe", "readiness"),
            ("probe-liveness-missing", "livenessProbe", "liveness"),
        ] {
            if c.get(probe).is_none_or(Value::is_null) {
                out.push(Finding::at(
                    rule,
                    sev(rule),
                    index,
                    here(&[]),
                    format!("container `{name}` has no {what} probe; add `{probe}`"),
                ));
            }
        }
    }

    // Security context.
    let sc = c.get("securityContext").and_then(Value::as_object);
    let sc_get = |k: &str| sc.and_then(|s| s.get(k));
    if sc_get("privileged").and_then(Value::as_bool) == Some(true) {
        out.push(Finding::at(
            "security-privileged",
            sev("security-privileged"),
            index,
            here(&["securityContext", "privileged"]),
            format!(
                "{noun} `{name}` is privileged (root on the node); remove `privileged: true` and \
                 add only the capability it needs"
            ),
        ));
    }

    match sc_get("allowPrivilegeEscalation").and_then(Value::as_bool) {
        Some(false) => {}
        set => {
            let path = if set.is_some() {
                here(&["securityContext", "allowPrivilegeEscalation"])
            } else {
                here(&[])
            };
            out.push(Finding::at(
                "security-privilege-escalation",
                sev("security-privilege-escalation"),
                index,
                path,
                format!(
                    "{noun} `{name}` allows privilege escalation; set \
                     `securityContext.allowPrivilegeEscalation: false`"
                ),
            ));
        }
    }

    if !windows {
        check_run_as_root(cx, sc, pod_sc, &here, noun, name, out);
    }

    if let Some(add) = sc
        .and_then(|s| s.get("capabilities"))
        .and_then(|c| c.get("add"))
        .and_then(Value::as_array)
    {
        let extra: Vec<&str> = add
            .iter()
            .filter_map(Value::as_str)
            .filter(|cap| {
                let c = cap.strip_prefix("CAP_").unwrap_or(cap);
                !c.eq_ignore_ascii_case("NET_BIND_SERVICE")
            })
            .collect();
        if !extra.is_empty() {
            out.push(Finding::at(
                "security-capabilities-added",
                sev("security-capabilities-added"),
                index,
                here(&["securityContext", "capabilities", "add"]),
                format!(
                    "{noun} `{name}` adds capabilities {}; remove them (only NET_BIND_SERVICE is \
                     accepted)",
                    extra.join(", ")
                ),
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_run_as_root(
    cx: &Ctx<'_>,
    sc: Option<&Object>,
    pod_sc: Option<&Object>,
    here: &dyn Fn(&[&str]) -> Vec<Seg>,
    noun: &str,
    name: &str,
    out: &mut Vec<Finding>,
) {
    let rule = "security-run-as-root";
    // The container's setting wins over the pod's.
    let pick = |k: &str| -> Option<(&Value, bool)> {
        sc.and_then(|s| s.get(k))
            .filter(|v| !v.is_null())
            .map(|v| (v, true))
            .or_else(|| {
                pod_sc
                    .and_then(|s| s.get(k))
                    .filter(|v| !v.is_null())
                    .map(|v| (v, false))
            })
    };
    let field_path = |k: &str, in_container: bool| {
        if in_container {
            here(&["securityContext", k])
        } else {
            cx.path(&[K("securityContext"), K(k)])
        }
    };
    let user = pick("runAsUser");
    if let Some((v, in_c)) = user
        && v.as_i64() == Some(0)
    {
        out.push(Finding::at(
            rule,
            sev(rule),
            cx.index,
            field_path("runAsUser", in_c),
            format!("{noun} `{name}` runs as UID 0 (root); set a non-zero `runAsUser`"),
        ));
        return;
    }
    let non_root = pick("runAsNonRoot");
    if non_root.is_some_and(|(v, _)| v.as_bool() == Some(true)) {
        return;
    }
    if user.is_some_and(|(v, _)| v.as_i64().is_some_and(|u| u > 0)) {
        return;
    }
    let path = match non_root {
        Some((_, in_c)) => field_path("runAsNonRoot", in_c),
        None => here(&[]),
    };
    out.push(Finding::at(
        rule,
        sev(rule),
        cx.index,
        path,
        format!(
            "{noun} `{name}` may run as root: `runAsNonRoot` is not true; set \
             `securityContext.runAsNonRoot: true` (pod or container) and a non-zero `runAsUser`"
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::path_to_string;

    #[test]
    fn parses_image_refs() {
        let r = parse_image("nginx");
        assert_eq!((r.name, r.tag, r.digest), ("nginx", None, None));
        let r = parse_image("nginx:1.27");
        assert_eq!((r.name, r.tag, r.digest), ("nginx", Some("1.27"), None));
        let r = parse_image("host:5000/app");
        assert_eq!((r.name, r.tag, r.digest), ("host:5000/app", None, None));
        let r = parse_image("host:5000/team/app:v2");
        assert_eq!((r.name, r.tag), ("host:5000/team/app", Some("v2")));
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let s = format!("ghcr.io/o/app:1.0@{d}");
        let r = parse_image(&s);
        assert_eq!(
            (r.name, r.tag, r.digest),
            ("ghcr.io/o/app", Some("1.0"), Some(d))
        );
        let s = format!("localhost:5000/app@{d}");
        let r = parse_image(&s);
        assert_eq!(
            (r.name, r.tag, r.digest),
            ("localhost:5000/app", None, Some(d))
        );
        let r = parse_image("app:");
        assert_eq!((r.name, r.tag), ("app", None));
        let r = parse_image("app@");
        assert_eq!((r.name, r.digest), ("app", None));
        assert!(is_sha256_digest(d));
        assert!(!is_sha256_digest("sha256:abc"));
        assert!(!is_sha256_digest(&d.to_uppercase()));
    }

    fn run(y: &str) -> Vec<(String, String)> {
        let v: Value = serde_json::from_str(y).unwrap();
        let mut out = Vec::new();
        check(0, v.as_object().unwrap(), &mut out);
        out.into_iter()
            .map(|f| (f.rule, path_to_string(&f.path)))
            .collect()
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let f = run(r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
               "spec":{"containers":[{"name":"a","image":"host:5000/app"},
                                     {"name":"b","image":"host:5000/app:1.2"}]}}"#);
        let tags: Vec<_> = f.iter().filter(|(r, _)| r == "image-tag-mutable").collect();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].1, "spec.containers[0].image");
    }

    #[test]
    fn container_setting_overrides_pod_setting() {
        let f = run(
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
               "spec":{"template":{"spec":{"securityContext":{"runAsNonRoot":true},
                 "containers":[{"name":"a","image":"a:1"},
                               {"name":"b","image":"b:1","securityContext":{"runAsNonRoot":false}},
                               {"name":"c","image":"c:1","securityContext":{"runAsUser":0}}]}}}}"#,
        );
        let root: Vec<_> = f
            .iter()
            .filter(|(r, _)| r == "security-run-as-root")
            .map(|(_, p)| p.as_str())
            .collect();
        assert_eq!(
            root,
            [
                "spec.template.spec.containers[1].securityContext.runAsNonRoot",
                "spec.template.spec.containers[2].securityContext.runAsUser"
            ]
        );
    }

    #[test]
    fn non_workloads_and_rollout_refs_are_skipped() {
        assert!(
            run(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#).is_empty()
        );
        assert!(run(
            r#"{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","spec":{"workloadRef":{"name":"x"}}}"#
        )
        .is_empty());
        // A CRD that happens to be called Deployment is not a pod workload.
        assert!(run(
            r#"{"apiVersion":"example.com/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"a"}]}}}}"#
        )
        .is_empty());
    }
}
