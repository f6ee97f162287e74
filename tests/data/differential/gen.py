#!/usr/bin/env python3
"""Generate the differential test cases for Warden's Kustomize engine.

Each case is a small, feature-dense kustomization tree written to cases/NAME/in/, with `run`
naming the directory built (relative to in/), and what `kubectl kustomize` (v5.5.0) printed:
`expected.yaml` on success, `error` (its stderr) on failure. tests/differential.rs builds each
case in-process and compares semantically.

Deterministic: the cases are written out literally (no randomness). Re-run after editing:

    python3 tests/data/differential/gen.py          # regenerates cases/ (needs kubectl)
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
CASES = []


def case(name, files, run="."):
    CASES.append((name, {k: textwrap.dedent(v).lstrip("\n") for k, v in files.items()}, run))


# ---------------------------------------------------------------- shared building blocks

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      serviceAccountName: runner
      containers:
      - name: app
        image: nginx:1.25
        ports:
        - containerPort: 80
          name: http
        env:
        - name: MODE
          value: prod
        - name: DB_PASS
          valueFrom:
            secretKeyRef:
              name: db
              key: password
        envFrom:
        - configMapRef:
            name: settings
        volumeMounts:
        - name: data
          mountPath: /data
      - name: sidecar
        image: busybox
        args: ["sleep", "infinity"]
      initContainers:
      - name: init
        image: alpine:3.19
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
      - name: cfg
        configMap:
          name: settings
      - name: creds
        secret:
          secretName: db
"""

SVC = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
"""

CM = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
  size: "3"
"""

SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: hunter2
"""

SA = """
apiVersion: v1
kind: ServiceAccount
metadata:
  name: runner
"""

PVC = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
"""

RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader-binding
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: runner
- kind: ServiceAccount
  name: runner
  namespace: other
- kind: User
  name: runner
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: global-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: ServiceAccount
  name: runner
  namespace: default
"""

HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 1
  maxReplicas: 5
"""

INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  defaultBackend:
    service:
      name: web
      port:
        number: 80
  tls:
  - hosts: [a.example.com]
    secretName: db
  rules:
  - host: a.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              name: http
