#!/usr/bin/env python3
"""Regenerate the differential cases for src/kustomize/generators.

Each case directory under cases/ gets:
  kustomization.yaml  the input, as kubectl kustomize reads it
  kustomization.json  the same document as JSON (the Rust test has no YAML reader)
  <input files>       env files and data files the generators read
  expected.json       `kubectl kustomize` output as a JSON list, or
  expected_error.txt  kubectl's error message when the build fails

Run from anywhere: python3 gen.py  (needs kubectl with kustomize v5.5.0 and PyYAML).
"""
import json
import os
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")

# name -> (kustomization yaml text, {file name: bytes})
C = {}


def case(name, kust, files=None):
    C[name] = (kust, files or {})


ENV_BASIC = b"A=1\nB=two\n"
ENV_TRICKY = (
    b"# a comment\n"
    b"\n"
    b"   \n"
    b"SPACED = value with spaces  \n"
    b"  LEADING=x\n"
    b"QUOTED=\"quoted\"\n"
    b"SINGLE='single'\n"
    b"EQ=a=b=c\n"
    b"EMPTY=\n"
    b"NOVALUE\n"
    b"\t# indented comment\n"
    b"CRLF=yes\r\n"
    b"LAST=no-newline"
)

case("literals_basic", """
configMapGenerator:
- name: lit
  literals:
  - a=1
  - b=hello world
  - c=x=y
""")
case("literals_quotes", """
configMapGenerator:
- name: q
  literals:
  - dq="double"
  - sq='single'
  - mixed="a'
  - one="
  - inner=a"b"c
  - empty=
  - emptyq=""
""")
case("literals_odd_keys", """
configMapGenerator:
- name: odd
  literals:
  - "a b=1"
  - "path/like=2"
  - "UPPER_lower.dots-dash=3"
""")
case("literals_html_chars", """
configMapGenerator:
- name: html
  literals:
  - "lt=<tag>&amp;"
  - "uni=héllo ✓"
""")
case("files_basename", """
configMapGenerator:
- name: f
  files:
  - app.properties
  - sub/dir/config.txt
""", {"app.properties": b"x=1\ny=2\n", "sub/dir/config.txt": b"no trailing newline"})
case("files_keyed", """
configMapGenerator:
- name: f
  files:
  - mykey=app.properties
  - other=sub/data.txt
""", {"app.properties": b"x=1\n", "sub/data.txt": b"data\n\n"})
case("files_empty", """
configMapGenerator:
- name: f
  files:
  - empty.txt
""", {"empty.txt": b""})
case("files_binary", """
configMapGenerator:
- name: bin
  files:
  - blob.bin
  - text.txt
""", {"blob.bin": bytes(range(256)), "text.txt": b"plain\n"})
case("files_control_chars", """
configMapGenerator:
- name: ctl
  files:
  - ctl.txt
""", {"ctl.txt": b"tab\there <&> \xe2\x80\xa8 end\r\n"})
case("files_long_line_secret", """
secretGenerator:
- name: long
  files:
  - long.txt
  - exact52.txt
  - short.txt
""", {"long.txt": b"0123456789" * 30 + b"\n", "exact52.txt": b"x" * 52, "short.txt": b"y" * 51})
case("envs_basic", """
configMapGenerator:
- name: env
  envs:
  - a.env
""", {"a.env": ENV_BASIC})
case("envs_tricky", """
configMapGenerator:
- name: env
  envs:
  - tricky.env
""", {"tricky.env": ENV_TRICKY})
case("envs_bom_multi", """
configMapGenerator:
- name: env
  envs:
  - bom.env
  - second.env
""", {"bom.env": b"\xef\xbb\xbfFIRST=1\n", "second.env": b"SECOND=2\n"})
case("env_legacy", """
configMapGenerator:
- name: env
  env: legacy.env
  envs:
  - a.env
""", {"legacy.env": b"L=legacy\n", "a.env": b"A=1\n"})
case("mixed_sources", """
configMapGenerator:
- name: mix
  envs: [a.env]
  literals: [lit=1]
  files: [f.txt]
""", {"a.env": b"E=env\n", "f.txt": b"file\n"})
case("namespace", """
configMapGenerator:
- name: ns
  namespace: team-a
  literals: [a=1]
secretGenerator:
- name: ns
  namespace: team-b
  literals: [a=1]
""")
case("options_local", """
configMapGenerator:
- name: opt
  literals: [a=1]
  options:
    labels:
      app: web
      tier: "1"
    annotations:
      note: hello
    immutable: true
""")
case("options_disable_hash", """
configMapGenerator:
- name: nohash
  literals: [a=1]
  options:
    disableNameSuffixHash: true
secretGenerator:
- name: nohash
  literals: [a=1]
  options:
    disableNameSuffixHash: true
""")
case("options_global", """
generatorOptions:
  labels:
    global: g
    shared: from-global
  annotations:
    ga: "1"
  disableNameSuffixHash: true
  immutable: true
configMapGenerator:
- name: g1
  literals: [a=1]
- name: g2
  literals: [a=2]
  options:
    labels:
      shared: from-local
      local: l
    annotations:
      la: x
""")
case("options_global_hash_only_local_false", """
generatorOptions:
  labels:
    only: global
configMapGenerator:
- name: g
  literals: [a=1]
  options:
    disableNameSuffixHash: false
    immutable: false
""")
case("secret_opaque", """
secretGenerator:
- name: s
  literals:
  - user=admin
  - password=s3cr3t
""")
case("secret_tls", """
secretGenerator:
- name: tls
  type: kubernetes.io/tls
  files:
  - tls.crt=cert.pem
  - tls.key=key.pem
""", {"cert.pem": b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
      "key.pem": b"-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"})
