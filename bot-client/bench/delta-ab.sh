#!/usr/bin/env bash
# Full snapshots vs delta snapshots, side by side in one run: for each bot count, fresh release
# servers alternate between bots joining with each of MODES (`--snapshots full`, `delta`,
# `packed`; forward then reverse order, REPEATS rounds), 30 Hz, rooms of 16 (the server default),
# wandering bots sending 30 inputs/s. Prints one row per run and a median row per (bots, mode),
# with bytes per snapshot received (WebSocket payload and header), plus the cut in bytes per
# client per second against full snapshots.
#
#   bot-client/bench/delta-ab.sh                          # 1000 and 5000 bots, 3 pairs, 20 s runs
#   SIZES="200" REPEATS=1 DURATION=6s WARMUP=2s bot-client/bench/delta-ab.sh   # a quick look
#   MODES="delta packed" ROOM_SIZE=8 SIZES=400 bot-client/bench/delta-ab.sh     # issue 15's A/B
#
# Environment: SIZES, MODES, REPEATS, DURATION (per run, after the ramp), WARMUP, RAMP, ROOM_SIZE,
# BOT_THREADS, OUT (report directory), SKIP_BUILD=1. Every run is bounded (ramp + DURATION +
# close timeout); traffic stays on 127.0.0.1.
set -euo pipefail

cd "$(dirname "$0")/../.."
SIZES="${SIZES:-1000 5000}"
MODES="${MODES:-full delta packed}"
REPEATS="${REPEATS:-3}"
DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-5s}"
RAMP="${RAMP:-2000}"
ROOM_SIZE="${ROOM_SIZE:-16}"
BOT_THREADS="${BOT_THREADS:-1}"
OUT="${OUT:-target/delta-ab}"
TICK_RATE=30

command -v jq >/dev/null || { echo "delta-ab.sh needs jq" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -p tickcast-server -p tickcast-bot
fi
SERVER=target/release/tickcast-server
BOT=target/release/tickcast-bot
mkdir -p "$OUT"
rm -f "$OUT"/report-*.json

server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

run() { # bots mode repeat
  local n=$1 mode=$2 r=$3 log="$OUT/server-$1-$2-$3.log" port=""
  "$SERVER" --port 0 --tick-rate "$TICK_RATE" --max-players-per-room "$ROOM_SIZE" \
    --max-rooms $(( n / ROOM_SIZE + 64 )) >"$log" 2>"$log.err" &
  server_pid=$!
  for _ in $(seq 1 100); do
    port=$(sed -n 's#^tickcast listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -n1)
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$port" ]] || { echo "server did not start; see $log.err" >&2; exit 1; }
  echo "== $n bots, $mode snapshots, run $r (server pid $server_pid)" >&2
  set +e
  "$BOT" --url "ws://127.0.0.1:$port/ws" --bots "$n" --duration "$DURATION" --warmup "$WARMUP" \
    --ramp "$RAMP" --room any --input-hz "$TICK_RATE" --behaviour wander --snapshots "$mode" \
    --threads "$BOT_THREADS" --server-pid "$server_pid" --json "$OUT/report-$n-$mode-$r.json" --quiet
  set -e
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

for n in $SIZES; do
  for r in $(seq 1 "$REPEATS"); do
    # Alternate the order, so a drift in machine load does not favour one mode.
    if (( r % 2 )); then order="$MODES"; else order=$(echo "$MODES" | tr ' ' '\n' | tac | xargs); fi
    for mode in $order; do run "$n" "$mode" "$r"; done
  done
done

row='def n(d): if . == null then "n/a" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
  "| \(.bots) | \(.snapshots) | \(.connected) | \(.bytes_in_per_client_per_s | n(0)) | \(if .snapshots_per_s > 0 then .bytes_in_per_client_per_s * .bots / .snapshots_per_s else null end | n(1)) | \(.server_cpu_cores | n(3)) | \(.encodings_per_offer | n(3)) | \(.delivery * 100 | n(2))% | \(.input_ack_ms.p99 | n(1)) | \(.snapshot_age_ms.p99 | n(1)) | \(.bot_cpu_cores | n(3)) | \(.host_load_1m // "n/a") |"'
echo
echo "Snapshots ($MODES): ${TICK_RATE} Hz, rooms of ${ROOM_SIZE}, ${DURATION} per run (warmup ${WARMUP}), ${REPEATS} rounds, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| bots | snapshots | joined | bytes/client/s | bytes/snapshot | server cores | encodings/offer | delivery | ack p99 ms | snapshot age p99 ms | bot cores | load 1m |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
  for mode in $MODES; do
    for r in $(seq 1 "$REPEATS"); do
      f="$OUT/report-$n-$mode-$r.json"
      [[ -s "$f" ]] && jq -r "$row" "$f" || echo "| $n | $mode | failed | | | | | | | | | |"
    done
  done
done
echo
echo "Medians:"
echo
echo "| bots | snapshots | bytes/client/s | bytes/snapshot | server cores | encodings/offer | delivery | ack p99 ms |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
  for mode in $MODES; do
    files=("$OUT"/report-"$n"-"$mode"-*.json)
    jq -rs --arg n "$n" --arg mode "$mode" '
      def med(f): [.[] | f | select(. != null)] | sort | if length == 0 then null
        else (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end) end;
      def n(d): if . == null then "n/a" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
      "| \($n) | \($mode) | \(med(.bytes_in_per_client_per_s) | n(0)) | \(med(if .snapshots_per_s > 0 then .bytes_in_per_client_per_s * .bots / .snapshots_per_s else null end) | n(1)) | \(med(.server_cpu_cores) | n(3)) | \(med(.encodings_per_offer) | n(3)) | \(med(.delivery) * 100 | n(2))% | \(med(.input_ack_ms.p99) | n(1)) |"
    ' "${files[@]}"
  done
  med() { jq -s '[.[].bytes_in_per_client_per_s] | sort | .[length / 2 | floor]' "$OUT"/report-"$n"-"$1"-*.json; }
  ref=$(echo "$MODES" | awk '{print $1}')
  echo
  for mode in $MODES; do
    [[ "$mode" == "$ref" ]] && continue
    a=$(med "$ref"); b=$(med "$mode")
    echo "$n bots: $mode cuts bytes per client per second by $(jq -n "(1 - $b / $a) * 1000 | round / 10")% against $ref (median $b vs $a B/s)"
  done
  echo
done
