//! Hand-built diff and check reports for the report tests: what the diff engine and `warden
//! check` would give for realistic changes, and a generator of many targets for truncation.

#![allow(dead_code)]

use std::collections::BTreeSet;

use warden::checks::Severity;
use warden::checks::run::{CheckReport, Reported, ResourceRef, TargetResult};
use warden::diff::{
    Cascade, ChangeClass, Counts, DiffReport, FieldChange, FieldPath, ImageChange, ObjectDiff,
    ObjectKey, PathSeg, SecretKeys, SourcePlace, Status, TargetChange, TargetDiff, TargetState,
};
use warden::repo::targets::{Target, TargetSource};

/// A Secret value the diff engine would never pass on; the reports must not print it either.
pub const SECRET_VALUE: &str = "hunter2-s3cr3t-Zm9vYmFy";

pub fn key(group: &str, kind: &str, ns: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

fn path(segs: &[&str]) -> FieldPath {
    FieldPath(segs.iter().map(|s| PathSeg::Field(s.to_string())).collect())
}

fn src(file: &str, line: usize) -> Option<SourcePlace> {
    Some(SourcePlace {
        file: file.into(),
        line,
        generator: None,
    })
}

fn classes(c: &[ChangeClass]) -> BTreeSet<ChangeClass> {
    c.iter().copied().collect()
}

pub fn target(
    env: &str,
    dir: &str,
    state: TargetState,
    objects: Vec<ObjectDiff>,
    cascades: Vec<Cascade>,
) -> TargetChange {
    let mut counts = Counts::default();
    let mut cls = BTreeSet::new();
    for o in &objects {
        match o.status {
            Status::Added => counts.added += 1,
            Status::Removed => counts.removed += 1,
            Status::Changed => counts.changed += 1,
        }
        cls.extend(o.classes.iter().copied());
    }
    for c in &cascades {
        counts.changed += c.dependents.len();
        cls.insert(ChangeClass::Config);
    }
    TargetChange {
        target: Target {
            dir: dir.into(),
            environment: env.into(),
            source: TargetSource::Config,
        },
        state,
        diff: TargetDiff {
            objects,
            cascades,
            counts,
            classes: cls,
        },
    }
}

pub fn image_bump(dir: &str, ns: &str, name: &str, from: &str, to: &str) -> ObjectDiff {
    let k = key("apps", "Deployment", ns, name);
    ObjectDiff {
        key: k.clone(),
        api_version: "apps/v1".into(),
        status: Status::Changed,
        renamed_from: None,
        classes: classes(&[ChangeClass::ImageBump]),
        fields: vec![FieldChange {
            path: FieldPath(vec![
                PathSeg::Field("spec".into()),
                PathSeg::Field("template".into()),
                PathSeg::Field("spec".into()),
                PathSeg::Field("containers".into()),
                PathSeg::Keyed(vec![("name".into(), name.into())]),
                PathSeg::Field("image".into()),
            ]),
            status: Status::Changed,
        }],
        images: vec![ImageChange {
            object: k,
            container: name.into(),
            from: from.into(),
            to: to.into(),
        }],
        secret_keys: None,
        unified: format!(
            "@@ -18,7 +18,7 @@\n       containers:\n       - name: {name}\n-        image: {from}\n+        image: {to}\n         ports:\n         - containerPort: 8080\n           name: http\n"
        ),
        source: src(&format!("{dir}/kustomization.yaml"), 9),
    }
}

/// The realistic change: an image bump in staging; a ConfigMap re-generation with its cascade,
/// a Secret rotation and an RBAC change in production; a new namespace and a deletion on the
/// platform cluster; a preview overlay that no longer renders.
pub fn realistic() -> DiffReport {
    let staging = target(
        "staging",
        "overlays/staging",
        TargetState::Rendered,
        vec![image_bump(
            "overlays/staging",
            "shop",
            "api",
            "ghcr.io/acme/api:1.4.2",
            "ghcr.io/acme/api:1.5.0",
        )],
        vec![],
    );

    let configmap = ObjectDiff {
        key: key("", "ConfigMap", "shop", "app-config-7b9c2d4f6h"),
        api_version: "v1".into(),
        status: Status::Changed,
        renamed_from: Some("app-config-5f8k2m9t4c".into()),
        classes: classes(&[ChangeClass::Config]),
        fields: vec![FieldChange {
            path: path(&["data", "LOG_LEVEL"]),
            status: Status::Changed,
        }],
        images: vec![],
        secret_keys: None,
        unified: "@@ -1,8 +1,8 @@\n apiVersion: v1\n data:\n   FEATURE_CHECKOUT_V2: \"true\"\n-  LOG_LEVEL: info\n+  LOG_LEVEL: debug\n kind: ConfigMap\n metadata:\n-  name: app-config-5f8k2m9t4c\n+  name: app-config-7b9c2d4f6h\n   namespace: shop\n".into(),
        source: Some(SourcePlace {
            file: "overlays/production/kustomization.yaml".into(),
            line: 14,
            generator: Some("ConfigMapGenerator".into()),
        }),
    };
    let secret = ObjectDiff {
        key: key("", "Secret", "shop", "db-credentials"),
        api_version: "v1".into(),
        status: Status::Changed,
        renamed_from: None,
        classes: classes(&[ChangeClass::Config]),
        fields: vec![
            FieldChange {
                path: path(&["data", "ca.crt"]),
                status: Status::Added,
            },
            FieldChange {
                path: path(&["data", "password"]),
                status: Status::Changed,
            },
        ],
        images: vec![],
        secret_keys: Some(SecretKeys {
            added: vec!["ca.crt".into()],
            removed: vec![],
            changed: vec!["password".into()],
        }),
        // What a buggy engine might leak: the reports must never print a Secret's diff.
        unified: format!("@@ -3,1 +3,1 @@\n-  password: old-value\n+  password: {SECRET_VALUE}\n"),
        source: src("overlays/production/secrets/db.enc.yaml", 1),
    };
    let role = ObjectDiff {
        key: key("rbac.authorization.k8s.io", "Role", "shop", "deployer"),
        api_version: "rbac.authorization.k8s.io/v1".into(),
        status: Status::Changed,
        renamed_from: None,
        classes: classes(&[ChangeClass::Rbac]),
        fields: vec![FieldChange {
            path: FieldPath(vec![
                PathSeg::Field("rules".into()),
                PathSeg::Index(0),
                PathSeg::Field("verbs".into()),
            ]),
            status: Status::Changed,
        }],
        images: vec![],
        secret_keys: None,
        unified: "@@ -8,6 +8,7 @@\n   - deployments\n   verbs:\n   - get\n   - list\n   - patch\n+  - delete\n".into(),
        source: src("base/rbac.yaml", 1),
    };
    let production = target(
        "production",
        "overlays/production",
        TargetState::Rendered,
        vec![configmap, secret, role],
        vec![Cascade {
            generated: key("", "ConfigMap", "shop", "app-config-7b9c2d4f6h"),
            from_name: "app-config-5f8k2m9t4c".into(),
            dependents: vec![
                key("batch", "CronJob", "shop", "nightly-report"),
                key("apps", "Deployment", "shop", "api"),
                key("apps", "Deployment", "shop", "worker"),
            ],
        }],
    );

    let namespace = ObjectDiff {
        key: key("", "Namespace", "", "payments"),
        api_version: "v1".into(),
        status: Status::Added,
        renamed_from: None,
        classes: classes(&[ChangeClass::Namespace]),
        fields: vec![],
        images: vec![],
        secret_keys: None,
        unified: "@@ -0,0 +1,6 @@\n+apiVersion: v1\n+kind: Namespace\n+metadata:\n+  labels:\n+    team: payments\n+  name: payments\n".into(),
        source: src("clusters/platform/namespaces/payments.yaml", 1),
    };
    let service = ObjectDiff {
        key: key("", "Service", "legacy", "old-api"),
        api_version: "v1".into(),
        status: Status::Removed,
        renamed_from: None,
        classes: classes(&[ChangeClass::Deletion]),
        fields: vec![],
        images: vec![],
        secret_keys: None,
        unified: "@@ -1,10 +0,0 @@\n-apiVersion: v1\n-kind: Service\n-metadata:\n-  name: old-api\n-  namespace: legacy\n-spec:\n-  ports:\n-  - port: 80\n-    targetPort: http\n-  selector:\n".into(),
        source: src("clusters/platform/legacy/service.yaml", 1),
    };
    let platform = target(
        "platform",
        "clusters/platform",
        TargetState::Rendered,
        vec![namespace, service],
        vec![],
    );

    let preview = target(
        "preview",
        "overlays/preview",
        TargetState::HeadError {
            message: "overlays/preview/kustomization.yaml:4: accumulating resources: 'missing.yaml' not found".into(),
        },
        vec![],
        vec![],
    );

    DiffReport {
        base: "origin/main".into(),
        head: "3f2a9c1".into(),
        targets: vec![staging, production, platform, preview],
    }
}

/// Only the staging image bump.
pub fn image_bump_only() -> DiffReport {
    let mut d = realistic();
    d.targets.truncate(1);
    d
}

fn finding(
    rule: &str,
    severity: Severity,
    message: &str,
    file: Option<&str>,
    line: usize,
    target: &str,
    env: &str,
) -> Reported {
    Reported {
        rule: rule.into(),
        severity,
        message: message.into(),
        file: file.map(str::to_string),
        line,
        target: Some(target.into()),
        environment: Some(env.into()),
        resource: Some(ResourceRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "api".into(),
        }),
        field: Some("spec.template.spec.containers[0]".into()),
        suppressed: false,
    }
}

