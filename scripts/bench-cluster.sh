#!/usr/bin/env bash
# The cluster's numbers on this machine: one redis-server on a Unix socket and three nodes on
# port 0, default 6 s lease (BENCHMARKS.md, "Cluster"):
#   scripts/bench-cluster.sh [BOTS=600] [SECONDS=30] [ROUNDS=3]
# 1. Spread: BOTS bots with --matchmake through node 0 (rooms of 8, 50 new bots/s) for SECONDS;
#    in a 10 s steady window: each node's rooms, players and CPU cores, and Redis commands per
#    second per node.
# 2. Join latency: a room owned by node 0 (one bot holds it; rooms of 256 here); each round,
#    100 bots join it through node 0 (direct), then 100 through node 1 (a redirect to node 0).
# 3. Crash: ROUNDS times, a fourth node holding a room is killed with -9 while /rooms on node 0
#    is polled every 50 ms; the time from the kill until none of its rooms is listed.
# Localhost only; bounded (every wait has a deadline); every process stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-600} SECS=${2:-30} ROUNDS=${3:-3}
out=$PWD/target/bench-cluster/cluster-$$; mkdir -p "$out"
. scripts/bench-cluster-lib.sh
start_redis

# rooms PORT: node PORT's /rooms (the whole cluster's), compact JSON.
rooms() { curl -sf "http://127.0.0.1:$1/rooms"; }
# wait_for PORT PYTHON_EXPR SECONDS: until the expression over `rooms` (a list) is true.
wait_for() {
  local end=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$end" ]; do
    rooms "$1" | python3 -c "import json,sys; rooms=json.load(sys.stdin); sys.exit(0 if ($2) else 1)" \
      && return 0
    sleep 0.2
  done
  echo "timed out waiting for: $2" >&2; return 1
}
# start_cluster PREFIX [server flags…]: three nodes PREFIX-0..2; sets PORTS and NPIDS.
start_cluster() {
  local prefix=$1; shift
  PORTS=() NPIDS=()
  for i in 0 1 2; do
    start_node "$out/$prefix-$i.log" --redis-url "$REDIS_URL" --node-id "$prefix-$i" "$@"
    PORTS+=("$NODE_PORT") NPIDS+=("$NODE_PID")
  done
}
stop_cluster() { for p in "${NPIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" || true; done; }

echo "== 1. spread: $BOTS bots by matchmaking through node 0, rooms of 8"
start_cluster spread --max-players-per-room 8
"$BOT" --url "ws://127.0.0.1:${PORTS[0]}/ws" --matchmake --bots "$BOTS" --ramp 50 \
  --duration "${SECS}s" --json "$out/spread.json" -q &
bot=$!; pids+=($bot)
# Every bot in (a few may have given up: the report counts them); then 2 s to settle.
wait_for "${PORTS[0]}" "sum(r['players'] for r in rooms) >= $BOTS" 45 || true
sleep 2
c0=$(redis_commands); t0=$(date +%s.%N); k0=(); for p in "${NPIDS[@]}"; do k0+=("$(cpu_ticks "$p")"); done
sleep 10
c1=$(redis_commands); t1=$(date +%s.%N); k1=(); for p in "${NPIDS[@]}"; do k1+=("$(cpu_ticks "$p")"); done
rooms "${PORTS[0]}" >"$out/spread-rooms.json"
wait "$bot" || true
python3 - "$out" "$c0" "$c1" "$t0" "$t1" "$(getconf CLK_TCK)" "${k0[*]}" "${k1[*]}" <<'PY'
import json, sys, collections
out, c0, c1, t0, t1, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
k0, k1 = [int(x) for x in sys.argv[7].split()], [int(x) for x in sys.argv[8].split()]
rooms = json.load(open(f"{out}/spread-rooms.json"))
per = collections.defaultdict(lambda: [0, 0])
for r in rooms:
    per[r["node"]][0] += 1; per[r["node"]][1] += r["players"]
wall = t1 - t0
for i, node in enumerate(sorted(per)):
    print(f"{node}: {per[node][0]} rooms, {per[node][1]} players, cpu {(k1[i]-k0[i])/hz/wall:.3f} cores")
