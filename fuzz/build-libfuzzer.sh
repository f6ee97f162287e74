#!/bin/sh
# Build the fuzz targets the way `cargo fuzz build` does, for machines without cargo-fuzz:
# nightly, SanitizerCoverage instrumentation, AddressSanitizer. Binaries land in
# $CARGO_TARGET_DIR (default fuzz/target)/x86_64-unknown-linux-gnu/release/.
# Run one: .../release/kustomize_build -max_total_time=300 -timeout=10 corpus/kustomize_build
set -eu
cd "$(dirname "$0")"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address \
-Cdebug-assertions -Coverflow-checks" \
    exec cargo +nightly build --release --target x86_64-unknown-linux-gnu --bins "$@"
