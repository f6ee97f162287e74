#!/usr/bin/env python3
"""Generate the crds:/openapi: cases and record what `kubectl kustomize` prints.

Each case becomes <case>/in/... (the file tree), <case>/run (the directory to
build, relative to in/) and either <case>/expected.yaml (kubectl's output) or
<case>/error (kubectl's stderr, when it fails). Run from anywhere:
    python3 tests/data/crds/gen.py
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def defs_json(extra_props=None, name_key=None):
    """A crds: definitions file for example.com/v1 Widget."""
    spec_props = {
        "secretRef": {
            "x-kubernetes-object-ref-api-version": "v1",
            "x-kubernetes-object-ref-kind": "Secret",
        },
        "configMapRef": {
            "x-kubernetes-object-ref-api-version": "v1",
            "x-kubernetes-object-ref-kind": "ConfigMap",
        },
    }
    if name_key:
        spec_props["configMapRef"]["x-kubernetes-object-ref-name-key"] = name_key
    spec_props.update(extra_props or {})
    return json.dumps({
        "example.com/v1.Widget": {
            "Schema": {"properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"$ref": "io.k8s.ObjectMeta"},
                "spec": {"$ref": "example.com/v1.WidgetSpec"},
            }},
            "Dependencies": ["example.com/v1.WidgetSpec"],
        },
        "example.com/v1.WidgetSpec": {"Schema": {"properties": spec_props}},
    }, indent=2) + "\n"


WIDGET = """apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  secretRef:
    name: creds
  configMapRef:
    name: settings
  items:
  - name: a
    weight: 1
  - name: b
    weight: 2
"""

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: app:1
      - name: sidecar
        image: side:1
"""

GENERATORS = """secretGenerator:
- name: creds
  literals: [password=s3cret]
configMapGenerator:
- name: settings
  literals: [mode=fast]
"""


def openapi_doc(key="name", list_map_keys=None):
    items = {
        "type": "array",
        "x-kubernetes-patch-strategy": "merge",
        "x-kubernetes-patch-merge-key": key,
        "items": {"$ref": "#/definitions/com.example.v1.Item"},
    }
    if list_map_keys:
        items["x-kubernetes-list-map-keys"] = list_map_keys
    return json.dumps({
        "swagger": "2.0",
        "definitions": {
            "com.example.v1.Widget": {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "spec": {"$ref": "#/definitions/com.example.v1.WidgetSpec"},
                },
                "x-kubernetes-group-version-kind": [
                    {"group": "example.com", "version": "v1", "kind": "Widget"}],
            },
            "com.example.v1.WidgetSpec": {
                "type": "object",
                "properties": {"items": items},
            },
            "com.example.v1.Item": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "weight": {"type": "integer"},
                    "tags": {"type": "array", "x-kubernetes-patch-strategy": "merge",
                             "items": {"type": "string"}},
                },
            },
        },
    }, indent=1) + "\n"


WIDGET_PATCH = """- patch: |
    apiVersion: example.com/v1
    kind: Widget
    metadata:
      name: w
    spec:
      items:
      - name: c
        weight: 3
      - name: a
        weight: 10
"""

DEPLOY_PATCH = """- patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - name: app
            image: app:2
"""


