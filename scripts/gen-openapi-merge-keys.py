#!/usr/bin/env python3
"""Distil the Kubernetes OpenAPI definitions into the compact merge-key table
embedded by src/kustomize/openapi.rs.

Source: PyPI package kubernetes-validate 1.21.0, file
kubernetes_validate/kubernetes-json-schema/v1.21.0-local/_definitions.json
(the closest release to the v1.21.2 schema built into kustomize v5.5.0).

    pip download --no-deps kubernetes-validate==1.21.0 -d /tmp/kv121
    tar xzf /tmp/kv121/kubernetes-validate-1.21.0.tar.gz -C /tmp/kv121
    scripts/gen-openapi-merge-keys.py \
        /tmp/kv121/kubernetes-validate-1.21.0/src/kubernetes_validate/kubernetes-json-schema/v1.21.0-local/_definitions.json \
        > src/kustomize/openapi/k8s-1.21.txt

Output format (one record per line, tokens separated by single spaces):

    S <source description>                 header
    N <number of definitions>
    D <definition name>                     definition number i (0-based, in order)
    F <field> <type>                        a property of the preceding definition
    A <type>                                additionalProperties of the preceding definition
    G <group> <version> <kind> <def>        root definition of a GVK ("" group is written as "~")

<type> is a single token:
    #<n>                       reference to definition n
    .                          a leaf (scalar or opaque object)
    m<type>                    an inline map whose values have <type>
    l<strategy>|<keys>|<type>  an array; strategy is x-kubernetes-patch-strategy
                               (may be empty), keys are the merge keys kustomize
                               uses (x-kubernetes-list-map-keys when present and a
                               strategy is set, else x-kubernetes-patch-merge-key),
                               comma separated; <type> describes the items.

Scalar-typed properties are omitted (they never carry merge information). So is every
property, definition and root GVK from which no list with a patch strategy can be reached:
without a strategy a list is replaced and a map merged whether or not a schema is known, so
they change nothing, and leaving them out keeps the table (parsed at run time) small.
"""
import json
import sys


def main():
    path = sys.argv[1]
    with open(path) as f:
        defs = json.load(f)["definitions"]
    names = sorted(defs)
    index = {n: i for i, n in enumerate(names)}

    def ref_index(ref):
        prefix = "#/definitions/"
        if not ref.startswith(prefix):
            raise SystemExit("unexpected $ref " + ref)
        return index[ref[len(prefix):]]

    def ty(schema):
        """Return the type token, or None for plain scalars."""
        if "$ref" in schema:
            return "#%d" % ref_index(schema["$ref"])
        t = schema.get("type")
        if t == "array":
            strategy = schema.get("x-kubernetes-patch-strategy", "")
            keys = []
            if strategy:
                if "x-kubernetes-list-map-keys" in schema:
                    keys = list(schema["x-kubernetes-list-map-keys"])
                elif "x-kubernetes-patch-merge-key" in schema:
                    keys = [schema["x-kubernetes-patch-merge-key"]]
            items = schema.get("items")
            item_ty = (ty(items) or ".") if isinstance(items, dict) else "."
            for k in keys:
                assert " " not in k and "," not in k and "|" not in k
            assert " " not in strategy and "|" not in strategy
            return "l%s|%s|%s" % (strategy, ",".join(keys), item_ty)
        if isinstance(schema.get("additionalProperties"), dict):
            return "m" + (ty(schema["additionalProperties"]) or ".")
        if t == "object" or "properties" in schema or t is None:
            return "."
        return None

    # Which definitions can reach a list with a patch strategy (fixed point).
    import re
    def refs(t):
        return [int(x) for x in re.findall(r"#(\d+)", t)]
    def strategic(t):
        return re.match(r"^(m)*l[a-z,]", t) is not None or "|" in t and re.search(r"l[a-z][a-z,]*\|", t) is not None
    fields = {}
    for name in names:
        d = defs[name]
        fs = []
        for field in sorted(d.get("properties", {})):
            t = ty(d["properties"][field])
            if t is not None:
                assert " " not in field
                fs.append((field, t))
        add = None
        if isinstance(d.get("additionalProperties"), dict):
            add = ty(d["additionalProperties"]) or "."
        fields[name] = (fs, add)
    useful = set()
    changed = True
    while changed:
        changed = False
        for name in names:
            if name in useful:
                continue
            fs, add = fields[name]
            toks = [t for _, t in fs] + ([add] if add else [])
            if any(strategic(t) or any(names[i] in useful for i in refs(t)) for t in toks):
                useful.add(name)
                changed = True
    def keep(t):
        return strategic(t) or any(names[i] in useful for i in refs(t))
    kept = [n for n in names if n in useful]
    newidx = {n: i for i, n in enumerate(kept)}
    def renum(t):
        return re.sub(r"#(\d+)", lambda m: "#%d" % newidx[names[int(m.group(1))]] if names[int(m.group(1))] in useful else ".", t)

    out = ["S kubernetes-validate 1.21.0 v1.21.0-local/_definitions.json (pruned to strategic paths)",
           "N %d" % len(kept)]
    gvks = []
    for name in kept:
        d = defs[name]
        fs, add = fields[name]
        out.append("D " + name)
        for field, t in fs:
            if keep(t):
                out.append("F %s %s" % (field, renum(t)))
        if add is not None and keep(add):
            out.append("A " + renum(add))
        for g in d.get("x-kubernetes-group-version-kind", []):
            gvks.append((g.get("group") or "~", g["version"], g["kind"], newidx[name]))
    for g in sorted(gvks):
        out.append("G %s %s %s %d" % g)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
