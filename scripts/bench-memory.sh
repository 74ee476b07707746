#!/usr/bin/env bash
# Memory per client (issue 15): the server's marginal RSS per connected client.
#   STEPS="0 500 1000 2000" MODES="full delta" SECS=15 scripts/bench-memory.sh
#   SERVER=ref scripts/bench-memory.sh                      # bench/reference-server instead
#   TC=/path/to/tickcast-server SKIP_BUILD=1 scripts/bench-memory.sh   # another build of the server
#   SERVER_ARGS="--h1-write-buffer 4096" SERVER_ENV="MALLOC_ARENA_MAX=2" scripts/bench-memory.sh
# For each mode (full snapshots, deltas) and step it starts a fresh release server (port 0, rooms
# of 8, 30 Hz) and drives it with the release bot (wandering, 30 inputs/s, --threads 1, 3 s
# warm-up, SECS of play); the server's RSS is read from /proc/<pid> at the end of the bot's
# steady window (the report's server_rss_bytes; step 0 waits SECS with no client). Prints each
# run, then per mode the least-squares slope of RSS over connected clients (KiB per client),
# with delivery, p99 input→ack and the 1-minute load average next to it (delivery is
# CPU-sensitive; RSS is not). Localhost only; every run is bounded by SECS plus the ramp.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-"0 500 1000 2000"} MODES=${MODES:-"full delta"} SECS=${SECS:-15}
SERVER=${SERVER:-tc} SERVER_ARGS=${SERVER_ARGS:-} SERVER_ENV=${SERVER_ENV:-}
BOT=target/release/tickcast-bot TC=${TC:-target/release/tickcast-server} REF=target/release/tickcast-reference
[ -n "${SKIP_BUILD:-}" ] || cargo build -q --release -p tickcast-bot -p tickcast-server -p tickcast-reference
ulimit -n "$(ulimit -Hn)"
out=${OUT:-target/bench-memory/run-$$}; mkdir -p "$out"
echo "results in $out (server $SERVER, args '$SERVER_ARGS', env '$SERVER_ENV')"

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

run() { # mode bots
  local mode=$1 bots=$2 log="$out/$1-$2.log" json="$out/$1-$2.json" metrics=() pid port=""
  : >"$log" # exists before the server's own redirect does, for the port poll below
  # shellcheck disable=SC2086 # SERVER_ENV and SERVER_ARGS are word lists
  case $SERVER in
    ref) env $SERVER_ENV "$REF" --port 0 --max-players-per-room 8 $SERVER_ARGS >"$log" 2>&1 &
      metrics=(--metrics-url none) ;;
    *) env $SERVER_ENV "$TC" --port 0 --max-players-per-room 8 --max-rooms $((bots / 8 + 64)) \
      --log warn $SERVER_ARGS >"$log" 2>&1 & ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^tickcast listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "server did not start; see $log" >&2; kill "$pid"; exit 1; }
  if [ "$bots" -eq 0 ]; then
    sleep "$SECS"
    printf '{"connected":0,"server_rss_bytes":%s}\n' "$(rss_bytes "$pid")" >"$json"
  else
    "$BOT" --url "ws://127.0.0.1:$port/ws" --bots "$bots" --duration "${SECS}s" --warmup 3s \
      --snapshots "$mode" --threads 1 --server-pid "$pid" "${metrics[@]}" --json "$json" -q || true
  fi
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$SERVER" = ref ]; then kill -TERM "$pid"; else kill -INT "$pid"; fi
  wait "$pid" || true
  python3 - "$json" "$mode" "$bots" "$load" <<'PY'
import json, sys
path, mode, bots, load = sys.argv[1:]
r = json.load(open(path)); r["load1"] = float(load); json.dump(r, open(path, "w"))
extra = ""
if r.get("delivery") is not None:
    extra = (f", delivery {r['delivery']:.4f}, ack p99 {r['input_ack_ms']['p99']:.1f} ms, "
             f"server {r['server_cpu_cores']:.3f} cores")
print(f"{mode:5} {bots:>5} bots: connected {r['connected']}, server RSS "
      f"{r['server_rss_bytes'] / 2**20:.1f} MiB{extra}, load {load}")
PY
}

for mode in $MODES; do
  for bots in $STEPS; do run "$mode" "$bots"; done
done

python3 - "$out" "$MODES" "$STEPS" <<'PY'
import json, sys
out, modes, steps = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print("| snapshots | RSS at each step (MiB) | slope KiB / client | delivery (min) | ack p99 ms (max) | load (1 min) |")
print("|---|---|---:|---:|---:|---|")
for mode in modes:
    rs = [json.load(open(f"{out}/{mode}-{b}.json")) for b in steps]
    pts = [(r["connected"], r["server_rss_bytes"]) for r in rs if r.get("server_rss_bytes")]
    n = len(pts); mx = sum(x for x, _ in pts) / n; my = sum(y for _, y in pts) / n
    den = sum((x - mx) ** 2 for x, _ in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / den / 1024 if den else float("nan")
    live = [r for r in rs if r.get("delivery") is not None]
    deliv = min((r["delivery"] for r in live), default=float("nan"))
    ack = max((r["input_ack_ms"]["p99"] for r in live), default=float("nan"))
    loads = [r["load1"] for r in rs]
    cells = " / ".join(f"{y / 2**20:.1f} ({x:,})" for x, y in pts)
    print(f"| {mode} | {cells} | {slope:.2f} | {100 * deliv:.2f} % | {ack:.1f} | "
          f"{min(loads):.1f}–{max(loads):.1f} |")
PY