"""

ALL = DEPLOY + "---\n" + SVC + "---\n" + CM + "---\n" + SECRET + "---\n" + SA + "---\n" + PVC

BASE_FILES = {
    "base/kustomization.yaml": """
        resources:
        - all.yaml
        - rbac.yaml
        - hpa.yaml
        - ingress.yaml
        """,
    "base/all.yaml": ALL,
    "base/rbac.yaml": RBAC,
    "base/hpa.yaml": HPA,
    "base/ingress.yaml": INGRESS,
}


def with_base(overlay_k, extra=None):
    files = dict(BASE_FILES)
    files["overlay/kustomization.yaml"] = overlay_k
    for k, v in (extra or {}).items():
        files[k] = v
    return files


# ---------------------------------------------------------------- names and namespaces

case("nameref-prefix-suffix-namespace", with_base("""
    namespace: prod
    namePrefix: p-
    nameSuffix: -s
    resources:
    - ../base
    """), run="overlay")

case("nameref-two-level-prefix", {
    **BASE_FILES,
    "mid/kustomization.yaml": """
        namePrefix: mid-
        namespace: mid
        resources:
        - ../base
        """,
    "top/kustomization.yaml": """
        namePrefix: top-
        nameSuffix: -v2
        namespace: top
        resources:
        - ../mid
        """,
}, run="top")

case("nameref-generated-hash", with_base("""
    namePrefix: x-
    resources:
    - ../base
    configMapGenerator:
    - name: settings
      behavior: replace
      literals:
      - color=red
    secretGenerator:
    - name: db
      behavior: merge
      literals:
      - password=s3cret
    - name: extra
      literals:
      - token=abc
      type: kubernetes.io/opaque
    """), run="overlay")

case("namespace-cluster-scoped-untouched", {
    "kustomization.yaml": """
        namespace: team
        resources:
        - res.yaml
        """,
    "res.yaml": """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: old
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: cr
        rules: []
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: crb
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: cr
        subjects:
        - kind: ServiceAccount
          name: sa
          namespace: old
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: sa
          namespace: old
        ---
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.acme.io
        spec:
          group: acme.io
          names: {kind: Widget, plural: widgets}
          scope: Namespaced
          versions: [{name: v1, served: true, storage: true}]
        """,
})

case("nameref-pvc-sts-volumeclaim", {
    "kustomization.yaml": """
        namePrefix: db-
        resources:
        - sts.yaml
        - pvc.yaml
        """,
    "sts.yaml": """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: pg
        spec:
          serviceName: pg
          selector:
            matchLabels: {app: pg}
          template:
            metadata:
              labels: {app: pg}
            spec:
              containers:
              - name: pg
                image: postgres:16
                volumeMounts:
                - name: data
                  mountPath: /var/lib/postgresql
              volumes:
              - name: data
                persistentVolumeClaim:
                  claimName: data
          volumeClaimTemplates:
          - metadata:
              name: tpl
            spec:
              accessModes: [ReadWriteOnce]
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: pg
        spec:
          clusterIP: None
          selector: {app: pg}
        """,
    "pvc.yaml": PVC,
})

case("nameref-cronjob-job", {
    "kustomization.yaml": """
        nameSuffix: -nightly
        resources:
        - job.yaml
        - sa.yaml
        configMapGenerator:
        - name: script
          literals:
          - run.sh=echo hi
        """,
    "job.yaml": """
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: backup
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: OnFailure
                  serviceAccountName: runner
                  containers:
                  - name: b
                    image: busybox
                    envFrom:
                    - configMapRef: {name: script}
                  volumes:
                  - name: s
                    configMap: {name: script}
        """,
    "sa.yaml": SA,
})

# ---------------------------------------------------------------- labels and annotations

case("labels-selectors-templates", with_base("""
    resources:
    - ../base
    labels:
    - pairs:
        team: a
      includeSelectors: true
    - pairs:
        tier: web
      includeTemplates: true
    - pairs:
        plain: "yes"
    """), run="overlay")

case("commonlabels-commonannotations", with_base("""
    resources:
    - ../base
    commonLabels:
      app.kubernetes.io/part-of: shop
      version: "2"
    commonAnnotations:
      note: |
        multi
        line
      empty: ""
      num: "12"
    """), run="overlay")

case("labels-on-cronjob-and-sts", {
    "kustomization.yaml": """
        commonLabels:
          env: qa
        resources:
        - w.yaml
        """,
    "w.yaml": """
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: c
        spec:
          schedule: "* * * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  containers: [{name: c, image: busybox}]
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: s
        spec:
          selector: {matchLabels: {a: b}}
          template:
            metadata: {labels: {a: b}}
            spec:
              containers: [{name: c, image: busybox}]
          volumeClaimTemplates:
          - metadata: {name: v}
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: d
        spec:
          selector: {matchLabels: {a: b}}
          template:
            metadata: {labels: {a: b}}
            spec:
              containers: [{name: c, image: busybox}]
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata:
          name: p
        spec:
          selector: {matchLabels: {a: b}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: n
        spec:
          podSelector: {matchLabels: {a: b}}
        """,
})

# ---------------------------------------------------------------- images and replicas

case("images-all-forms", {
    "kustomization.yaml": """
        resources:
        - d.yaml
        images:
        - name: nginx
          newTag: "1.27"
        - name: busybox
          newName: registry.local/busybox
        - name: alpine
          newName: mirror.io/alpine
          newTag: "3.20"
        - name: postgres
          digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3
        - name: gcr.io/proj/app
          newName: ghcr.io/org/app
          digest: sha256:0000000000000000000000000000000000000000000000000000000000000001
        """,
    "d.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: d
        spec:
          template:
            spec:
              initContainers:
              - name: i
                image: alpine
              containers:
              - name: a
                image: nginx:1.25
              - name: b
                image: busybox@sha256:aaaa
              - name: c
                image: postgres:15
              - name: e
                image: gcr.io/proj/app:v1
              - name: f
                image: nginxinc/nginx-unprivileged:1
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          containers:
          - name: a
            image: nginx
        """,
})

