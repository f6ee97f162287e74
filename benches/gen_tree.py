#!/usr/bin/env python3
"""Generate a large, realistic GitOps config repo for benchmarking Kustomize renderers.

Deterministic: the same --seed and --apps always give byte-identical trees.

Layout (under OUT):

    components/monitoring/      Component: annotations + SMP adding a metrics sidecar port
    components/hardening/       Component: JSON6902 patch setting securityContext on pod
    components/pdb/             Component: adds a PodDisruptionBudget
    bases/platform/             Shared base: ServiceAccount, Role, RoleBinding, NetworkPolicy
    apps/appNNN/base/           Deployment (2-4 containers), Service, ConfigMap/Secret generators,
                                labels, images; includes ../../../bases/platform
    apps/appNNN/overlays/ENV/   ENV in dev, staging, prod: namespace, namePrefix, labels,
                                SMP + JSON6902 patches, images, replicas, replacements,
                                generators with behavior merge, components
    umbrella/                   one kustomization including every overlay (the largest build)

Usage: gen_tree.py OUT [--apps 200] [--seed 42]
Prints the overlay directories (relative to OUT), one a line, on stdout when --list is given.
"""

import argparse
import os
import random
import sys

ENVS = ("dev", "staging", "prod")
IMAGES = (
    "nginx",
    "redis",
    "envoyproxy/envoy",
    "ghcr.io/acme/api",
    "ghcr.io/acme/worker",
    "quay.io/prometheus/statsd-exporter",
    "busybox",
    "registry.k8s.io/pause",
)
WORDS = (
    "billing", "orders", "search", "auth", "cart", "ledger", "mailer", "geo", "media",
    "pricing", "reports", "gateway", "catalog", "inventory", "profile", "notify",
)


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def components(root):
    write(root, "components/monitoring/kustomization.yaml", """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
commonAnnotations:
  prometheus.io/scrape: "true"
  prometheus.io/port: "9102"
patches:
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: not-important
    spec:
      template:
        spec:
          containers:
          - name: statsd
            image: quay.io/prometheus/statsd-exporter:v0.26.0
            ports:
            - name: metrics
              containerPort: 9102
""")
    write(root, "components/hardening/kustomization.yaml", """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- target:
    group: apps
    version: v1
    kind: Deployment
  patch: |-
    - op: add
      path: /spec/template/spec/securityContext
      value:
        runAsNonRoot: true
        runAsUser: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
    - op: add
      path: /spec/template/spec/automountServiceAccountToken
      value: false
""")
    write(root, "components/pdb/kustomization.yaml", """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- pdb.yaml
""")
    write(root, "components/pdb/pdb.yaml", """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/component: web
""")


def platform(root):
    write(root, "bases/platform/kustomization.yaml", """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- rbac.yaml
- netpol.yaml
labels:
- pairs:
    app.kubernetes.io/managed-by: warden-bench
""")
    write(root, "bases/platform/rbac.yaml", """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: runner
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: config-reader
rules:
- apiGroups: [""]
  resources: ["configmaps", "secrets"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: runner-config-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: config-reader
subjects:
- kind: ServiceAccount
  name: runner
""")
    write(root, "bases/platform/netpol.yaml", """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
""")


def container(rng, i, name):
    image = rng.choice(IMAGES)
    port = 8000 + i
    lines = [
        f"      - name: {name}",
        f"        image: {image}:1.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
        "        ports:",
        "        - name: http" if i == 0 else f"        - name: p{i}",
        f"          containerPort: {port}",
        "        env:",
        "        - name: LOG_LEVEL",
        "          value: info",
        "        - name: SERVICE_NAME",
        "          value: placeholder",
        "        - name: REGION",
        f"          value: {rng.choice(['eu-west-1', 'us-east-1', 'ap-south-1'])}",
        "        envFrom:",
        "        - configMapRef:",
        "            name: app-config",
        "        - secretRef:",
        "            name: app-secret",
        "        resources:",
        "          requests:",
        f"            cpu: {rng.choice(['50m', '100m', '250m'])}",
        f"            memory: {rng.choice(['64Mi', '128Mi', '256Mi'])}",
        "          limits:",
        f"            memory: {rng.choice(['256Mi', '512Mi', '1Gi'])}",
        "        volumeMounts:",
        "        - name: config",
        f"          mountPath: /etc/{name}",
        "        readinessProbe:",
        "          httpGet:",
        "            path: /healthz",
        f"            port: {port}",
        f"          periodSeconds: {rng.choice([5, 10, 15])}",
    ]
    return "\n".join(lines)