case("secret_binary_env", """
secretGenerator:
- name: s
  envs: [s.env]
  files: [blob.bin]
  options:
    labels: {kind: secret}
    immutable: true
""", {"s.env": b"TOKEN=abc\nEMPTY=\n", "blob.bin": b"\x00\xff\xfe\x01"})
case("secret_empty", """
secretGenerator:
- name: empty
- name: typed
  type: kubernetes.io/service-account-token
""")
case("configmap_empty", """
configMapGenerator:
- name: empty
""")
case("behavior_values", """
configMapGenerator:
- name: a
  behavior: create
  literals: [x=1]
- name: b
  behavior: bogus
  literals: [x=1]
""")
case("case_insensitive_fields", """
configMapGenerator:
- Name: ci
  LITERALS: [a=1]
  literals: [b=2]
  Options:
    Labels: {x: z}
""")
case("many_keys_sorted", """
configMapGenerator:
- name: sorted
  literals: [zeta=1, alpha=2, Beta=3, _u=4, "9n=5"]
""")
case("err_duplicate_key", """
configMapGenerator:
- name: dup
  literals: [a=1, a=2]
""")
case("err_duplicate_across_sources", """
configMapGenerator:
- name: dup
  envs: [a.env]
  literals: [A=2]
""", {"a.env": b"A=1\n"})
case("err_literal_no_equals", """
configMapGenerator:
- name: bad
  literals: [novalue]
""")
case("err_literal_empty_key", """
configMapGenerator:
- name: bad
  literals: ["=value"]
""")
case("err_file_two_equals", """
configMapGenerator:
- name: bad
  files: ["a=b=c"]
""")
case("err_file_missing_path", """
configMapGenerator:
- name: bad
  files: ["key="]
""")
case("err_missing_name", """
secretGenerator:
- literals: [a=1]
""")
case("err_type_on_configmap", """
configMapGenerator:
- name: x
  type: Opaque
""")
case("err_unknown_field", """
configMapGenerator:
- name: x
  literal: [a=1]
""")
case("err_env_invalid_utf8", """
configMapGenerator:
- name: x
  envs: [bad.env]
""", {"bad.env": b"A=\xff\n"})

