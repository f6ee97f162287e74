#!/usr/bin/env python3
"""Differential cases for kustomize's builtin plugin configs (generators:, transformers:,
validators:), recorded from `kubectl kustomize` (Kustomize v5.5.0).

usage: python3 tests/data/builtins/gen.py   (rewrites tests/data/builtins/cases/)

Each case is cases/<name>/in/ (the build directory is in/<run>, `run` holds <run>) plus
expected.yaml when kubectl succeeds, or `error` (kubectl's message) when it fails.
tests/builtins.rs renders every case in-process and compares.
"""
import os, re, shutil, subprocess, sys, textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")

DEPLOY = """\
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
      containers:
      - name: web
        image: nginx:1.0
        env:
        - name: CFG
          valueFrom:
            configMapKeyRef:
              name: cfg
              key: a
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
"""
CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
"""
RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: rb
  namespace: keep
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: r
subjects:
- kind: ServiceAccount
  name: default
- kind: ServiceAccount
  name: worker
- kind: User
  name: alice
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: worker
"""

BASE = {"deploy.yaml": DEPLOY, "service.yaml": SERVICE, "cm.yaml": CM}
RES = "resources:\n- deploy.yaml\n- service.yaml\n- cm.yaml\n"


def inline(field, *configs):
    out = f"{field}:\n"
    for c in configs:
        out += "- |-\n" + textwrap.indent(textwrap.dedent(c).strip("\n"), "  ") + "\n"
    return out