case("images-tag-and-digest", {
    "kustomization.yaml": """
        resources:
        - d.yaml
        images:
        - name: app
          newTag: v2
          digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
        - name: localhost:5000/x
          newTag: dev
        """,
    "d.yaml": """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: j
        spec:
          template:
            spec:
              containers:
              - {name: a, image: "app:v1"}
              - {name: b, image: "localhost:5000/x:1"}
              - {name: c, image: "localhost:5000/x"}
        """,
})

case("replicas-multi-kinds", {
    "kustomization.yaml": """
        resources:
        - r.yaml
        replicas:
        - name: web
          count: 5
        - name: db
          count: 0
        """,
    "r.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template: {spec: {containers: [{name: a, image: a}]}}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db}
        spec:
          replicas: 3
          template: {spec: {containers: [{name: a, image: a}]}}
        """,
})

case("replicas-with-prefix", with_base("""
    namePrefix: pre-
    resources:
    - ../base
    replicas:
    - name: web
      count: 4
    """), run="overlay")

# ---------------------------------------------------------------- strategic merge patches

case("smp-list-merge-keys", with_base("""
    resources:
    - ../base
    patches:
    - path: p.yaml
    """, {"overlay/p.yaml": """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - name: app
            env:
            - name: MODE
              value: dev
            - name: NEW
              value: "1"
            ports:
            - containerPort: 8080
              name: alt
          - name: extra
            image: redis
          volumes:
          - name: tmp
            emptyDir: {}
    """}), run="overlay")

case("smp-patch-delete-and-replace", with_base("""
    resources:
    - ../base
    patches:
    - path: p.yaml
    """, {"overlay/p.yaml": """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - name: sidecar
            $patch: delete
          - name: app
            env:
            - name: MODE
              $patch: delete
          volumes:
          - $patch: replace
          - name: only
            emptyDir: {}
          initContainers: null
    """}), run="overlay")

case("smp-map-replace-and-null", with_base("""
    resources:
    - ../base
    patches:
    - patch: |-
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector:
            $patch: replace
            tier: front
          ports:
          - port: 80
            targetPort: 8080
          type: NodePort
    - patch: |-
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
        data:
          color: null
          shape: round
    """), run="overlay")

case("smp-directives-retainkeys-order", {
    "kustomization.yaml": """
        resources:
        - d.yaml
        patches:
        - path: p.yaml
        """,
    "d.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          strategy:
            type: RollingUpdate
            rollingUpdate: {maxSurge: 1}
          template:
            spec:
              containers:
              - {name: a, image: a}
              - {name: b, image: b}
              - {name: c, image: c}
        """,
    "p.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          strategy:
            $retainKeys: [type]
            type: Recreate
          template:
            spec:
              $setElementOrder/containers:
              - name: c
              - name: a
              - name: b
              containers:
              - {name: c, image: c2}
        """,
})

case("smp-primitive-lists-and-ports", {
    "kustomization.yaml": """
        resources:
        - s.yaml
        patches:
        - path: p.yaml
        """,
    "s.yaml": """
        apiVersion: v1
        kind: Service
        metadata: {name: s, finalizers: [a, b]}
        spec:
          ports:
          - {port: 80, protocol: TCP, name: http}
          - {port: 53, protocol: UDP, name: dns}
          externalIPs: [1.1.1.1]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          template:
            spec:
              containers:
              - name: a
                image: a
                args: [x, y]
                ports:
                - {containerPort: 53, protocol: UDP}
                - {containerPort: 53, protocol: TCP}
        """,
    "p.yaml": """
        apiVersion: v1
        kind: Service
        metadata: {name: s, finalizers: [c]}
        spec:
          ports:
          - {port: 53, protocol: UDP, name: dns2}
          - {port: 443, name: https}
          externalIPs: [2.2.2.2]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          template:
            spec:
              containers:
              - name: a
                args: [z]
                ports:
                - {containerPort: 53, protocol: TCP, name: tcp-dns}
        """,
})

case("smp-patch-by-target-selector", with_base("""
    resources:
    - ../base
    patches:
    - target:
        kind: Deployment|StatefulSet
        name: w.*
      patch: |-
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: ignored
          annotations:
            patched: "true"
    - target:
        labelSelector: app=web
      patch: |-
        kind: Any
        metadata:
          name: any
          labels:
            selected: label
    """), run="overlay")

case("smp-delete-whole-object", with_base("""
    resources:
    - ../base
    patches:
    - patch: |-
        $patch: delete
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: web
    """), run="overlay")

case("patches-strategic-merge-legacy", with_base("""
    resources:
    - ../base
    patchesStrategicMerge:
    - p.yaml
    - |-
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: runner
      automountServiceAccountToken: false
    """, {"overlay/p.yaml": """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 7
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: web
    spec:
      type: LoadBalancer
    """}), run="overlay")

# ---------------------------------------------------------------- JSON 6902

case("json6902-all-ops", with_base("""
    resources:
    - ../base
    patches:
    - target:
        kind: Deployment
        name: web
      path: ops.yaml
    """, {"overlay/ops.yaml": """
    - op: test
      path: /spec/replicas
      value: 1
    - op: add
      path: /spec/template/spec/containers/0/args
      value: ["--flag"]
    - op: add
      path: /spec/template/spec/containers/-
      value: {name: last, image: last}
    - op: remove
      path: /spec/template/spec/initContainers
    - op: replace
      path: /spec/replicas
      value: 3
    - op: copy
      from: /spec/template/spec/containers/0/image
      path: /metadata/annotations
      value: ignored
    - op: move
      from: /spec/template/spec/containers/1
      path: /spec/template/spec/containers/0
    - op: add
      path: /metadata/labels/a~1b
      value: slash
    """}), run="overlay")

case("json6902-copy-move-annotations", {
    "kustomization.yaml": """
        resources:
        - c.yaml
        patches:
        - target: {kind: ConfigMap}
          patch: |-
            - op: add
              path: /metadata/annotations
              value: {}
            - op: copy
              from: /data/a
              path: /metadata/annotations/copied
            - op: move
              from: /data/b
              path: /data/moved
            - op: replace
              path: /data/a
              value: "replaced"
        """,
    "c.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c1}
        data: {a: x, b: y}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c2}
        data: {a: p, b: q}
        """,
})