# --- behavior merge/replace: an overlay's generator combined with its base's ---------------
BASE = b"""configMapGenerator:
- name: gen
  literals: [a=1, b=2]
  files: [blob.bin]
  options:
    labels: {l1: base, l2: base}
    annotations: {an: base}
secretGenerator:
- name: sec
  type: kubernetes.io/tls
  literals: [tls.crt=c, tls.key=k]
  options:
    labels: {s: base}
"""
BASE_FILES = {"base/kustomization.yaml": BASE, "base/blob.bin": b"\x00\xff"}


def overlay_case(name, kust, extra=None):
    files = dict(BASE_FILES)
    files.update(extra or {})
    case(name, "resources: [base]\n" + kust.lstrip("\n"), files)


overlay_case("merge_configmap", """
configMapGenerator:
- name: gen
  behavior: merge
  literals: [b=3, c=4]
  files: [more.bin]
  options:
    labels: {l2: overlay, l3: overlay}
    immutable: true
""", {"more.bin": b"\xfe"})
overlay_case("replace_configmap", """
configMapGenerator:
- name: gen
  behavior: replace
  literals: [only=1]
  options:
    annotations: {an: overlay}
""")
overlay_case("merge_secret_type_reset", """
secretGenerator:
- name: sec
  behavior: merge
  literals: [extra=x]
""")
overlay_case("replace_secret", """
secretGenerator:
- name: sec
  behavior: replace
  type: kubernetes.io/tls
  literals: [tls.crt=c2, tls.key=k2]
""")
overlay_case("merge_overlay_disables_hash", """
configMapGenerator:
- name: gen
  behavior: merge
  literals: [z=1]
  options:
    disableNameSuffixHash: true
""")
overlay_case("merge_global_options", """
generatorOptions:
  labels: {glob: "yes"}
configMapGenerator:
- name: gen
  behavior: merge
  literals: [z=1]
- name: fresh
  literals: [n=1]
""")
case("merge_base_disables_hash", """
resources: [base]
configMapGenerator:
- name: nh
  behavior: merge
  literals: [b=2]
""", {"base/kustomization.yaml": b"""configMapGenerator:
- name: nh
  literals: [a=1]
  options:
    disableNameSuffixHash: true
"""})
case("merge_namespaced", """
resources: [base]
configMapGenerator:
- name: cm
  namespace: team
  behavior: merge
  literals: [b=2]
""", {"base/kustomization.yaml": b"""configMapGenerator:
- name: cm
  namespace: team
  literals: [a=1]
"""})
overlay_case("err_merge_missing", """
configMapGenerator:
- name: nothere
  behavior: merge
  literals: [b=2]
""")
overlay_case("err_create_existing", """
configMapGenerator:
- name: gen
  literals: [b=2]
""")


def main():
    if os.path.isdir(CASES):
        shutil.rmtree(CASES)
    for name, (kust, files) in sorted(C.items()):
        d = os.path.join(CASES, name)
        os.makedirs(d)
        with open(os.path.join(d, "kustomization.yaml"), "w") as f:
            f.write(kust.lstrip("\n"))
        with open(os.path.join(d, "kustomization.json"), "w") as f:
            json.dump(yaml.safe_load(kust), f, indent=2, sort_keys=True)
            f.write("\n")
        for fname, content in files.items():
            p = os.path.join(d, fname)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(content)
            if os.path.basename(fname) == "kustomization.yaml":
                with open(p[: -len("yaml")] + "json", "w") as f:
                    json.dump(yaml.safe_load(content), f, indent=2, sort_keys=True)
                    f.write("\n")
        r = subprocess.run(["kubectl", "kustomize", d], capture_output=True)
        if r.returncode == 0:
            docs = [x for x in yaml.safe_load_all(r.stdout) if x is not None]
            with open(os.path.join(d, "expected.json"), "w") as f:
                json.dump(docs, f, indent=2, sort_keys=True, ensure_ascii=False)
                f.write("\n")
        else:
            with open(os.path.join(d, "expected_error.txt"), "w") as f:
                f.write(r.stderr.decode("utf-8", "replace"))
        print(name, "ok" if r.returncode == 0 else "error", file=sys.stderr)


if __name__ == "__main__":
    main()