print(f"redis: {(c1-c0)/wall:.1f} commands/s in all, {(c1-c0)/wall/3:.1f} per node ({wall:.1f} s window)")
r = json.load(open(f"{out}/spread.json"))
print(f"bots: {r['connected']} joined of {r['bots']}, delivery {r['delivery']:.4f}, "
      f"join (matchmake + connect + welcome) p50 {r['join_ms']['p50']:.1f} p99 {r['join_ms']['p99']:.1f} ms, "
      f"ack p99 {r['input_ack_ms']['p99']:.1f} ms")
PY
stop_cluster

echo "== 2. join latency, direct and with a redirect (100 bots a run, 50 new bots/s)"
start_cluster lat --max-players-per-room 256
"$BOT" --url "ws://127.0.0.1:${PORTS[0]}/ws" --room lat --bots 1 --name-prefix own- \
  --duration 600s --metrics-url none -q >/dev/null &
owner=$!; pids+=($owner)
wait_for "${PORTS[1]}" "any(r['id'] == 'lat' and r['node'] == 'lat-0' for r in rooms)" 20
join_run() { # label round port
  "$BOT" --url "ws://127.0.0.1:$3/ws" --room lat --bots 100 --ramp 50 --duration 3s \
    --name-prefix "$1$2-" --metrics-url none --json "$out/join-$1-$2.json" -q || true
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); j=r['join_ms']; \
print(f\"{sys.argv[2]} {sys.argv[3]}: {r['connected']} joined, p50 {j['p50']:.1f} p99 {j['p99']:.1f} max {j['max']:.1f} ms\")" \
    "$out/join-$1-$2.json" "$1" "$2"
}
for r in $(seq "$ROUNDS"); do
  join_run direct "$r" "${PORTS[0]}"
  join_run redirect "$r" "${PORTS[1]}"
done
python3 - "$out" <<'PY'
import json, glob, statistics, sys
for label in ("direct", "redirect"):
    rs = [json.load(open(f))["join_ms"] for f in sorted(glob.glob(f"{sys.argv[1]}/join-{label}-*.json"))]
    print(f"median {label}: p50 {statistics.median(j['p50'] for j in rs):.1f} ms, "
          f"p99 {statistics.median(j['p99'] for j in rs):.1f} ms")
PY
kill "$owner" 2>/dev/null || true; wait "$owner" || true

echo "== 3. a crashed node's rooms leave the lobby (kill -9; /rooms on node 0 every 50 ms)"
for r in $(seq "$ROUNDS"); do
  start_node "$out/crash-$r.log" --redis-url "$REDIS_URL" --node-id "crash-$r"
  victim=$NODE_PID
  "$BOT" --url "ws://127.0.0.1:$NODE_PORT/ws" --room "crash-$r" --bots 2 --resume-attempts 0 \
    --duration 120s --metrics-url none -q >/dev/null 2>&1 &
  cbot=$!; pids+=($cbot)
  wait_for "${PORTS[0]}" "any(r['node'] == 'crash-$r' for r in rooms)" 20
  sleep 1
  python3 - "$victim" "http://127.0.0.1:${PORTS[0]}/rooms" "crash-$r" <<'PY'
import json, os, signal, sys, time, urllib.request
pid, url, node = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.kill(pid, signal.SIGKILL)
t0 = time.monotonic()
polls = 0
while time.monotonic() - t0 < 30:
    rooms = json.load(urllib.request.urlopen(url, timeout=2))
    polls += 1
    if not any(r.get("node") == node for r in rooms):
        print(f"{node}: rooms gone from the lobby {time.monotonic() - t0:.2f} s after kill -9 ({polls} polls)")
        sys.exit(0)
    time.sleep(0.05)
print(f"{node}: rooms still listed 30 s after kill -9"); sys.exit(1)
PY
  wait "$victim" 2>/dev/null || true
  kill "$cbot" 2>/dev/null || true; wait "$cbot" || true
done
stop_cluster
echo "logs and reports in $out"
