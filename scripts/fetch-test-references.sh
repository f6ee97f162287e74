#!/usr/bin/env bash
# The reference tools and data the tests compare Warden against, fetched from the package
# registries (nothing of them is committed):
#   - kubernetes-validate (PyPI): the reference Kubernetes schema validator (tests/schema_agreement.rs);
#   - the SARIF 2.1.0 JSON schema, from npm @microsoft/sarif-matcher-utils (tests/sarif.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
refs=target/test-references
mkdir -p "$refs"

python3 -c 'import kubernetes_validate' 2>/dev/null || python3 -m pip install --quiet 'kubernetes-validate==1.37.0'

if [ ! -s "$refs/sarif-2.1.0-rtm.5.json" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent '@microsoft/sarif-matcher-utils@1.0.0-beta.0' >/dev/null 2>&1 && tar xzf ./*.tgz)
  cp "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$refs/"
  rm -rf "$tmp"
fi
echo "test references ready in $refs"
