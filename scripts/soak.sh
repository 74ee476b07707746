#!/usr/bin/env bash
# Soak test (localhost only, bounded): a release server, bots joining and leaving in overlapping
# waves (tickcast-bot), some clients that stall (the `staller` example), and /metrics sampled
# every few seconds. Prints the samples and a summary: server RSS over time and whether any room,
# player or session leaked once the last client left. Results go in BENCHMARKS.md ("Soak").
#
#   scripts/soak.sh                     # 240 s of churn
#   SOAK_SECONDS=120 scripts/soak.sh
#
# Exit code 0 = no leak and RSS flat (last-quarter median within RSS_SLACK of the warm median).
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-240}
WAVE_EVERY=${WAVE_EVERY:-8}        # a new bot wave every N seconds
SAMPLE_EVERY=${SAMPLE_EVERY:-5}
STALL_EVERY=${STALL_EVERY:-30}     # a batch of stalled clients every N seconds
STALLERS=${STALLERS:-6}
STALL_TIMEOUT=${STALL_TIMEOUT:-4}
RSS_SLACK=${RSS_SLACK:-0.15}       # allowed relative RSS growth, warm → end
OUT=${OUT:-target/soak}
(( SOAK_SECONDS <= 600 )) || { echo "SOAK_SECONDS is capped at 600" >&2; exit 1; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cargo build -q --release -p tickcast-server -p tickcast-bot
  cargo build -q --release -p tickcast-tests --example staller
fi
SERVER=target/release/tickcast-server
BOT=target/release/tickcast-bot
STALLER=target/release/examples/staller
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log

pids=()
server_pid=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

"$SERVER" --port 0 --tick-rate 30 --max-players-per-room 8 --empty-room-grace 2 \
  --stall-timeout "$STALL_TIMEOUT" --static-dir /nonexistent --log warn \
  >"$OUT/server.out" 2>"$OUT/server.err" &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's#^tickcast listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$OUT/server.out" | head -n1)
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "the server did not start; see $OUT/server.err" >&2; exit 1; }
URL="ws://127.0.0.1:$port/ws"
METRICS="http://127.0.0.1:$port/metrics"
echo "soak: server pid $server_pid on $URL for ${SOAK_SECONDS}s" >&2

metric() { awk -v n="$1" '$1 == n { print $2; exit }' "$2"; }
sample() {
  local f="$OUT/metrics.txt"
  curl -fsS --max-time 2 "$METRICS" >"$f" || return 0
  printf '%s,%s,%s,%s,%s,%s,%s,%s\n' "$1" \
    "$(metric process_resident_memory_bytes "$f")" "$(metric tickcast_connections "$f")" \
    "$(metric tickcast_rooms "$f")" "$(metric tickcast_players "$f")" \
    "$(metric tickcast_connections_total "$f")" "$(metric tickcast_frames_dropped_total "$f")" \
    "$(metric tickcast_stalled_disconnects_total "$f")" >>"$OUT/samples.csv"
}
echo "t,rss_bytes,connections,rooms,players,connections_total,frames_dropped,stalled_disconnects" >"$OUT/samples.csv"

start=$(date +%s)
next_wave=0; next_stall=10; next_sample=0; wave=0
while :; do
  now=$(( $(date +%s) - start ))
  (( now >= SOAK_SECONDS )) && break
  if (( now >= next_sample )); then sample "$now"; next_sample=$(( now + SAMPLE_EVERY )); fi
  if (( now >= next_wave )) && (( now + 12 < SOAK_SECONDS )); then
    wave=$(( wave + 1 ))
    bots=$(( 30 + (wave * 37) % 60 ))          # 30..89 bots
    dur=$(( 10 + (wave * 7) % 12 ))            # 10..21 s: waves overlap, bots come and go
    "$BOT" --url "$URL" --bots "$bots" --duration "${dur}s" --warmup 1s --ramp 40 --room any \
      --input-hz 30 --seed "$wave" --name-prefix "w$wave-" --metrics-url none -q \
      --json "$OUT/wave-$wave.json" >"$OUT/wave-$wave.log" 2>&1 &
    pids+=($!)
    next_wave=$(( now + WAVE_EVERY ))
  fi
  if (( now >= next_stall )) && (( now + STALL_TIMEOUT + 6 < SOAK_SECONDS )); then
    "$STALLER" "$URL" "$STALLERS" $(( STALL_TIMEOUT + 4 )) >>"$OUT/staller.log" 2>&1 &
    pids+=($!)
    next_stall=$(( now + STALL_EVERY ))
  fi
  sleep 1