fn target_result(env: &str, dir: &str, error: Option<&str>) -> TargetResult {
    TargetResult {
        target: Target {
            dir: dir.into(),
            environment: env.into(),
            source: TargetSource::Config,
        },
        affected: true,
        objects: if error.is_some() { 0 } else { 12 },
        error: error.map(str::to_string),
    }
}

/// What `warden check` says about the realistic change: a render error, a warning seen in two
/// overlays of one base file, an info note, and a suppressed finding.
pub fn realistic_check() -> CheckReport {
    let mut suppressed = finding(
        "probe-liveness-missing",
        Severity::Warning,
        "container `api` has no livenessProbe",
        Some("base/deployment.yaml"),
        17,
        "overlays/staging",
        "staging",
    );
    suppressed.suppressed = true;
    let mut render = finding(
        "render-error",
        Severity::Error,
        "accumulating resources: 'missing.yaml' not found",
        Some("overlays/preview/kustomization.yaml"),
        4,
        "overlays/preview",
        "preview",
    );
    render.resource = None;
    render.field = None;
    let mut no_file = finding(
        "policy-error",
        Severity::Info,
        "policy `deny_latest` took 12 ms",
        None,
        0,
        "overlays/staging",
        "staging",
    );
    no_file.resource = None;
    no_file.field = None;
    CheckReport {
        targets: vec![
            target_result("staging", "overlays/staging", None),
            target_result("production", "overlays/production", None),
            target_result("platform", "clusters/platform", None),
            target_result(
                "preview",
                "overlays/preview",
                Some("accumulating resources: 'missing.yaml' not found"),
            ),
        ],
        findings: vec![
            finding(
                "resources-limits-missing",
                Severity::Warning,
                "container `api` has no memory limit",
                Some("base/deployment.yaml"),
                21,
                "overlays/staging",
                "staging",
            ),
            finding(
                "resources-limits-missing",
                Severity::Warning,
                "container `api` has no memory limit",
                Some("base/deployment.yaml"),
                21,
                "overlays/production",
                "production",
            ),
            render,
            finding(
                "pdb-missing",
                Severity::Info,
                "Deployment shop/api has 3 replicas and no PodDisruptionBudget",
                Some("base/deployment.yaml"),
                1,
                "overlays/production",
                "production",
            ),
            no_file,
            suppressed,
        ],
    }
}