case("json6902-test-fails", with_base("""
    resources:
    - ../base
    patches:
    - target: {kind: Service}
      patch: |-
        - op: test
          path: /spec/ports/0/port
          value: 81
    """), run="overlay")

case("json6902-replace-missing-key", {
    "kustomization.yaml": """
        resources:
        - c.yaml
        patches:
        - target: {kind: ConfigMap}
          patch: |-
            - op: replace
              path: /data/nothere
              value: v
        """,
    "c.yaml": CM,
})

case("json6902-remove-missing-key", {
    "kustomization.yaml": """
        resources:
        - c.yaml
        patches:
        - target: {kind: ConfigMap}
          patch: |-
            - op: remove
              path: /data/nothere
        """,
    "c.yaml": CM,
})

case("json6902-legacy-field-json", with_base("""
    resources:
    - ../base
    patchesJson6902:
    - target:
        group: apps
        version: v1
        kind: Deployment
        name: web
      path: p.json
    """, {"overlay/p.json": """
    [{"op": "add", "path": "/spec/paused", "value": true},
     {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "busybox:1.36"}]
    """}), run="overlay")

case("target-annotation-selector-regex", {
    "kustomization.yaml": """
        resources:
        - c.yaml
        patches:
        - target:
            kind: ConfigMap
            annotationSelector: tier in (front,back),!skip
          patch: |-
            - op: add
              path: /data/hit
              value: "1"
        - target:
            name: ^c[0-9]$
            namespace: ns.*
          patch: |-
            - op: add
              path: /data/nsre
              value: "1"
        - target:
            labelSelector: env!=prod
          patch: |-
            - op: add
              path: /data/labelsel
              value: "1"
        """,
    "c.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c1, namespace: ns1, annotations: {tier: front}, labels: {env: dev}}
        data: {}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c2, namespace: other, annotations: {tier: back, skip: "y"}, labels: {env: prod}}
        data: {}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c33, namespace: ns2, annotations: {tier: mid}}
        data: {}
        """,
})

# ---------------------------------------------------------------- generators

case("generators-options-and-sources", {
    "kustomization.yaml": """
        generatorOptions:
          labels: {gen: "yes"}
          annotations: {note: generated}
        configMapGenerator:
        - name: from-files
          files:
          - app.properties
          - renamed.txt=other.txt
        - name: from-env
          envs:
          - vars.env
        - name: no-hash
          options:
            disableNameSuffixHash: true
            immutable: true
          literals:
          - "quoted='single'"
          - multi=a b c
          - empty=
        secretGenerator:
        - name: tls
          type: kubernetes.io/tls
          files:
          - tls.crt=other.txt
          - tls.key=other.txt
        """,
    "app.properties": "a=1\nb=two\n",
    "other.txt": "some text\nwith lines\n",
    "vars.env": "# comment\nFOO=bar\nEMPTY=\nSPACED = x y \n",
})

case("generators-behavior-merge-replace", {
    **BASE_FILES,
    "base2/kustomization.yaml": """
        resources:
        - ../base
        configMapGenerator:
        - name: gen
          literals: [a=1, b=2]
        secretGenerator:
        - name: sgen
          literals: [k=v]
        """,
    "overlay/kustomization.yaml": """
        namePrefix: o-
        resources:
        - ../base2
        configMapGenerator:
        - name: gen
          behavior: merge
          literals: [b=3, c=4]
        - name: settings
          behavior: replace
          literals: [only=this]
        secretGenerator:
        - name: sgen
          behavior: replace
          literals: [k2=v2]
        """,
}, run="overlay")

case("generator-behavior-merge-missing", {
    "kustomization.yaml": """
        configMapGenerator:
        - name: nope
          behavior: merge
          literals: [a=1]
        """,
})

case("generator-referenced-by-volume-and-env", {
    "kustomization.yaml": """
        namespace: gen
        resources:
        - pod.yaml
        configMapGenerator:
        - name: cfg
          literals: [k=v]
        secretGenerator:
        - name: sec
          literals: [p=q]
        """,
    "pod.yaml": """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - name: c
            image: busybox
            env:
            - name: K
              valueFrom: {configMapKeyRef: {name: cfg, key: k}}
            - name: P
              valueFrom: {secretKeyRef: {name: sec, key: p}}
          volumes:
          - name: v
            projected:
              sources:
              - configMap: {name: cfg}
              - secret: {name: sec}
          imagePullSecrets:
          - name: sec
        """,
})

# ---------------------------------------------------------------- components

case("components-basic", {
    **BASE_FILES,
    "comp/kustomization.yaml": """
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        resources:
        - extra.yaml
        patches:
        - target: {kind: Deployment}
          patch: |-
            - op: add
              path: /spec/template/spec/containers/0/env/-
              value: {name: COMPONENT, value: "on"}
        configMapGenerator:
        - name: settings
          behavior: merge
          literals: [fromcomp=1]
        """,
    "comp/extra.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: comp-extra}
        data: {x: y}
        """,
    "overlay/kustomization.yaml": """
        namePrefix: c-
        resources:
        - ../base
        components:
        - ../comp
        """,
}, run="overlay")

