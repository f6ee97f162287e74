#!/usr/bin/env python3
"""Generate differential test cases for src/kustomize/smp.rs.

For every case below, writes src/kustomize/testdata/smp/<case>/ with
target.yaml, patch.yaml and the result of `kubectl kustomize` (Kustomize
v5.5.0) as expected.yaml -- or expected.error when kustomize fails -- plus
JSON copies (target.json, patch.json, expected.json; `null` when the patch
deletes the object) for the Rust test, which reads JSON only.

A case may give a patch target selector (for name/kind changes); the patch is
then applied through `patches: [{path, target}]`.

Usage: scripts/gen-smp-cases.py [--kubectl kubectl]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "src", "kustomize", "testdata", "smp")

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: app:1
        args: [--a, --b]
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        ports:
        - {containerPort: 8080, name: http}
        - {containerPort: 53, protocol: UDP, name: dns}
        volumeMounts:
        - {name: cfg, mountPath: /etc/cfg}
      - name: sidecar
        image: side:1
      volumes:
      - name: cfg
        configMap: {name: cfg}
      - name: data
        emptyDir: {}
      tolerations:
      - {key: k1, operator: Exists}
"""

DEPLOY_HEAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
"""

SVC = """apiVersion: v1
kind: Service
metadata:
  name: svc
  finalizers: [a, b]
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443, protocol: TCP}
  - {name: dns, port: 53, protocol: UDP}
"""

SVC_HEAD = """apiVersion: v1
kind: Service
metadata:
  name: svc
"""

CRD = """apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  size: 3
  config: {a: 1, b: {c: 2}}
  items:
  - {name: one, v: 1}
  - {name: two, v: 2}
  finalizers: [x, y]
"""

CRD_HEAD = """apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
"""

CASES = [
    ("container-image", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        image: app:2
"""),
    ("container-add", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: extra
        image: extra:1
"""),
    ("container-add-and-merge-order", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: sidecar
        image: side:2
      - name: extra
        image: extra:1
"""),
    ("container-delete", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: sidecar
        $patch: delete
"""),
    ("container-delete-all", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: sidecar
        $patch: delete
      - name: app
        $patch: delete
"""),
    ("container-element-replace", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        $patch: replace
        image: other
"""),
    ("env-merge", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - {name: B, value: "20"}
        - {name: C, value: "3"}
"""),
    ("env-delete-and-valuefrom", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - {name: A, $patch: delete}
        - name: B
          value: null
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
"""),
    ("env-list-replace", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - $patch: replace
        - {name: Z, value: "26"}
"""),
    ("env-list-delete", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - $patch: delete
"""),
    ("volumes-merge", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      volumes:
      - name: cfg
        configMap: {name: cfg2, defaultMode: 420}
      - name: secret
        secret: {secretName: s}
"""),
    ("volume-source-change-retainkeys-ignored", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: pvc}