CASES = {
    "crds-json-prefix-hash": ({
        "kustomization.yaml": "namePrefix: p-\nresources: [widget.yaml]\ncrds: [defs.json]\n" + GENERATORS,
        "widget.yaml": WIDGET,
        "defs.json": defs_json(),
    }, "."),
    "crds-not-applied-without-crds": ({
        "kustomization.yaml": "namePrefix: p-\nresources: [widget.yaml]\n" + GENERATORS,
        "widget.yaml": WIDGET,
    }, "."),
    "crds-yaml-defs-labels-annotations-identity": ({
        "kustomization.yaml": ("namePrefix: p-\ncommonLabels: {team: a}\n"
                               "commonAnnotations: {note: x}\nresources: [widget.yaml]\n"
                               "crds: [defs.yaml]\n"),
        "widget.yaml": WIDGET + "  selector:\n    app: w\n  notes:\n    k: v\n  peer: other\n",
        "defs.yaml": """example.com/v1.Widget:
  schema:
    properties:
      apiVersion: {type: string}
      kind: {type: string}
      metadata: {type: object}
      spec:
        $ref: "#/definitions/Spec"
"#/definitions/Spec":
  Schema:
    properties:
      selector:
        x-kubernetes-label-selector: ""
      notes:
        x-kubernetes-annotation: ""
      peer:
        x-kubernetes-identity: ""
      ignored:
        X-Kubernetes-Identity: ""
""",
    }, "."),
    "crds-name-key": ({
        "kustomization.yaml": "nameSuffix: -s\nresources: [widget.yaml, cm.yaml]\ncrds: [defs.json]\n",
        "widget.yaml": WIDGET.replace("  configMapRef:\n    name: settings\n",
                                      "  configMapRef:\n    id: settings\n"),
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
        "defs.json": defs_json(name_key="id"),
    }, "."),
    "crds-base-config-flows-up": ({
        "base/kustomization.yaml": "resources: [widget.yaml]\ncrds: [defs.json]\n",
        "base/widget.yaml": WIDGET,
        "base/defs.json": defs_json(),
        "overlay/kustomization.yaml": "namePrefix: o-\nresources: [../base]\n" + GENERATORS,
    }, "overlay"),
    "crds-crd-manifest-is-error": ({
        "kustomization.yaml": "resources: [widget.yaml]\ncrds: [crd.yaml]\n",
        "widget.yaml": WIDGET,
        "crd.yaml": """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: []
""",
    }, "."),
    "crds-missing-file": ({
        "kustomization.yaml": "resources: [widget.yaml]\ncrds: [nope.json]\n",
        "widget.yaml": WIDGET,
    }, "."),
    "openapi-custom-merge-key": ({
        "kustomization.yaml": "resources: [widget.yaml]\nopenapi:\n  path: openapi.json\npatches:\n" + WIDGET_PATCH,
        "widget.yaml": WIDGET,
        "openapi.json": openapi_doc(),
    }, "."),
    "openapi-without-field-replaces-list": ({
        "kustomization.yaml": "resources: [widget.yaml]\npatches:\n" + WIDGET_PATCH,
        "widget.yaml": WIDGET,
    }, "."),
    "openapi-custom-replaces-builtin": ({
        "kustomization.yaml": ("resources: [widget.yaml, deploy.yaml]\nopenapi:\n  path: openapi.json\n"
                               "patches:\n" + WIDGET_PATCH + DEPLOY_PATCH),
        "widget.yaml": WIDGET,
        "deploy.yaml": DEPLOY,
        "openapi.json": openapi_doc(),
    }, "."),
    "openapi-yaml-list-map-keys": ({
        "kustomization.yaml": ("resources: [widget.yaml]\nopenapi:\n  path: openapi.yaml\npatches:\n"
                               "- patch: |\n    apiVersion: example.com/v1\n    kind: Widget\n"
                               "    metadata:\n      name: w\n    spec:\n      items:\n"
                               "      - name: a\n        weight: 1\n        tags: [x]\n"
                               "      - name: a\n        weight: 5\n"),
        "widget.yaml": WIDGET,
        "openapi.yaml": "# yaml form\n" + json.dumps(json.loads(openapi_doc(list_map_keys=["name", "weight"]))),
    }, "."),
    "openapi-in-base-late-no-builtin": ({
        "base/kustomization.yaml": "resources: [widget.yaml, deploy.yaml]\nopenapi:\n  path: openapi.json\n",
        "base/widget.yaml": WIDGET,
        "base/deploy.yaml": DEPLOY,
        "base/openapi.json": openapi_doc(),
        "overlay/kustomization.yaml": "resources: [../base]\npatches:\n" + WIDGET_PATCH + DEPLOY_PATCH,
    }, "overlay"),
    "openapi-in-base-after-custom-kind-keeps-builtin": ({
        "base/kustomization.yaml": "resources: [widget.yaml, deploy.yaml]\nopenapi:\n  path: openapi.json\n",
        "base/widget.yaml": WIDGET,
        "base/deploy.yaml": DEPLOY,
        "base/openapi.json": openapi_doc(),
        "overlay/gadget.yaml": "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n",
        "overlay/kustomization.yaml": "resources: [gadget.yaml, ../base]\npatches:\n" + WIDGET_PATCH + DEPLOY_PATCH,
    }, "overlay"),
    "openapi-top-wins-over-base": ({
        "base/kustomization.yaml": "resources: [widget.yaml]\nopenapi:\n  path: openapi.json\n",
        "base/widget.yaml": WIDGET,
        "base/openapi.json": openapi_doc(key="weight"),
        "overlay/openapi.json": openapi_doc(),
        "overlay/kustomization.yaml": "resources: [../base]\nopenapi:\n  path: openapi.json\npatches:\n" + WIDGET_PATCH,
    }, "overlay"),
    "openapi-first-base-wins": ({
        "a/kustomization.yaml": "resources: [widget.yaml]\nopenapi:\n  path: openapi.json\n",
        "a/widget.yaml": WIDGET,
        "a/openapi.json": openapi_doc(key="weight"),
        "b/kustomization.yaml": "resources: [deploy.yaml]\nopenapi:\n  path: openapi.json\n",
        "b/deploy.yaml": DEPLOY,
        "b/openapi.json": openapi_doc(),
        "top/kustomization.yaml": "resources: [../a, ../b]\npatches:\n" + WIDGET_PATCH,
    }, "top"),
    "openapi-version-builtin": ({
        "kustomization.yaml": ("resources: [widget.yaml, deploy.yaml]\nopenapi:\n  version: v1.21.2\n"
                               "patches:\n" + WIDGET_PATCH + DEPLOY_PATCH),
        "widget.yaml": WIDGET,
        "deploy.yaml": DEPLOY,
    }, "."),
    "openapi-unknown-version": ({
        "kustomization.yaml": "resources: [deploy.yaml]\nopenapi:\n  version: v1.99.0\n",
        "deploy.yaml": DEPLOY,
    }, "."),
    "openapi-version-and-path": ({
        "kustomization.yaml": "resources: [deploy.yaml]\nopenapi:\n  version: v1.21.2\n  path: openapi.json\n",
        "deploy.yaml": DEPLOY,
        "openapi.json": openapi_doc(),
    }, "."),
    "openapi-missing-file": ({
        "kustomization.yaml": "resources: [deploy.yaml]\nopenapi:\n  path: nope.json\n",
        "deploy.yaml": DEPLOY,
    }, "."),
    "openapi-missing-file-in-ignored-base": ({
        "base/kustomization.yaml": "resources: [deploy.yaml]\nopenapi:\n  path: nope.json\n",
        "base/deploy.yaml": DEPLOY,
        "overlay/openapi.json": openapi_doc(),
        "overlay/kustomization.yaml": "resources: [../base]\nopenapi:\n  path: openapi.json\n",
    }, "overlay"),
    "openapi-invalid-doc-unused": ({
        "kustomization.yaml": "resources: [cm.yaml]\nopenapi:\n  path: openapi.json\n",
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        "openapi.json": '{"definitions": ',
    }, "."),
    "openapi-invalid-doc-used": ({
        "kustomization.yaml": "resources: [widget.yaml]\nopenapi:\n  path: openapi.json\n",
        "widget.yaml": WIDGET,
        "openapi.json": '{"definitions": ',
    }, "."),
}


def main():
    if not shutil.which("kubectl"):
        sys.exit("kubectl is needed to record the expected output")
    for name, (files, run) in CASES.items():
        case = os.path.join(HERE, name)
        shutil.rmtree(case, ignore_errors=True)
        for rel, text in files.items():
            p = os.path.join(case, "in", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        with open(os.path.join(case, "run"), "w") as f:
            f.write(run + "\n")
        r = subprocess.run(["kubectl", "kustomize", os.path.join("in", run)],
                           cwd=case, capture_output=True, text=True)
        if r.returncode == 0:
            out, kind = r.stdout, "expected.yaml"
        else:
            out, kind = r.stderr, "error"
        with open(os.path.join(case, kind), "w") as f:
            f.write(out)
        print(f"{name}: {kind}")


if __name__ == "__main__":
    main()