case("components-order-and-two", {
    **BASE_FILES,
    "c1/kustomization.yaml": """
        kind: Component
        commonLabels: {c1: "yes"}
        images:
        - name: nginx
          newTag: from-c1
        """,
    "c2/kustomization.yaml": """
        kind: Component
        images:
        - name: nginx
          newTag: from-c2
        replicas:
        - name: web
          count: 9
        """,
    "overlay/kustomization.yaml": """
        resources:
        - ../base
        components:
        - ../c1
        - ../c2
        images:
        - name: busybox
          newTag: overlay
        """,
}, run="overlay")

case("component-as-resource-error", {
    "comp/kustomization.yaml": """
        kind: Component
        resources: []
        """,
    "kustomization.yaml": """
        resources:
        - comp
        """,
})

# ---------------------------------------------------------------- replacements and vars

case("replacements-basic", with_base("""
    namePrefix: r-
    resources:
    - ../base
    replacements:
    - source:
        kind: Service
        name: web
        fieldPath: metadata.name
      targets:
      - select:
          kind: Deployment
        fieldPaths:
        - spec.template.spec.containers.[name=app].env.[name=MODE].value
      - select:
          kind: ConfigMap
        reject:
        - name: nothing
        fieldPaths:
        - data.color
        options:
          create: true
    - source:
        kind: Deployment
        fieldPath: spec.template.spec.containers.0.image
        options:
          delimiter: ":"
          index: 1
      targets:
      - select:
          kind: ConfigMap
        fieldPaths:
        - data.size
    """), run="overlay")

