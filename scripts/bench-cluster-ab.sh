#!/usr/bin/env bash
# Steady-state cost of the cluster directory: the same server binary with and without
# --redis-url, at the same load, interleaved to share the noise (sibling of bench-ab.sh):
#   scripts/bench-cluster-ab.sh [BOTS=1000] [SECONDS=20] [ROUNDS=3]
# One redis-server on a Unix socket for the whole run; each round starts A (single node) then B
# (a cluster node of one, fresh --node-id) on port 0, rooms of 8, and drives each with the release
# bot client (--server-pid: CPU and RSS from /proc over the steady window). Prints every run, the
# medians, B's Redis commands per second (steady window and ramp included) and the CPU ratio B/A.
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-1000} SECS=${2:-20} ROUNDS=${3:-3}
out=$PWD/target/bench-cluster/ab-$$; mkdir -p "$out"
. scripts/bench-cluster-lib.sh
start_redis
run() { # label round [server flags…]
  local label=$1 round=$2; shift 2
  start_node "$out/$label-$round.log" --max-players-per-room 8 "$@"
  local pid=$NODE_PID before t0
  before=$(redis_commands); t0=$(date +%s.%N)
  "$BOT" --url "ws://127.0.0.1:$NODE_PORT/ws" --bots "$BOTS" --duration "${SECS}s" --server-pid "$pid" \
    --json "$out/$label-$round.json" -q || true
  python3 - "$out/$label-$round.json" "$label" "$(redis_commands)" "$before" "$t0" "$(date +%s.%N)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
after, before, t0, t1 = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
r["redis_ops_per_second"] = (after - before) / (t1 - t0)
json.dump(r, open(sys.argv[1], "w"))
print(f"{sys.argv[2]}: cpu {r['server_cpu_cores']:.3f} cores, rss {r['server_rss_bytes']/2**20:.1f} MiB, "
      f"delivery {r['delivery']:.4f}, ack p99 {r['input_ack_ms']['p99']:.1f} ms, "
      f"join p50 {r['join_ms']['p50']:.1f} p99 {r['join_ms']['p99']:.1f} ms, "
      f"redis {r['redis_ops_per_second']:.1f} cmd/s, bot cpu {r['bot_cpu_cores']:.3f}")
PY
  kill -INT "$pid"; wait "$pid" || true
}
for r in $(seq "$ROUNDS"); do
  run A "$r"
  run B "$r" --redis-url "$REDIS_URL" --node-id "ab-$r"
done
python3 - "$out" <<'PY'
import json, glob, statistics, sys
med = {}
for label in "AB":
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{sys.argv[1]}/{label}-*.json"))]
    m = lambda f: statistics.median(f(r) for r in rs)
    med[label] = m(lambda r: r['server_cpu_cores'])
    print(f"median {label}: cpu {med[label]:.3f} cores, rss {m(lambda r: r['server_rss_bytes'])/2**20:.1f} MiB, "
          f"delivery {m(lambda r: r['delivery']):.4f}, ack p99 {m(lambda r: r['input_ack_ms']['p99']):.1f} ms, "
          f"join p50 {m(lambda r: r['join_ms']['p50']):.1f} ms, redis {m(lambda r: r['redis_ops_per_second']):.1f} cmd/s")
print(f"cpu B/A: {med['B'] / med['A']:.3f} ({(med['B'] / med['A'] - 1) * 100:+.1f} %)")
PY
echo "runs in $out"
