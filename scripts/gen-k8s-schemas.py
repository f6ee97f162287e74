#!/usr/bin/env python3
"""Regenerate data/k8s-schemas/ from the PyPI package kubernetes-validate.

Usage:
    pip install kubernetes-validate==1.37.0        # or: pip download --no-deps ...
    scripts/gen-k8s-schemas.py [--wheel PATH.whl] [--out data/k8s-schemas]

Source: kubernetes-validate ships, per Kubernetes minor, a directory
`kubernetes_validate/kubernetes-json-schema/v1.NN.0-local-strict/` whose `_definitions.json`
holds every OpenAPI definition as a Draft 2020-12 `$defs` entry; the strict variant adds
`additionalProperties: false` to every object without one (unknown fields are errors), and
each top-level kind carries `x-kubernetes-group-version-kind`.

Output format (`data/k8s-schemas/defs.tsv.gz`, gzip of UTF-8 text, `\n`-separated lines):

    line 1:  `warden-k8s-schemas 1`                      (magic and format version)
    line 2:  `versions 1.25 1.26 ... 1.37`               (supported minors, in order)
    line 3:  `source kubernetes-validate 1.37.0`         (provenance)
    then one line per distinct definition body:
             `<name>\t<mask>\t<json>`
      name:  the `$defs` key (`io.k8s.api.apps.v1.Deployment`)
      mask:  lowercase hex bitmask of the versions (bit i = i-th version of line 2) whose
             `_definitions.json` has exactly this body under this name
      json:  the body, compact JSON, with every `description` removed (never used for
             validation; it is 80% of the size)

A definition identical across versions is stored once, so all 13 minors take ~70 KB.
`$ref`s stay as in the source (`#/$defs/<name>`), so a version's document is rebuilt as
`{"$defs": {name: body for every line whose mask has that version's bit}}`.
The Rust side (src/checks/schema) embeds the file with `include_bytes!`.
"""

import argparse
import gzip
import io
import json
import os
import re
import sys
import zipfile

FORMAT = "warden-k8s-schemas 1"


def strip_props(v):
    """Like strip, but keep keys of `properties` maps (which are field names)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "properties" and isinstance(x, dict):
                out[k] = {pk: strip_props(px) for pk, px in x.items()}
            elif k == "description" and not isinstance(x, dict):
                continue
            else:
                out[k] = strip_props(x)
        return out
    if isinstance(v, list):
        return [strip_props(x) for x in v]
    return v


class Source:
    """Reads `kubernetes-json-schema/<dir>/_definitions.json` from a wheel or an install."""

    def __init__(self, wheel):
        self.zip = zipfile.ZipFile(wheel) if wheel else None
        if not self.zip:
            import kubernetes_validate  # noqa: F401  (installed package)

            self.root = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")

    def dirs(self):
        if self.zip:
            names = {n.split("/")[2] for n in self.zip.namelist() if n.startswith("kubernetes_validate/kubernetes-json-schema/") and n.count("/") >= 3}
        else:
            names = set(os.listdir(self.root))
        return sorted(names)

    def defs(self, d):
        if self.zip:
            with self.zip.open(f"kubernetes_validate/kubernetes-json-schema/{d}/_definitions.json") as f:
                return json.load(io.TextIOWrapper(f, "utf-8"))["$defs"]
        with open(os.path.join(self.root, d, "_definitions.json")) as f:
            return json.load(f)["$defs"]

    def version(self):
        if self.zip:
            for n in self.zip.namelist():
                m = re.match(r"kubernetes_validate-([^/]+)\.dist-info/METADATA$", n)
                if m:
                    return m.group(1)
            return "unknown"
        from kubernetes_validate.version import __version__

        return __version__


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", help="read a kubernetes_validate wheel instead of the installed package")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "k8s-schemas"))
    ap.add_argument("--min", type=int, default=25, help="oldest minor (default 25)")
    args = ap.parse_args()

    src = Source(args.wheel)
    versions = []
    for d in src.dirs():
        m = re.fullmatch(r"v1\.(\d+)\.0-local-strict", d)
        if m and int(m.group(1)) >= args.min:
            versions.append((int(m.group(1)), d))
    versions.sort()
    if not versions:
        sys.exit("no v1.NN.0-local-strict directories found")

    pool = {}  # (name, body json) -> mask
    order = []
    for i, (_, d) in enumerate(versions):
        for name, body in src.defs(d).items():
            key = (name, json.dumps(strip_props(body), separators=(",", ":"), ensure_ascii=False))
            if key not in pool:
                pool[key] = 0
                order.append(key)
            pool[key] |= 1 << i

    lines = [
        FORMAT,
        "versions " + " ".join(f"1.{m}" for m, _ in versions),
        f"source kubernetes-validate {src.version()}",
    ]
    for name, body in sorted(order):
        lines.append(f"{name}\t{pool[(name, body)]:x}\t{body}")
    text = ("\n".join(lines) + "\n").encode("utf-8")

    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, "defs.tsv.gz")
    # mtime=0 keeps the output byte-identical across runs.
    with open(out, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=f, mtime=0) as gz:
            gz.write(text)
    print(f"{out}: {len(versions)} versions, {len(order)} definitions, {len(text)} bytes raw, {os.path.getsize(out)} bytes gzip")


if __name__ == "__main__":
    main()