done

echo "soak: churn over; waiting for the clients to leave" >&2
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
# Let empty rooms pass their grace period, then take the final samples.
for _ in $(seq 1 30); do
  now=$(( $(date +%s) - start ))
  sample "$now"
  last=$(tail -n1 "$OUT/samples.csv")
  IFS=, read -r _ _ c r p _ _ _ <<<"$last"
  [[ "$c" == 0 && "$r" == 0 && "$p" == 0 ]] && break
  sleep 1
done

waves_ok=$(grep -l '"connected"' "$OUT"/wave-*.json 2>/dev/null | wc -l)
joined=$(cat "$OUT"/wave-*.json 2>/dev/null | jq -s '[.[].connected] | add // 0')
errors=$(cat "$OUT"/wave-*.json 2>/dev/null | jq -s '[.[].errors] | add // 0')
delivery=$(cat "$OUT"/wave-*.json 2>/dev/null | jq -s '[.[].delivery] | min // 0')
stalled_joined=$(grep -c 'stopped reading' "$OUT/staller.log" 2>/dev/null || true)

echo
column -s, -t <"$OUT/samples.csv"
echo
python3 - "$OUT/samples.csv" "$RSS_SLACK" "$wave" "$waves_ok" "$joined" "$errors" "$delivery" "$stalled_joined" "$STALLERS" <<'PY'
import csv, statistics, sys
path, slack, waves, waves_ok, joined, errors, delivery, stall_batches, stallers = sys.argv[1:]
rows = [r for r in csv.DictReader(open(path)) if r["rss_bytes"]]
mib = lambda b: float(b) / 2**20
n = len(rows)
busy = [r for r in rows if int(float(r["connections"])) > 0] or rows
q = max(1, len(busy) // 4)
warm = statistics.median(mib(r["rss_bytes"]) for r in busy[q:2 * q])
late = statistics.median(mib(r["rss_bytes"]) for r in busy[-q:])
peak = max(mib(r["rss_bytes"]) for r in rows)
last = rows[-1]
growth = (late - warm) / warm
leak = any(int(float(last[k])) != 0 for k in ("connections", "rooms", "players"))
flat = growth <= float(slack)
print(f"duration            {last['t']} s, {n} samples")
print(f"bot waves           {waves} started, {waves_ok} reported; {joined} bot sessions joined, {errors} errors; worst wave delivery {float(delivery) * 100:.2f}%")
print(f"stalled clients     {int(stall_batches) * int(stallers)} in {stall_batches} batches; server disconnected {int(float(last['stalled_disconnects']))} as stalled (4004)")
print(f"sessions opened     {int(float(last['connections_total']))}; peak connections {max(int(float(r['connections'])) for r in rows)}; peak rooms {max(int(float(r['rooms'])) for r in rows)}")
print(f"server RSS          warm median {warm:.1f} MiB, last-quarter median {late:.1f} MiB ({growth * 100:+.1f}%), peak {peak:.1f} MiB, idle at end {mib(last['rss_bytes']):.1f} MiB")
print(f"after the last client: connections={int(float(last['connections']))} rooms={int(float(last['rooms']))} players={int(float(last['players']))}")
print("verdict             " + ("OK: RSS flat, nothing leaked" if flat and not leak else f"FAIL: rss_flat={flat} leak={leak}"))
sys.exit(0 if flat and not leak else 1)
PY