CASES = {
    # --- transformers, inline ---
    "prefix_inline": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: PrefixTransformer
        metadata:
          name: p
        prefix: pre-
        fieldSpecs:
        - path: metadata/name
        """)},
    "suffix_kind_limited": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: SuffixTransformer
        metadata:
          name: s
        suffix: -x
        fieldSpecs:
        - kind: ConfigMap
          path: metadata/name
        """)},
    "prefix_missing_fieldspecs": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: PrefixTransformer
        metadata:
          name: p
        prefix: pre-
        """)},
    "legacy_prefix_suffix": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: PrefixSuffixTransformer
        metadata:
          name: ps
        prefix: a-
        suffix: -z
        fieldSpecs:
        - path: metadata/name
        """)},
    "labels_custom_fieldspecs": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: LabelTransformer
        metadata:
          name: l
        labels:
          team: blue
        fieldSpecs:
        - path: metadata/labels
          create: true
        - kind: Deployment
          path: spec/template/metadata/labels
          create: true
        """)},
    "annotations_no_fieldspecs": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: AnnotationsTransformer
        metadata:
          name: a
        annotations:
          note: hi
        """)},
    "annotations_inline": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: AnnotationsTransformer
        metadata:
          name: a
        annotations:
          note: hi
        fieldSpecs:
        - path: metadata/annotations
          create: true
        """)},
    "namespace_unset_only": {**BASE, "cm2.yaml": CM.replace("name: cfg", "name: cfg2\n  namespace: mine"),
        "kustomization.yaml": RES + "- cm2.yaml\n" + inline("transformers", """
        apiVersion: builtin
        kind: NamespaceTransformer
        metadata:
          name: n
          namespace: target
        unsetOnly: true
        fieldSpecs:
        - path: metadata/namespace
          create: true
        """)},
    "namespace_all_service_accounts": {"rbac.yaml": RBAC, "kustomization.yaml": "resources:\n- rbac.yaml\n" + inline("transformers", """
        apiVersion: builtin
        kind: NamespaceTransformer
        metadata:
          name: n
          namespace: prod
        setRoleBindingSubjects: allServiceAccounts
        fieldSpecs:
        - path: metadata/namespace
          create: true
        """)},
    "namespace_no_subjects": {"rbac.yaml": RBAC, "kustomization.yaml": "resources:\n- rbac.yaml\n" + inline("transformers", """
        apiVersion: builtin
        kind: NamespaceTransformer
        metadata:
          name: n
          namespace: prod
        setRoleBindingSubjects: none
        """)},
    "namespace_bad_subject_mode": {"rbac.yaml": RBAC, "kustomization.yaml": "resources:\n- rbac.yaml\n" + inline("transformers", """
        apiVersion: builtin
        kind: NamespaceTransformer
        metadata:
          name: n
          namespace: prod
        setRoleBindingSubjects: bogus
        """)},
    "image_tag": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: ImageTagTransformer
        metadata:
          name: i
        imageTag:
          name: nginx
          newName: registry.local/nginx
          newTag: "2.0"
        """)},
    "replica_count": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: ReplicaCountTransformer
        metadata:
          name: r
        replica:
          name: web
          count: 5
        fieldSpecs:
        - kind: Deployment
          path: spec/replicas
          create: true
        """)},
    "patch_transformer_json": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: PatchTransformer
        metadata:
          name: p
        target:
          kind: Deployment
        patch: |-
          - op: replace
            path: /spec/replicas
            value: 3
        """)},
    "patch_strategic_merge_file": {**BASE,
        "smp.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n",
        "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: PatchStrategicMergeTransformer
        metadata:
          name: p
        paths:
        - smp.yaml
        patches: |-
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: cfg
          data:
            b: "2"
        """)},
    "patch_json6902": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: PatchJson6902Transformer
        metadata:
          name: j
        target:
          group: apps
          version: v1
          kind: Deployment
          name: web
        jsonOp: '[{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}]'
        """)},
    "replacement_transformer": {**BASE,
        "repl.yaml": "source:\n  kind: Service\n  name: web\n  fieldPath: metadata.name\ntargets:\n- select:\n    kind: ConfigMap\n  fieldPaths:\n  - data.svc\n  options:\n    create: true\n",
        "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: ReplacementTransformer
        metadata:
          name: r
        replacements:
        - path: repl.yaml
        - source:
            kind: Deployment
            name: web
            fieldPath: spec.template.spec.containers.0.image
          targets:
          - select:
              kind: ConfigMap
            fieldPaths:
            - data.image
            options:
              create: true
        """)},
    "value_add": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: ValueAddTransformer
        metadata:
          name: v
        value: added
        targets:
        - selector:
            kind: ConfigMap
          fieldPath: data/extra
        - selector:
            kind: Service
          fieldPath: metadata/namespace
        """)},
    "hash_transformer": {**BASE, "kustomization.yaml": RES + "configMapGenerator:\n- name: gen\n  literals:\n  - k=v\n" + inline("transformers", """
        apiVersion: builtin
        kind: HashTransformer
        metadata:
          name: h
        """)},
    # --- transformers from files and directories ---
    "transformer_file_multi": {**BASE,
        "plugins.yaml": "apiVersion: builtin\nkind: PrefixTransformer\nmetadata:\n  name: p\nprefix: f-\nfieldSpecs:\n- path: metadata/name\n---\napiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels:\n  from: file\nfieldSpecs:\n- path: metadata/labels\n  create: true\n",
        "kustomization.yaml": RES + "namePrefix: k-\ntransformers:\n- plugins.yaml\n"},
    "transformer_directory": {**BASE,
        "tdir/kustomization.yaml": "resources:\n- suffix.yaml\n",
        "tdir/suffix.yaml": "apiVersion: builtin\nkind: SuffixTransformer\nmetadata:\n  name: s\nsuffix: -d\nfieldSpecs:\n- path: metadata/name\n",
        "kustomization.yaml": RES + "transformers:\n- tdir\n"},
    "inline_and_file_order": {**BASE,
        "late.yaml": "apiVersion: builtin\nkind: PrefixTransformer\nmetadata:\n  name: late\nprefix: file-\nfieldSpecs:\n- path: metadata/name\n",
        "kustomization.yaml": RES + "transformers:\n- late.yaml\n" + inline("", """
        apiVersion: builtin
        kind: PrefixTransformer
        metadata:
          name: early
        prefix: inline-
        fieldSpecs:
        - path: metadata/name
        """)[2:]},
    # --- generators ---
    "configmap_generator_plugin": {**BASE, "app.env": "A=1\nB=2\n",
        "gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: envcm\n  namespace: ns1\nenvs:\n- app.env\nliterals:\n- C=3\n",
        "kustomization.yaml": RES + "generators:\n- gen.yaml\n"},
    "secret_generator_plugin_merge": {**BASE,
        "kustomization.yaml": RES + "secretGenerator:\n- name: sec\n  literals:\n  - a=1\n" + inline("generators", """
        apiVersion: builtin
        kind: SecretGenerator
        metadata:
          name: sec
        behavior: merge
        literals:
        - b=2
        """)},
    "iam_policy_generator": {"kustomization.yaml": inline("generators", """
        apiVersion: builtin
        kind: IAMPolicyGenerator
        metadata:
          name: iam
        cloud: gke
        kubernetesService:
          name: ksa
        serviceAccount:
          name: gsa
          projectId: proj
        """)},
    "iam_policy_bad_cloud": {"kustomization.yaml": inline("generators", """
        apiVersion: builtin
        kind: IAMPolicyGenerator
        metadata:
          name: iam
        cloud: aws
        kubernetesService:
          name: ksa
        serviceAccount:
          name: gsa
          projectId: proj
        """)},
    "generator_in_transformers": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: ConfigMapGenerator
        metadata:
          name: x
        literals:
        - a=b
        """)},
    # --- validators ---
    "validator_noop": {**BASE, "kustomization.yaml": RES + inline("validators", """
        apiVersion: builtin
        kind: LabelTransformer
        metadata:
          name: v
        """)},
    "validator_modifies": {**BASE, "kustomization.yaml": RES + inline("validators", """
        apiVersion: builtin
        kind: LabelTransformer
        metadata:
          name: v
        labels:
          x: y
        fieldSpecs:
        - path: metadata/labels
          create: true
        """)},
    # --- refused ---
    "non_builtin_plugin": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: someteam.example.com/v1
        kind: ChartRenderer
        metadata:
          name: x
        """)},
    "exec_function": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: example.com/v1
        kind: Injector
        metadata:
          name: x
          annotations:
            config.kubernetes.io/function: |
              exec:
                path: ./inject.sh
        """)},
    "sort_order_not_a_plugin": {**BASE, "kustomization.yaml": RES + inline("transformers", """
        apiVersion: builtin
        kind: SortOrderTransformer
        metadata:
          name: s
        """)},
    "missing_config_path": {**BASE, "kustomization.yaml": RES + "transformers:\n- nothere.yaml\n"},
}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for name, files in sorted(CASES.items()):
        case = os.path.join(OUT, name)
        for rel, text in files.items():
            p = os.path.join(case, "in", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        with open(os.path.join(case, "run"), "w") as f:
            f.write(".\n")
        r = subprocess.run(["kubectl", "kustomize", os.path.join(case, "in")],
                           capture_output=True, text=True)
        if r.returncode == 0:
            with open(os.path.join(case, "expected.yaml"), "w") as f:
                f.write(r.stdout)
            print(f"ok    {name}")
        else:
            # Drop klog's timestamp prefix and this machine's paths.
            msg = re.sub(r"^E\d{4} [\d:.]+\s+\d+ \S+\] ", "", r.stderr, flags=re.M)
            msg = msg.replace(os.path.join(case, "in"), "<in>")
            with open(os.path.join(case, "error"), "w") as f:
                f.write(msg)
            print(f"error {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
