#!/usr/bin/env python3
"""Generate differential cases for legacy `vars:` with `kubectl kustomize` (v5.5.0) as oracle.

Each case is one kustomization with `resources:`, `vars:` and optionally `configurations:`
(a varReference field-spec file); no other kustomize feature (prefixes/suffixes, namespaces,
labels, patches, generators, overlays) is used, so the expected output is reproducible by the var
step alone. Writes cases.json next to this script: name, resources, vars, varReference, and
either `expected` or `error`.

Run: python3 gen.py   (needs kubectl on PATH)
"""
import json, os, subprocess, tempfile, yaml

HERE = os.path.dirname(os.path.abspath(__file__))

SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "ns1"},
       "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": "$(TPORT)"}]}}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
      "data": {"host": "db.example.com", "flag": "true", "ratio": "1.5"},
      "spec": {"on": True, "n": 3, "f": 2.5, "m": {"a": "b"}}}
DEP = {"apiVersion": "apps/v1", "kind": "Deployment",
       "metadata": {"name": "web", "labels": {"host": "$(HOST)"}, "annotations": {"svc": "$(SVC)", "n": "$(NUM)"}},
       "spec": {"template": {"metadata": {"annotations": {"port": "$(PORT)"}},
                "spec": {"containers": [{"name": "app", "image": "x",
                                         "command": ["run", "--svc=$(SVC).$(SVC_NS)", "$(PORT)"],
                                         "args": ["$(UNKNOWN)", "$$(SVC)", "cost $5", "$(SVC"],
                                         "env": [{"name": "A", "value": "$(PORT)"},
                                                 {"name": "B", "value": "$(ONV)"},
                                                 {"name": "C", "value": "$(F)"},
                                                 {"name": "D", "value": "$(M)"},
                                                 {"name": "E", "value": "x-$(F)-$(ONV)"}]}]}}}}
THING = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
         "spec": {"url": "http://$(HOST):$(PORT)/", "plain": "$(HOST)"}}

BASE = [SVC, CM, DEP, THING]


def V(name, api, kind, objname, path=None, ns=None):
    v = {"name": name, "objref": {"kind": kind, "name": objname}}
    if api:
        v["objref"]["apiVersion"] = api
    if ns:
        v["objref"]["namespace"] = ns
    if path:
        v["fieldref"] = {"fieldPath": path}
    return v


SVCV = V("SVC", "v1", "Service", "svc")
PORT = V("PORT", "v1", "Service", "svc", "spec.ports[0].port")
HOST = V("HOST", "v1", "ConfigMap", "cfg", "data.host")

CASES = [
    ("name-default", [SVCV], None),
    ("int-port-whole-and-embedded", [SVCV, PORT], None),
    ("namespace-field", [SVCV, V("SVC_NS", "v1", "Service", "svc", "metadata.namespace")], None),
    ("bool-float-map-values", [V("ONV", "v1", "ConfigMap", "cfg", "spec.on"), V("F", "v1", "ConfigMap", "cfg", "spec.f"),
                               V("M", "v1", "ConfigMap", "cfg", "spec.m"), V("NUM", "v1", "ConfigMap", "cfg", "spec.n")], None),
    ("labels-and-annotations", [HOST, SVCV, V("NUM", "v1", "ConfigMap", "cfg", "spec.n")], None),
    ("string-field-embedded", [HOST, PORT], [{"kind": "Thing", "path": "spec/url"}, {"kind": "Thing", "path": "spec/plain"}]),
    ("not-in-default-specs", [HOST, PORT], None),
    ("target-port-var", [V("TPORT", "v1", "ConfigMap", "cfg", "data.flag")], None),
    ("bracket-path", [V("PORT", "v1", "Service", "svc", "spec.ports.[name=http].port")], None),
    ("objref-with-namespace", [V("SVC", "v1", "Service", "svc", ns="ns1")], None),
    ("objref-wrong-namespace", [V("SVC", "v1", "Service", "svc", ns="other")], None),
    ("objref-without-apiversion", [V("SVC", None, "Service", "svc")], None),
    ("missing-object", [V("SVC", "v1", "Service", "nope")], None),
    ("missing-field", [V("SVC", "v1", "Service", "svc", "spec.clusterIP")], None),
    ("duplicate-names", [SVCV, V("SVC", "v1", "ConfigMap", "cfg")], None),
    ("unused-var", [V("UNUSED", "v1", "ConfigMap", "cfg")], None),
    ("group-version-kind-objref", [{"name": "T", "objref": {"group": "example.com", "version": "v1", "kind": "Thing", "name": "t"}},
                                   HOST], [{"kind": "Thing", "path": "spec/url"}]),
    ("string-flag", [V("ONV", "v1", "ConfigMap", "cfg", "data.flag")], None),
]


def error_text(stderr):
    lines = stderr.strip().splitlines() or ["error"]
    last = lines[-1]
    if 'err="' in last:
        return json.loads(last[last.index('err="') + 4:])
    return last


def main():
    out = []
    for name, vars_, varref in CASES:
        k = {"resources": ["res.yaml"], "vars": vars_}
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "res.yaml"), "w") as f:
                yaml.safe_dump_all(BASE, f, sort_keys=False)
            if varref:
                k["configurations"] = ["conf.yaml"]
                with open(os.path.join(d, "conf.yaml"), "w") as f:
                    yaml.safe_dump({"varReference": varref}, f, sort_keys=False)
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                yaml.safe_dump(k, f, sort_keys=False)
            p = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True)
        case = {"name": name, "resources": BASE, "vars": vars_, "varReference": varref or []}
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