case("replacements-delimiter-create", {
    "kustomization.yaml": """
        resources:
        - r.yaml
        replacements:
        - source:
            kind: ConfigMap
            name: src
            fieldPath: data.host
          targets:
          - select:
              kind: Deployment
            fieldPaths:
            - spec.template.spec.containers.*.env.[name=URL].value
            options:
              delimiter: "/"
              index: 2
          - select:
              kind: Deployment
            fieldPaths:
            - metadata.annotations.host
            options:
              create: true
        """,
    "r.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: src}
        data: {host: db.internal}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          template:
            spec:
              containers:
              - name: a
                image: a
                env:
                - {name: URL, value: "http://old/path"}
              - name: b
                image: b
                env:
                - {name: URL, value: "https://old"}
        """,
})

case("replacements-missing-source-error", {
    "kustomization.yaml": """
        resources:
        - c.yaml
        replacements:
        - source:
            kind: Secret
            name: nope
            fieldPath: data.x
          targets:
          - select: {kind: ConfigMap}
            fieldPaths: [data.a]
        """,
    "c.yaml": CM,
})

case("vars-legacy", with_base("""
    resources:
    - ../base
    vars:
    - name: SVC
      objref:
        kind: Service
        name: web
        apiVersion: v1
    - name: PORT
      objref:
        kind: Service
        name: web
        apiVersion: v1
      fieldref:
        fieldpath: spec.ports[0].port
    patches:
    - target: {kind: Deployment}
      patch: |-
        - op: add
          path: /spec/template/spec/containers/0/args
          value: ["--svc=$(SVC)", "--port=$(PORT)", "$(UNKNOWN)"]
    """), run="overlay")

# ---------------------------------------------------------------- resource shapes

case("list-kinds", {
    "kustomization.yaml": """
        namePrefix: l-
        resources:
        - list.yaml
        """,
    "list.yaml": """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: a}
          data: {k: v}
        - apiVersion: v1
          kind: Service
          metadata: {name: b}
          spec: {ports: [{port: 1}]}
        ---
        apiVersion: v1
        kind: ConfigMapList
        items:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: c}
        """,
})

case("multidoc-empty-and-comments", {
    "kustomization.yaml": """
        resources:
        - m.yaml
        """,
    "m.yaml": """
        # leading comment
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: one  # trailing
        data:
          k: "v"
        ---
        ---
        # only a comment
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: two}
        data:
          bool: "true"
          int: "010"
          anchor: &a shared
          alias: *a
        ...
        """,
})

case("scalars-quoting-roundtrip", {
    "kustomization.yaml": """
        resources:
        - s.yaml
        """,
    "s.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: scalars
          annotations:
            a: "yes"
            b: "on"
            c: "1e3"
            d: "0x10"
            e: "~"
            f: ": colon"
            g: "- dash"
            h: "#hash"
            i: "with 'single' quotes"
            j: "tab\\there"
            k: "trailing space "
            l: "2024-01-01"
            m: "null"
            n: "@at"
        data:
          block: |
            line1
              indented
            line3
          folded: >
            folded
            text
          unicode: "héllo ✓"
        """,
})

