#!/usr/bin/env bash
# Where a server's CPU goes under load (issue 15):
#   bench/profile.sh tc|tc-delta|tc-packed|ref [BOTS=1000] [SECS=10]
# Starts a fresh release server (rooms of 8, 30 Hz) and the release bot (--threads 1) for
# SECS + 10 s; after 6 s it samples the server for SECS seconds with `perf record -e cpu-clock`
# (flat: release binaries keep their symbols) and counts its syscalls per second with
# `perf stat -e syscalls:sys_enter_*`. Prints the top symbols and the syscall counts; the raw
# data stays in target/profile/. Needs perf with access to tracepoints (root here).
# TC_FLAGS adds server flags to the tickcast modes, e.g. TC_FLAGS="--workers 1".
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=$1 BOTS=${2:-1000} SECS=${3:-10}
out=target/profile; mkdir -p "$out"
log="$out/$MODE.log"; : >"$log"
snaps=full metrics=()
case $MODE in
  ref) target/release/tickcast-reference --port 0 --max-players-per-room 8 >"$log" 2>&1 &
       metrics=(--metrics-url none) ;;
  tc) target/release/tickcast-server --port 0 --max-players-per-room 8 --log warn ${TC_FLAGS:-} >"$log" 2>&1 & ;;
  tc-delta) target/release/tickcast-server --port 0 --max-players-per-room 8 --log warn ${TC_FLAGS:-} >"$log" 2>&1 &
       snaps=delta ;;
  tc-packed) target/release/tickcast-server --port 0 --max-players-per-room 8 --log warn ${TC_FLAGS:-} >"$log" 2>&1 &
       snaps=packed ;;
  *) echo "mode: tc, tc-delta, tc-packed or ref" >&2; exit 1 ;;
esac
pid=$! port=""
for _ in $(seq 100); do
  port=$(sed -n 's/^tickcast listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log" 2>/dev/null || true)
  [ -n "$port" ] && break
  sleep 0.1
done
target/release/tickcast-bot --url "ws://127.0.0.1:$port/ws" --bots "$BOTS" --duration "$((SECS + 10))s" \
  --snapshots "$snaps" --server-pid "$pid" "${metrics[@]}" --json "$out/$MODE-bot.json" -q &
bot=$!
sleep 6
perf record -q -e cpu-clock -F 1999 -p "$pid" -o "$out/$MODE.perf" -- sleep "$SECS" 2>/dev/null
perf stat -x, -e 'context-switches,syscalls:sys_enter_*' -p "$pid" -o "$out/$MODE-syscalls.csv" -- sleep 2 || true
wait "$bot" || true
if [ "$MODE" = ref ]; then kill -TERM "$pid"; else kill -INT "$pid"; fi
wait "$pid" || true
echo "== $MODE, $BOTS bots: kernel vs user samples"
perf report -i "$out/$MODE.perf" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8 || true
echo "== top symbols"
perf report -i "$out/$MODE.perf" --no-children --sort sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 || true
echo "== context switches and syscalls per second (2 s window), per client"
awk -F, -v bots="$BOTS" '$1+0 > 0 { sub("syscalls:sys_enter_", "", $3); printf "%-20s %8.0f /s  %6.2f per client per s\n", $3, $1/2, $1/2/bots }' \
  "$out/$MODE-syscalls.csv" | sort -k2 -nr | head -12 || true
