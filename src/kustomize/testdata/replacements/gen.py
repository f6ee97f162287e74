#!/usr/bin/env python3
"""Generate differential cases for `replacements:` with `kubectl kustomize` (v5.5.0) as oracle.

Each case is a kustomization holding only `resources:` and inline `replacements:`; no other
kustomize feature (prefixes/suffixes, namespaces, labels, patches, generators, name references)
is used, and no created annotation/label receives an empty value (kustomize turns a null
annotation into "" when it rewrites metadata at the end of a build), so the expected output is
reproducible by the replacement step alone. The result is written to cases.json next to this script: name, resources, replacements, and either
`expected` (the built objects) or `error` (kustomize's message).

Run: python3 gen.py   (needs kubectl on PATH)
"""
import json, os, subprocess, tempfile, yaml

HERE = os.path.dirname(os.path.abspath(__file__))

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "src"},
      "data": {"img": "nginx:1.25", "num": "3", "word": "hello", "host": "a.example.com",
               "csv": "x,y,z", "flag": "true", "empty": ""}}
CM2 = {"apiVersion": "v1", "kind": "ConfigMap",
       "metadata": {"name": "other", "namespace": "ns1", "labels": {"app": "web"}},
       "data": {"num": "7", "word": "bye"}}
DEP = {"apiVersion": "apps/v1", "kind": "Deployment",
       "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"},
                    "annotations": {"example.com/owner": "me"}},
       "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "app", "image": "busybox", "args": ["--a", "--b"],
                     "env": [{"name": "HOST", "value": "none"}, {"name": "N", "value": "1"}],
                     "ports": [{"containerPort": 80}]},
                    {"name": "app-sidecar", "image": "envoy:1"},
                    {"name": "log", "image": "fluent:2"}]}}}}
DEP2 = {"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "db", "namespace": "ns1", "labels": {"app": "db"}},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "app", "image": "postgres:15"}]}}}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-svc"},
       "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "web"}}}
ING = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing"},
       "spec": {"rules": [{"host": "old.example.com"}, {"host": "old2.example.com"}]}}

BASE = [CM, CM2, DEP, DEP2, SVC, ING]


def T(select, paths=None, **kw):
    t = {"select": select}
    if paths is not None:
        t["fieldPaths"] = paths
    t.update(kw)
    return t


