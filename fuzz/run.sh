#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20), one after the other: the short run
# CI does. Needs cargo-fuzz (`cargo install cargo-fuzz`; .ci/run installs it) and the
# sanitizer flags of a nightly compiler: the nightly toolchain when rustup has one, else the
# stable compiler with RUSTC_BOOTSTRAP=1, which unlocks the same flags (FUZZ_NIGHTLY=0
# forces the latter).
#
#   fuzz/run.sh 10              # CI (scripts/test-all): 8 targets x 10 s, plus the build
#   fuzz/run.sh 3600 web_path   # one target for an hour (see docs/proof.md)
#
# New inputs go to fuzz/corpus/TARGET (not committed); the committed seeds are in
# fuzz/seeds/TARGET. A crash leaves its input in fuzz/artifacts/TARGET/ and fails the run;
# reproduce it with `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...`, then
# add it as a regression test (docs/proof.md says how).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-20}
shift || true
all=(config interpolate env_file movement_body product_body journal_query web_path workbook)
targets=("${@:-${all[@]}}")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

command -v cargo-fuzz >/dev/null || { echo "fuzz/run.sh: cargo-fuzz is missing: cargo install --locked cargo-fuzz" >&2; exit 1; }
if [ "${FUZZ_NIGHTLY:-auto}" != 0 ] && rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  echo "fuzz/run.sh: no nightly toolchain; using $(rustc --version) with RUSTC_BOOTSTRAP=1" >&2
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

log=$(mktemp); trap 'rm -f "$log"' EXIT
# `cargo fuzz run` builds what it needs (the library once, then each target's binary).
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzz $t for ${secs}s" >&2
  # -timeout: an input taking over 10 s is a hang; -rss_limit_mb: a leak or a blow-up.
  rc=0
  "${fuzz[@]}" run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    > "$log" 2>&1 || rc=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)" "$log" >&2 || true
  if [ $rc -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz/run.sh: $t failed (exit $rc); the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
echo "fuzz/run.sh: ${#targets[@]} targets x ${secs}s: no crash" >&2