case("crd-custom-kind-passthrough", {
    "kustomization.yaml": """
        namePrefix: p-
        namespace: ns
        commonLabels: {l: v}
        resources:
        - w.yaml
        images:
        - name: nginx
          newTag: x
        """,
    "w.yaml": """
        apiVersion: acme.io/v1
        kind: Widget
        metadata: {name: w}
        spec:
          image: nginx
          containers:
          - name: c
            image: nginx
          template:
            spec:
              containers:
              - name: c
                image: nginx:1
        """,
})

# ---------------------------------------------------------------- overlays and ordering

case("three-level-overlays", {
    **BASE_FILES,
    "l1/kustomization.yaml": """
        namePrefix: l1-
        commonLabels: {level: "1"}
        resources:
        - ../base
        patches:
        - target: {kind: Service}
          patch: |-
            - op: replace
              path: /spec/ports/0/port
              value: 8080
        """,
    "l2/kustomization.yaml": """
        nameSuffix: -l2
        commonAnnotations: {level: "2"}
        resources:
        - ../l1
        - extra.yaml
        """,
    "l2/extra.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: l2-only}
        """,
    "l3/kustomization.yaml": """
        namespace: l3
        namePrefix: l3-
        resources:
        - ../l2
        patches:
        - patch: |-
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: l1-web-l2
            spec:
              replicas: 3
        """,
}, run="l3")

case("diamond-bases-different-prefix", {
    "base/kustomization.yaml": "resources:\n- cm.yaml\n",
    "base/cm.yaml": CM,
    "a/kustomization.yaml": "namePrefix: a-\nresources:\n- ../base\n",
    "b/kustomization.yaml": "namePrefix: b-\nresources:\n- ../base\n",
    "top/kustomization.yaml": """
        resources:
        - ../a
        - ../b
        - pod.yaml
        """,
    "top/pod.yaml": """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: c, image: i}]
          volumes:
          - name: v
            configMap: {name: a-settings}
        """,
}, run="top")

case("sort-fifo", with_base("""
    sortOptions:
      order: fifo
    resources:
    - ../base
    - ns.yaml
    """, {"overlay/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: zz\n"}), run="overlay")

case("sort-legacy-custom", with_base("""
    sortOptions:
      order: legacy
      legacySortOptions:
        orderFirst: [ConfigMap, Service]
        orderLast: [Deployment]
    resources:
    - ../base
    """), run="overlay")

case("sort-legacy-default", with_base("""
    resources:
    - ns.yaml
    - ../base
    """, {"overlay/ns.yaml": """
    apiVersion: v1
    kind: Namespace
    metadata:
      name: zz
    ---
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: b.x.io
    ---
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata:
      name: hook
    """}), run="overlay")

case("kustomization-yml-and-Kustomization-names", {
    "a/kustomization.yml": "resources:\n- cm.yaml\nnamePrefix: yml-\n",
    "a/cm.yaml": CM,
    "b/Kustomization": "resources:\n- ../a\nnameSuffix: -K\n",
}, run="b")

case("namespace-override-in-overlay", {
    "base/kustomization.yaml": "namespace: basens\nresources:\n- all.yaml\n- rbac.yaml\n",
    "base/all.yaml": ALL,
    "base/rbac.yaml": RBAC,
    "overlay/kustomization.yaml": "namespace: overns\nresources:\n- ../base\n",
}, run="overlay")

case("same-name-different-namespaces", {
    "kustomization.yaml": """
        namePrefix: p-
        resources:
        - r.yaml
        """,
    "r.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: a}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: b}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: b}
        spec:
          containers: [{name: c, image: i}]
          volumes: [{name: v, configMap: {name: c}}]
        """,
})

# ---------------------------------------------------------------- error cases

case("error-missing-resource-file", {
    "kustomization.yaml": "resources:\n- nothere.yaml\n",
})

case("error-missing-patch-file", {
    "kustomization.yaml": "resources:\n- c.yaml\npatches:\n- path: nothere.yaml\n",
    "c.yaml": CM,
})

case("error-patch-target-not-found", {
    "kustomization.yaml": """
        resources:
        - c.yaml
        patches:
        - patch: |-
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: nothere
            data: {a: b}
        """,
    "c.yaml": CM,
})

