#!/usr/bin/env python3
"""Benchmark `warden render DIR` against `kubectl kustomize DIR`, one process per build.

Run from the repository root:

    python3 benches/render_vs_kubectl.py [--quick] [--keep-tree DIR] [--no-fail]

It builds warden (`cargo build --release`, honouring CARGO_TARGET_DIR), then times both tools
on the same builds in the same run:

  (a) every case of ../shared/conformance/{krusty,random} (build dir: <case>/in/<run>);
  (b) a generated config repo (benches/gen_tree.py: 200 apps x dev/staging/prod overlays), every
      overlay, plus the "umbrella" kustomization including all of them (timed separately);
  (c) peak RSS of warden (and kubectl) on the umbrella build (the child's own ru_maxrss, from
      wait4 on the timed run itself).

Each output pair is compared semantically (PyYAML, same documents in the same order). Exit
status is 1 when warden fails where kubectl renders, renders where kubectl fails, or prints
different objects (unless --no-fail), 2 on setup errors.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFORMANCE = os.path.normpath(os.path.join(ROOT, "..", "shared", "conformance"))
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def build_warden():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    if not os.path.isabs(target):
        target = os.path.join(ROOT, target)
    print("building warden (cargo build --release)...", file=sys.stderr, flush=True)
    r = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    if r.returncode != 0:
        sys.exit(2)
    exe = os.path.join(target, "release", "warden")
    if not os.path.exists(exe):
        print(f"no binary at {exe}", file=sys.stderr)
        sys.exit(2)
    return exe


def run(cmd):
    """Run one build; return (returncode, stdout, stderr, wall seconds, peak RSS KiB).

    The child is reaped with wait4 so its own rusage (ru_maxrss) is exact for this one run.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), dt, usage.ru_maxrss


def docs(text):
    return [d for d in yaml.load_all(text, Loader=LOADER) if d is not None]


def same(a, b):
    if a == b:
        return True
    try:
        return docs(a) == docs(b)
    except yaml.YAMLError:
        return False


def first_diff(a, b):
    try:
        da, db = docs(a), docs(b)
    except yaml.YAMLError as e:
        return f"unparsable output: {str(e).splitlines()[0]}"
    if len(da) != len(db):
        return f"{len(db)} objects, kubectl {len(da)}"
    for i, (x, y) in enumerate(zip(da, db)):
        if x != y:
            ident = (x or {}).get("kind", "?") if isinstance(x, dict) else "?"
            name = ((x or {}).get("metadata") or {}).get("name", "?") if isinstance(x, dict) else "?"
            return f"object #{i} ({ident}/{name}) differs"
    return "order or formatting differs"


class Tally:
    def __init__(self, label):
        self.label = label
        self.cases = 0
        self.kubectl = 0.0
        self.warden = 0.0
        self.failures = []
        self.rss_kubectl = 0
        self.rss_warden = 0

    def ratio(self):
        return self.kubectl / self.warden if self.warden else float("inf")


def compare(tally, name, warden, kubectl, build_dir, repeat=1):
    """Time both tools on one build dir (median of `repeat` runs each) and check agreement."""
    kt, wt = [], []
    for i in range(repeat):
        # kubectl is slow on big builds: time it once, warden `repeat` times.
        if i == 0:
            krc, kout, kerr, dt, krss = run([kubectl, "kustomize", build_dir])
            kt.append(dt)
        wrc, wout, werr, dt, wrss = run([warden, "render", build_dir])
        wt.append(dt)
        tally.rss_kubectl = max(tally.rss_kubectl, krss)
        tally.rss_warden = max(tally.rss_warden, wrss)
    tally.last_output = wout
    tally.cases += 1
    tally.kubectl += statistics.median(kt)
    tally.warden += statistics.median(wt)
    if krc == 0 and wrc != 0:
        msg = werr.decode(errors="replace").strip().splitlines()
        tally.failures.append(f"{name}: warden failed: {msg[-1] if msg else wrc}")
    elif krc != 0 and wrc == 0:
        tally.failures.append(f"{name}: kubectl failed, warden rendered")
    elif krc == 0 and not same(kout, wout):
        tally.failures.append(f"{name}: output differs: {first_diff(kout, wout)}")


