#!/usr/bin/env python3
"""Reference verdicts for tests/schema_agreement.rs, from kubernetes-validate (strict mode).

Usage: validate.py VERSION FILE.jsonl
Reads one JSON object per line and prints one line per object, in order:
    valid | invalid<TAB>path: message | unknown<TAB>message
Exit 3 (with a message) when kubernetes-validate is not installed or is not 1.37.0.
"""
import functools
import json
import sys

REQUIRED = "1.37.0"

try:
    import kubernetes_validate
    import kubernetes_validate.utils as kvu
    from kubernetes_validate.version import __version__
except ImportError:
    sys.stderr.write(f"kubernetes-validate is not installed: pip install kubernetes-validate=={REQUIRED}\n")
    sys.exit(3)
if __version__ != REQUIRED:
    sys.stderr.write(f"kubernetes-validate {__version__} found, {REQUIRED} needed: pip install kubernetes-validate=={REQUIRED}\n")
    sys.exit(3)

# The library re-reads the 1.8 MB definitions file on every call; cache the reads (the
# validation itself is the library's own `validate`).
kvu.schema_contents = functools.lru_cache(maxsize=None)(kvu.schema_contents)


def main():
    version, path = sys.argv[1], sys.argv[2]
    out = []
    with open(path) as f:
        for line in f:
            obj = json.loads(line)
            try:
                kubernetes_validate.validate(obj, version, strict=True)
                out.append("valid")
            except kubernetes_validate.ValidationError as e:
                where = ".".join(str(p) for p in e.path)
                msg = f"{where}: {e.message}".replace("\n", " ").replace("\t", " ")
                out.append("invalid\t" + msg[:300])
            except (kubernetes_validate.SchemaNotFoundError, kvu.SchemaNotFoundError) as e:
                out.append("unknown\t" + e.message)
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