case("error-json6902-bad-path", {
    "kustomization.yaml": """
        resources:
        - c.yaml
        patches:
        - target: {kind: ConfigMap}
          patch: |-
            - op: add
              path: /no/such/parent
              value: 1
        """,
    "c.yaml": CM,
})

case("error-id-conflict", {
    "kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
    "a.yaml": CM,
    "b.yaml": CM,
})

case("error-id-conflict-two-bases", {
    "base/kustomization.yaml": "resources:\n- cm.yaml\n",
    "base/cm.yaml": CM,
    "x/kustomization.yaml": "resources:\n- ../base\n",
    "top/kustomization.yaml": "resources:\n- ../base\n- ../x\n",
}, run="top")

case("error-cycle", {
    "a/kustomization.yaml": "resources:\n- ../b\n",
    "b/kustomization.yaml": "resources:\n- ../a\n",
}, run="a")

case("error-file-outside-root", {
    "secret.txt": "s3cret\n",
    "app/kustomization.yaml": """
        configMapGenerator:
        - name: leak
          files:
          - ../secret.txt
        """,
}, run="app")

case("error-patch-outside-root", {
    "p.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {x: y}\n",
    "app/kustomization.yaml": "resources:\n- c.yaml\npatches:\n- path: ../p.yaml\n",
    "app/c.yaml": CM,
}, run="app")

case("error-unknown-field", {
    "kustomization.yaml": "resources:\n- c.yaml\nnotAField: 1\n",
    "c.yaml": CM,
})

case("error-bad-yaml-resource", {
    "kustomization.yaml": "resources:\n- c.yaml\n",
    "c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
})

case("error-missing-kind", {
    "kustomization.yaml": "resources:\n- c.yaml\n",
    "c.yaml": "apiVersion: v1\nmetadata:\n  name: x\n",
})

case("error-no-kustomization", {
    "c.yaml": CM,
})

case("error-generator-duplicate", {
    "kustomization.yaml": """
        configMapGenerator:
        - name: g
          literals: [a=1]
        - name: g
          literals: [b=2]
        """,
})

case("error-replicas-name-absent", {
    "kustomization.yaml": "resources:\n- c.yaml\nreplicas:\n- name: absent\n  count: 2\n",
    "c.yaml": DEPLOY,
})

case("error-replicas-bad-count", {
    "kustomization.yaml": "resources:\n- c.yaml\nreplicas:\n- name: web\n  count: many\n",
    "c.yaml": DEPLOY,
})


def main():
    if shutil.which("kubectl") is None:
        print("kubectl not found", file=sys.stderr)
        return 2
    shutil.rmtree(OUT, ignore_errors=True)
    names = set()
    for name, files, run in CASES:
        assert name not in names, f"duplicate case {name}"
        names.add(name)
        cdir = os.path.join(OUT, name)
        for rel, text in files.items():
            p = os.path.join(cdir, "in", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        build = os.path.join(cdir, "in", run)
        os.makedirs(build, exist_ok=True)
        with open(os.path.join(cdir, "run"), "w") as f:
            f.write(run + "\n")
        p = subprocess.run(["kubectl", "kustomize", build], capture_output=True, text=True)
        if p.returncode == 0:
            with open(os.path.join(cdir, "expected.yaml"), "w") as f:
                f.write(p.stdout)
            status = "ok"
        else:
            # Keep the message, not the machine-specific absolute paths.
            err = p.stderr.replace(os.path.join(cdir, "in"), "<in>")
            # Drop klog's timestamp/pid prefix so regeneration is stable.
            err = re.sub(r"^E\d{4} [0-9:.]+ +\d+ [a-z_.]+:\d+\] ", "", err, flags=re.M)
            err = re.sub(r"0xc[0-9a-f]+", "0x…", err)
            with open(os.path.join(cdir, "error"), "w") as f:
                f.write(err)
            status = "error: " + err.strip().splitlines()[-1][:100]
        print(f"{name}: {status}")
    print(f"{len(CASES)} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