CASES = [
    ("default-name-to-name", [{"source": {"kind": "ConfigMap", "name": "src"},
                               "targets": [T({"kind": "Service"}, ["metadata.annotations.from"], options={"create": True})]}]),
    ("image-by-name-regex", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.img"},
                              "targets": [T({"kind": "Deployment", "name": "web"},
                                            ["spec.template.spec.containers.[name=app].image"])]}]),
    ("anchored-regex-match", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.img"},
                               "targets": [T({"kind": "Deployment"},
                                             ["spec.template.spec.containers.[name=^app$].image"])]}]),
    ("string-into-int", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.num"},
                          "targets": [T({"kind": "Deployment"}, ["spec.replicas"])]}]),
    ("int-into-string", [{"source": {"kind": "Deployment", "name": "db", "fieldPath": "spec.replicas"},
                          "targets": [T({"kind": "ConfigMap", "name": "src"}, ["data.word"])]}]),
    ("word-into-int-errors", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.word"},
                               "targets": [T({"kind": "Deployment"}, ["spec.replicas"])]}]),
    ("source-delimiter", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.img",
                                      "options": {"delimiter": ":", "index": 1}},
                           "targets": [T({"kind": "Deployment", "name": "db"},
                                         ["spec.template.spec.containers.0.image"],
                                         options={"delimiter": ":", "index": 1})]}]),
    ("target-delimiter-prefix-suffix", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.word"},
                                         "targets": [T({"kind": "Deployment", "name": "db"},
                                                       ["spec.template.spec.containers.0.image"],
                                                       options={"delimiter": ":", "index": -1}),
                                                     T({"kind": "Deployment", "name": "web"},
                                                       ["spec.template.spec.containers.[name=log].image"],
                                                       options={"delimiter": ":", "index": 9})]}]),
    ("index-out-of-bounds", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.csv",
                                         "options": {"delimiter": ",", "index": 3}},
                              "targets": [T({"kind": "Service"}, ["metadata.name"])]}]),
    ("create-nested", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.host"},
                        "targets": [T({"kind": "Ingress"}, ["spec.tls.0.hosts.0", "spec.defaultBackend.service.name"],
                                      options={"create": True})]}]),
    ("missing-field-no-create", [{"source": {"kind": "ConfigMap", "name": "src"},
                                  "targets": [T({"kind": "Ingress"}, ["spec.tls.0.secretName"])]}]),
    ("wildcard", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.host"},
                   "targets": [T({"kind": "Ingress"}, ["spec.rules.*.host"])]}]),
    ("env-value-by-name", [{"source": {"kind": "Service", "name": "web-svc"},
                            "targets": [T({"kind": "Deployment", "name": "web"},
                                          ["spec.template.spec.containers.[name=app].env.[name=HOST].value"])]}]),
    ("copy-map", [{"source": {"kind": "Service", "fieldPath": "spec.selector"},
                   "targets": [T({"kind": "Deployment", "name": "db"}, ["spec.selector.matchLabels"],
                                 options={"create": True})]}]),
    ("copy-list", [{"source": {"kind": "Deployment", "name": "web",
                               "fieldPath": "spec.template.spec.containers.[name=app].args"},
                    "targets": [T({"kind": "Deployment", "name": "db"},
                                  ["spec.template.spec.containers.0.args"], options={"create": True})]}]),
    ("annotation-key-with-dots", [{"source": {"kind": "Deployment", "name": "web",
                                              "fieldPath": "metadata.annotations.[example.com/owner]"},
                                   "targets": [T({"kind": "ConfigMap"}, ["data.[owner.key]"],
                                                 options={"create": True})]}]),
    ("label-selector-target", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.word"},
                                "targets": [T({"labelSelector": "app in (web,db)"}, ["metadata.annotations.w"],
                                              options={"create": True})]}]),
    ("reject-by-kind-and-label", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.word"},
                                   "targets": [T({}, ["metadata.annotations.w"], options={"create": True},
                                                 reject=[{"kind": "Ingress"}, {"labelSelector": "app=db"},
                                                         {"name": "src"}])]}]),
    ("namespace-select", [{"source": {"kind": "ConfigMap", "namespace": "ns1"},
                           "targets": [T({"namespace": "default", "kind": "Deployment"},
                                         ["metadata.annotations.x"], options={"create": True})]}]),
    ("multiple-sources", [{"source": {"kind": "ConfigMap"},
                           "targets": [T({"kind": "Service"})]}]),
    ("no-source", [{"source": {"kind": "Secret"}, "targets": [T({"kind": "Service"})]}]),
    ("missing-source-field", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.nope"},
                               "targets": [T({"kind": "Service"})]}]),
    ("chained-replacements", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.word"},
                               "targets": [T({"kind": "ConfigMap", "name": "other"}, ["data.num"])]},
                              {"source": {"kind": "ConfigMap", "name": "other", "fieldPath": "data.num"},
                               "targets": [T({"kind": "Service"}, ["spec.ports.0.name"], options={"create": True})]}]),
    ("port-match-int", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.num"},
                         "targets": [T({"kind": "Service"}, ["spec.ports.[port=80].targetPort"])]}]),
    ("create-list-element-by-match", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.word"},
                                       "targets": [T({"kind": "Deployment", "name": "db"},
                                                     ["spec.template.spec.containers.[name=app].env.[name=NEW].value"],
                                                     options={"create": True})]}]),
    ("empty-string-created-is-null", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.empty"},
                                       "targets": [T({"kind": "Service"}, ["spec.extra", "spec.ports.0.name"],
                                                     options={"create": True})]}]),
    ("flag-into-created", [{"source": {"kind": "ConfigMap", "name": "src", "fieldPath": "data.flag"},
                            "targets": [T({"kind": "Service"}, ["spec.publishNotReadyAddresses"],
                                          options={"create": True})]}]),
    ("version-group-select", [{"source": {"version": "v1", "kind": "Service"},
                               "targets": [T({"group": "apps", "version": "v1"}, ["metadata.annotations.svc"],
                                             options={"create": True})]}]),
    ("index-past-end-errors", [{"source": {"kind": "ConfigMap", "name": "src"},
                                "targets": [T({"kind": "Ingress"}, ["spec.rules.5.host"])]}]),
]


def error_text(stderr):
    """The message inside kubectl's `err="..."` (or the last stderr line)."""
    lines = stderr.strip().splitlines() or ["error"]
    last = lines[-1]
    if 'err="' in last:
        return json.loads(last[last.index('err="') + 4:])
    return last


def main():
    out = []
    for name, reps in CASES:
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "res.yaml"), "w") as f:
                yaml.safe_dump_all(BASE, f, sort_keys=False)
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                yaml.safe_dump({"resources": ["res.yaml"], "replacements": reps}, f, sort_keys=False)
            p = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True)
        case = {"name": name, "resources": BASE, "replacements": reps}
        if p.returncode == 0:
            case["expected"] = [x for x in yaml.safe_load_all(p.stdout) if x is not None]
        else:
            case["error"] = error_text(p.stderr)
        out.append(case)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"{len(out)} cases, {sum('error' in c for c in out)} errors")


if __name__ == "__main__":
    main()