"""),
    ("volumemounts-by-mountpath", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        volumeMounts:
        - {mountPath: /etc/cfg, readOnly: true}
        - {name: data, mountPath: /data}
"""),
    ("container-ports-merge", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        ports:
        - {containerPort: 8080, name: web}
        - {containerPort: 9090, name: metrics}
"""),
    ("container-ports-protocol", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        ports:
        - {containerPort: 53, protocol: TCP, name: dns-tcp}
        - {containerPort: 8080, protocol: TCP, hostPort: 80}
"""),
    ("container-ports-new-field", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: sidecar
        ports:
        - {containerPort: 7070}
"""),
    ("args-replaced", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      containers:
      - name: app
        args: [--c]
"""),
    ("tolerations-replaced", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      tolerations:
      - {key: k2, operator: Exists}
"""),
    ("map-replace-directive", DEPLOY, DEPLOY_HEAD + """spec:
  strategy:
    $patch: replace
    type: Recreate
"""),
    ("map-delete-directive", DEPLOY, DEPLOY_HEAD + """spec:
  strategy:
    $patch: delete
"""),
    ("map-merge-directive", DEPLOY, DEPLOY_HEAD + """spec:
  strategy:
    $patch: merge
    rollingUpdate: {maxUnavailable: 0}
"""),
    ("null-deletes", DEPLOY, DEPLOY_HEAD + """  labels:
    tier: null
    new: label
spec:
  replicas: null
  strategy:
    rollingUpdate: null
  template:
    spec:
      containers:
      - name: app
        args: null
"""),
    ("null-on-absent-field", DEPLOY, DEPLOY_HEAD + """spec:
  paused: null
  template:
    spec:
      hostname: null
      nodeSelector: {disk: ssd, zone: null}
"""),
    ("retainkeys-passthrough", DEPLOY, DEPLOY_HEAD + """spec:
  strategy:
    $retainKeys: [type]
    type: Recreate
"""),
    ("setelementorder-passthrough", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      $setElementOrder/containers:
      - name: sidecar
      - name: app
      containers:
      - name: app
        image: app:3
"""),
    ("deletefromprimitivelist-passthrough", SVC, SVC_HEAD + """  $deleteFromPrimitiveList/finalizers: [a]
"""),
    ("top-level-delete", DEPLOY, DEPLOY_HEAD + """$patch: delete
"""),
    ("top-level-replace", DEPLOY, DEPLOY_HEAD + """$patch: replace
spec:
  replicas: 5
"""),
    ("service-ports-merge", SVC, SVC_HEAD + """spec:
  ports:
  - {port: 443, targetPort: 9443}
  - {port: 8081, name: admin}
"""),
    ("service-ports-protocol", SVC, SVC_HEAD + """spec:
  ports:
  - {port: 53, protocol: TCP, name: dns-tcp}
  - {port: 80, protocol: TCP, name: web}
"""),
    ("service-ports-delete", SVC, SVC_HEAD + """spec:
  ports:
  - {port: 80, $patch: delete}
"""),
    ("finalizers-union", SVC, SVC_HEAD + """  finalizers: [c, a]
"""),
    ("service-selector-replace", SVC, SVC_HEAD + """spec:
  selector:
    $patch: replace
    app: api
"""),
    ("crd-list-replaced", CRD, CRD_HEAD + """spec:
  items:
  - {name: two, w: 3}
"""),
    ("crd-map-merge", CRD, CRD_HEAD + """spec:
  size: null
  config: {b: {d: 4}, e: 5}
  finalizers: [z]
"""),
    ("crd-directive-in-replaced-list", CRD, CRD_HEAD + """spec:
  items:
  - {name: one, $patch: delete}
"""),
    ("crd-embedded-pod-template", """apiVersion: example.com/v1
kind: Runner
metadata:
  name: r
spec:
  template:
    apiVersion: v1
    kind: Pod
    spec:
      containers:
      - {name: a, image: a}
      - {name: b, image: b}
""", """apiVersion: example.com/v1
kind: Runner
metadata:
  name: r
spec:
  template:
    spec:
      containers:
      - {name: b, image: b2}
"""),
    ("configmap-data", """apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  a: "1"
  b: "2"
""", """apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  b: null
  c: "3"
"""),
    ("new-assoc-list-with-delete", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      initContainers:
      - name: init
        image: init:1
      - name: gone
        $patch: delete
"""),
    ("duplicate-env-collapsed", """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: c
    env:
    - {name: X, value: "1"}
    - {name: Y, value: "2"}
    - {name: X, value: "3"}
""", """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: c2
"""),
    ("image-pull-secrets-and-hostaliases", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    spec:
      imagePullSecrets:
      - name: reg
      hostAliases:
      - ip: 10.0.0.1
        hostnames: [a]
"""),
    ("topology-spread-multikey", """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      topologySpreadConstraints:
      - {topologyKey: zone, whenUnsatisfiable: DoNotSchedule, maxSkew: 1}
      - {topologyKey: host, whenUnsatisfiable: ScheduleAnyway, maxSkew: 1}
      containers:
      - {name: a, image: a}
""", DEPLOY_HEAD + """spec:
  template:
    spec:
      topologySpreadConstraints:
      - {topologyKey: host, whenUnsatisfiable: ScheduleAnyway, maxSkew: 2}
      - {topologyKey: rack, whenUnsatisfiable: DoNotSchedule, maxSkew: 1}
"""),
    ("name-change-allowed", DEPLOY, """apiVersion: apps/v1
kind: Deployment
metadata:
  name: renamed
  namespace: elsewhere
  annotations:
    config.kubernetes.io/local-config: "false"
spec:
  replicas: 3
""", {"kind": "Deployment"}),
    ("kind-name-restored", DEPLOY, """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: other
spec:
  replicas: 4
""", {"name": "web"}),
    ("error-unknown-directive", DEPLOY, DEPLOY_HEAD + """spec:
  strategy:
    $patch: frobnicate
"""),
    ("error-map-into-scalar", DEPLOY, DEPLOY_HEAD + """spec:
  replicas: {a: 1}
"""),
    ("scalar-types-and-new-fields", DEPLOY, DEPLOY_HEAD + """spec:
  minReadySeconds: 10
  revisionHistoryLimit: 2
  paused: true
  template:
    metadata:
      annotations: {a: "x"}
"""),
    ("empty-map-and-list-in-patch", DEPLOY, DEPLOY_HEAD + """spec:
  template:
    metadata:
      labels: {}
    spec:
      containers:
      - name: app
        env: []
        args: []
"""),
]


def main():
    kubectl = "kubectl"
    if len(sys.argv) > 2 and sys.argv[1] == "--kubectl":
        kubectl = sys.argv[2]
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for case in CASES:
        name, target, patch = case[:3]
        selector = case[3] if len(case) > 3 else None
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with tempfile.TemporaryDirectory() as tmp:
            for fname, body in (("target.yaml", target), ("patch.yaml", patch)):
                with open(os.path.join(tmp, fname), "w") as f:
                    f.write(body)
                with open(os.path.join(d, fname), "w") as f:
                    f.write(body)
            k = "resources:\n- target.yaml\npatches:\n- path: patch.yaml\n"
            if selector:
                k += "  target:\n" + "".join(
                    "    %s: %s\n" % kv for kv in sorted(selector.items()))
            with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
                f.write(k)
            if selector:
                with open(os.path.join(d, "selector.json"), "w") as f:
                    json.dump(selector, f)
            r = subprocess.run([kubectl, "kustomize", tmp],
                               capture_output=True, text=True)
        for fname, body in (("target", target), ("patch", patch)):
            with open(os.path.join(d, fname + ".json"), "w") as f:
                json.dump(yaml.safe_load(body), f, indent=1)
                f.write("\n")
        if r.returncode != 0:
            with open(os.path.join(d, "expected.error"), "w") as f:
                f.write(r.stderr.replace(tmp, "<dir>"))
            print("%-45s error" % name)
            continue
        with open(os.path.join(d, "expected.yaml"), "w") as f:
            f.write(r.stdout)
        docs = [x for x in yaml.safe_load_all(r.stdout) if x is not None]
        if len(docs) > 1:
            raise SystemExit("%s: more than one document" % name)
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(docs[0] if docs else None, f, indent=1)
            f.write("\n")
        print("%-45s ok" % name)


if __name__ == "__main__":
    main()
