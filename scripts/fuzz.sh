#!/usr/bin/env bash
# Runs every cargo-fuzz target for a fixed time each and prints one summary line per target
# (runs, execs/s, coverage, findings). Not part of CI. Results go in FUZZING.md.
#
#   scripts/fuzz.sh                 # 60 s per target
#   FUZZ_SECONDS=300 scripts/fuzz.sh decode frame_header
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on the stable toolchain through
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only sanitizer flags). Crashes are written to
# fuzz/artifacts/<target>/ and make this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=(decode frame_header session_message join_token delta_apply)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1

mkdir -p logs
status=0
summary=()
for t in "${TARGETS[@]}"; do
  echo "==> fuzzing $t for ${SECONDS_PER_TARGET}s" >&2
  mkdir -p "corpus/$t"
  # Seed every corpus with the golden vectors: valid messages of every kind (deltas included)
  # let the fuzzer start from the interesting side of the parser.
  python3 - "corpus/$t" <<'PY'
import json, sys
for v in json.load(open("../assets/protocol-vectors.json"))["vectors"]:
    open(f"{sys.argv[1]}/vector-{v['name']}", "wb").write(bytes.fromhex(v["hex"]))
PY
  log="logs/$t.log"
  set +e
  par=()
  (( JOBS > 1 )) && par=(-jobs="$JOBS" -workers="$JOBS")  # >1 forks workers logging to fuzz-N.log
  cargo fuzz run "$t" -- -max_total_time="$SECONDS_PER_TARGET" "${par[@]}" \
    -max_len=4096 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  cat fuzz-*.log >>"$log" 2>/dev/null && rm -f fuzz-*.log
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | awk '{print $2}')
  corpus=$(find "corpus/$t" -type f | wc -l)
  crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
  line="$t: runs=$runs execs/s=$eps cov=${cov:-?} corpus=$corpus findings=$crashes exit=$rc"
  echo "$line" >&2
  summary+=("$line")
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    tail -n 40 "$log" >&2
  fi
done
echo; printf '%s\n' "${summary[@]}"
exit $status
