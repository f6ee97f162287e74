#!/bin/sh
# Seed the fuzz corpora (fuzz/corpus/<target>/) from the shared conformance cases.
# Run from fuzz/: ./seed_corpus.sh [../../shared/conformance]
set -eu
src=${1:-../../shared/conformance}
mkdir -p corpus/yaml_parse corpus/kustomize_build
n=0
for f in $(find "$src" -name '*.yaml' -size -64k | sort); do
    n=$((n + 1))
    cp "$f" "corpus/yaml_parse/seed$n"
done
# One build seed per case: its kustomization, then up to eight other files of the case as
# "#%% PATH" sections (PATH relative to the built directory).
for run in $(find "$src" -name run | sort); do
    case_dir=$(dirname "$run")
    dir="$case_dir/in/$(cat "$run")"
    [ -f "$dir/kustomization.yaml" ] || continue
    out="corpus/kustomize_build/$(basename "$case_dir")"
    cat "$dir/kustomization.yaml" > "$out"
    for f in $(cd "$case_dir/in" && find . -type f | sort | head -9); do
        rel=$(realpath -m --relative-to="$dir" "$case_dir/in/$f")
        [ "$rel" = kustomization.yaml ] && continue
        printf '\n#%%%% %s\n' "$rel" >> "$out"
        cat "$case_dir/in/$f" >> "$out"
    done
done
# Config seeds: the repo config fixtures, and the org/repo merge pair joined by "#%% org".
mkdir -p corpus/config
for f in ../fixtures/config/good/*.yml ../fixtures/config/bad/*.yml ../fixtures/demo/.github/warden.yml; do
    [ -f "$f" ] && cp "$f" "corpus/config/$(echo "$f" | tr '/.' '__')"
done
if [ -f ../fixtures/config/merge/repo.yml ] && [ -f ../fixtures/config/merge/org.yml ]; then
    { cat ../fixtures/config/merge/repo.yml; printf '#%%%% org\n'; cat ../fixtures/config/merge/org.yml; } > corpus/config/merge
fi
echo "seeded $n yaml files and $(ls corpus/kustomize_build | wc -l) build cases"
