#!/usr/bin/env bash
# Re-record what kubectl kustomize prints for each regression case (expected.yaml or error).
set -euo pipefail
cd "$(dirname "$0")"
for c in */; do
  c=${c%/}
  rm -f "$c/expected.yaml" "$c/error"
  if out=$(kubectl kustomize "$c/$(cat "$c/run")" 2>"$c/.stderr"); then
    printf '%s\n' "$out" > "$c/expected.yaml"
  else
    mv "$c/.stderr" "$c/error"
  fi
  rm -f "$c/.stderr"
done