def app(root, rng, idx):
    name = f"app{idx:03d}"
    word = WORDS[idx % len(WORDS)]
    ncont = rng.randint(2, 4)
    cnames = ["web"] + [f"side{j}" for j in range(1, ncont)]
    conts = "\n".join(container(rng, i, c) for i, c in enumerate(cnames))
    base = f"apps/{name}/base"
    write(root, f"{base}/deployment.yaml", f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/component: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/component: web
  template:
    metadata:
      labels:
        app.kubernetes.io/component: web
    spec:
      serviceAccountName: runner
      containers:
{conts}
      volumes:
      - name: config
        configMap:
          name: app-config
""")
    write(root, f"{base}/service.yaml", f"""\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app.kubernetes.io/component: web
  ports:
  - name: http
    port: 80
    targetPort: http
""")
    write(root, f"{base}/app.properties", "".join(
        f"{word}.setting{k}={rng.randint(0, 10**6)}\n" for k in range(rng.randint(3, 8))))
    write(root, f"{base}/kustomization.yaml", f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../../bases/platform
- deployment.yaml
- service.yaml
labels:
- pairs:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: {word}
  includeSelectors: true
configMapGenerator:
- name: app-config
  files:
  - app.properties
  literals:
  - APP_NAME={name}
  - FEATURE_X={rng.choice(['on', 'off'])}
secretGenerator:
- name: app-secret
  literals:
  - API_TOKEN={rng.getrandbits(64):016x}
  - DB_PASSWORD={rng.getrandbits(64):016x}
images:
- name: busybox
  newTag: "1.36"
""")
    for env in ENVS:
        overlay(root, rng, name, env, cnames)


def overlay(root, rng, name, env, cnames):
    d = f"apps/{name}/overlays/{env}"
    replicas = {"dev": 1, "staging": 2, "prod": rng.randint(3, 8)}[env]
    comps = ["../../../../components/hardening"]
    if env != "dev":
        comps.append("../../../../components/monitoring")
    if env == "prod":
        comps.append("../../../../components/pdb")
    comp_lines = "".join(f"- {c}\n" for c in comps)
    mem = {"dev": "128Mi", "staging": "256Mi", "prod": "512Mi"}[env]
    write(root, f"{d}/resources-patch.yaml", f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        resources:
          limits:
            memory: {mem}
        env:
        - name: LOG_LEVEL
          value: {"debug" if env == "dev" else "warn"}
""")
    extra = ""
    if env == "prod":
        extra = """\
- target:
    kind: Service
    name: web
  patch: |-
    - op: replace
      path: /spec/ports/0/port
      value: 443
    - op: add
      path: /spec/sessionAffinity
      value: ClientIP
"""
    write(root, f"{d}/kustomization.yaml", f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {name}-{env}
namePrefix: {env}-
resources:
- ../../base
components:
{comp_lines}labels:
- pairs:
    environment: {env}
  includeTemplates: true
commonAnnotations:
  owner: team-{name[-1]}
  env.acme.io/tier: {env}
patches:
- path: resources-patch.yaml
- target:
    kind: Deployment
    name: web
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/env/-
      value:
        name: ENVIRONMENT
        value: {env}
    - op: add
      path: /spec/revisionHistoryLimit
      value: {rng.randint(2, 10)}
{extra}images:
- name: nginx
  newTag: "1.27.{rng.randint(0, 3)}"
- name: ghcr.io/acme/api
  newName: registry.acme.io/acme/api
  digest: sha256:{rng.getrandbits(256):064x}
replicas:
- name: web
  count: {replicas}
configMapGenerator:
- name: app-config
  behavior: merge
  literals:
  - ENVIRONMENT={env}
  - REPLICAS={replicas}
replacements:
- source:
    kind: Service
    name: web
    fieldPath: metadata.name
  targets:
  - select:
      kind: Deployment
    fieldPaths:
    - spec.template.spec.containers.[name=web].env.[name=SERVICE_NAME].value
""")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--apps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--list", action="store_true", help="print the overlay dirs")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    components(a.out)
    platform(a.out)
    overlays = []
    for i in range(a.apps):
        app(a.out, rng, i)
        overlays += [f"apps/app{i:03d}/overlays/{e}" for e in ENVS]
    write(a.out, "umbrella/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
          + "".join(f"- ../{o}\n" for o in overlays))
    if a.list:
        sys.stdout.write("".join(o + "\n" for o in overlays))


if __name__ == "__main__":
    main()
