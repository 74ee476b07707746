#!/usr/bin/env bash
# A/B load comparison of two server binaries on this machine, interleaved to share the noise:
#   scripts/bench-ab.sh BIN_A BIN_B [BOTS=1000] [SECONDS=20] [ROUNDS=3]
# Each round starts A then B (fresh process, port 0, rooms of 8, 30 Hz) and drives them with the
# release bot client; prints each run and the medians of server CPU cores, RSS, delivery and p99
# input→ack latency. Localhost only; every run is bounded by SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 BOTS=${3:-1000} SECS=${4:-20} ROUNDS=${5:-3}
BOT=target/release/tickcast-bot
[ -x "$BOT" ] || cargo build -q --release -p tickcast-bot
out=target/ab/run-$$; mkdir -p "$out"
run() { # label bin round
  local log="$out/$1-$3.log"
  "$2" --port 0 --max-players-per-room 8 --log warn >"$log" 2>&1 &
  local pid=$!
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^tickcast listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  "$BOT" --url "ws://127.0.0.1:$port/ws" --bots "$BOTS" --duration "${SECS}s" --server-pid "$pid" \
    --json "$out/$1-$3.json" -q || true
  kill -INT "$pid"; wait "$pid" || true
  python3 - "$out/$1-$3.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]}: cpu {r['server_cpu_cores']:.3f} cores, rss {r['server_rss_bytes']/2**20:.1f} MiB, "
      f"delivery {r['delivery']:.4f}, ack p99 {r['input_ack_ms']['p99']:.1f} ms, bot cpu {r['bot_cpu_cores']:.3f}")
PY
}
for r in $(seq "$ROUNDS"); do run A "$A" "$r"; run B "$B" "$r"; done
python3 - "$out" <<'PY'
import json, glob, statistics, sys
for label in "AB":
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{sys.argv[1]}/{label}-*.json"))]
    med = lambda f: statistics.median(f(r) for r in rs)
    print(f"median {label}: cpu {med(lambda r: r['server_cpu_cores']):.3f} cores, "
          f"rss {med(lambda r: r['server_rss_bytes'])/2**20:.1f} MiB, delivery {med(lambda r: r['delivery']):.4f}, "
          f"ack p99 {med(lambda r: r['input_ack_ms']['p99']):.1f} ms")
PY