/// An empty check (no findings).
pub fn clean_check() -> CheckReport {
    CheckReport::default()
}

/// A diff of `n` targets, each with `per` changed Deployments whose unified diffs have `lines`
/// lines, and a cascade every third target. Object names are unique: `obj-<t>-<i>`,
/// cascade dependents `dep-<t>-<i>`.
pub fn many(n: usize, per: usize, lines: usize) -> DiffReport {
    let mut targets = Vec::new();
    for t in 0..n {
        let env = format!("env-{}", t % 7);
        let dir = format!("clusters/c{t}");
        let objects = (0..per)
            .map(|i| {
                let mut o = image_bump(&dir, "ns", &format!("obj-{t}-{i}"), "r/app:1", "r/app:2");
                let mut u = String::from("@@ -1,1 +1,1 @@\n");
                for l in 0..lines {
                    let _ = std::fmt::Write::write_fmt(
                        &mut u,
                        format_args!("-  line{l}: old\n+  line{l}: new\n"),
                    );
                }
                o.unified = u;
                o
            })
            .collect();
        let cascades = if t % 3 == 0 {
            vec![Cascade {
                generated: key("", "ConfigMap", "ns", &format!("cfg-{t}-new")),
                from_name: format!("cfg-{t}-old"),
                dependents: (0..2)
                    .map(|i| key("apps", "Deployment", "ns", &format!("dep-{t}-{i}")))
                    .collect(),
            }]
        } else {
            vec![]
        };
        targets.push(target(&env, &dir, TargetState::Rendered, objects, cascades));
    }
    DiffReport {
        base: "main".into(),
        head: "feature/x".into(),
        targets,
    }
}