def conformance_cases(corpus, quick):
    root = os.path.join(CONFORMANCE, corpus)
    if not os.path.isdir(root):
        print(f"missing corpus {root}", file=sys.stderr)
        sys.exit(2)
    cases = sorted(c for c in os.listdir(root) if os.path.isdir(os.path.join(root, c)))
    if quick:
        cases = cases[::5]
    for c in cases:
        with open(os.path.join(root, c, "run")) as f:
            sub = f.read().strip()
        yield c, os.path.join(root, c, "in", sub)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="every 5th conformance case, 20-app tree, one umbrella run")
    ap.add_argument("--apps", type=int, help="apps in the generated tree (default 200, quick 20)")
    ap.add_argument("--keep-tree", metavar="DIR", help="generate the tree here and keep it")
    ap.add_argument("--no-fail", action="store_true", help="exit 0 even on mismatches")
    a = ap.parse_args()

    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("kubectl not found on PATH", file=sys.stderr)
        return 2
    warden = build_warden()
    apps = a.apps or (20 if a.quick else 200)
    repeat = 1 if a.quick else 3
    tallies = []

    for corpus in ("krusty", "random"):
        t = Tally(f"conformance/{corpus}")
        print(f"timing {t.label}...", file=sys.stderr, flush=True)
        for name, d in conformance_cases(corpus, a.quick):
            compare(t, name, warden, kubectl, d)
        tallies.append(t)

    tmp = None
    if a.keep_tree:
        tree = os.path.abspath(a.keep_tree)
        shutil.rmtree(tree, ignore_errors=True)
    else:
        tmp = tempfile.mkdtemp(prefix="warden-bench-")
        tree = tmp
    try:
        gen = subprocess.run(
            [sys.executable, os.path.join(ROOT, "benches", "gen_tree.py"), tree,
             "--apps", str(apps), "--list"],
            stdout=subprocess.PIPE, text=True, check=True)
        overlays = gen.stdout.split()
        t = Tally(f"tree: {len(overlays)} overlays")
        print(f"timing {t.label}...", file=sys.stderr, flush=True)
        for o in overlays:
            compare(t, o, warden, kubectl, os.path.join(tree, o))
        tallies.append(t)

        umbrella = os.path.join(tree, "umbrella")
        t = Tally(f"tree: umbrella (warden median of {repeat})")
        print(f"timing {t.label}...", file=sys.stderr, flush=True)
        compare(t, "umbrella", warden, kubectl, umbrella, repeat=repeat)
        tallies.append(t)
        out = t.last_output
        umbrella_objs = out.count(b"\n---\n") + 1 if out else 0
        umbrella_bytes = len(out)
        w_rss, k_rss = t.rss_warden, t.rss_kubectl
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"{'workload':<32} {'builds':>6} {'kubectl s':>10} {'warden s':>9} {'ratio':>7} "
          f"{'ms/build k':>10} {'ms/build w':>10} {'mismatch':>8}")
    print("-" * 100)
    for t in tallies:
        print(f"{t.label:<32} {t.cases:>6} {t.kubectl:>10.2f} {t.warden:>9.3f} "
              f"{t.ratio():>6.1f}x {1000 * t.kubectl / t.cases:>10.1f} "
              f"{1000 * t.warden / t.cases:>10.2f} {len(t.failures):>8}")
    conf = tallies[:2]
    ck, cw = sum(t.kubectl for t in conf), sum(t.warden for t in conf)
    print("-" * 100)
    print(f"{'conformance total':<32} {sum(t.cases for t in conf):>6} {ck:>10.2f} {cw:>9.3f} "
          f"{ck / cw:>6.1f}x")
    print()
    print(f"umbrella build: {umbrella_objs} objects, {umbrella_bytes / 1e6:.1f} MB of YAML")
    verdict = "OK" if w_rss < 100 * 1024 else "OVER TARGET"
    print(f"peak RSS on umbrella: warden {w_rss / 1024:.1f} MB ({verdict}, target < 100 MB), "
          f"kubectl {k_rss / 1024:.1f} MB")

    failures = [f for t in tallies for f in t.failures]
    if failures:
        print(f"\n{len(failures)} mismatches:")
        for f in failures:
            print(f"  {f}")
        return 0 if a.no_fail else 1
    print("\nall outputs agree with kubectl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
