#!/usr/bin/env bash
# Load ladder: a release tickcast-server and a release tickcast-bot side by side on this machine,
# 30 Hz, rooms of 8 (matchmaking: bots join with --room any), one fresh server per step.
#
#   bot-client/bench/ladder.sh                    # 500 1000 2000 5000 10000 bots, 20 s each
#   STEPS="200 500" DURATION=8s WARMUP=3s bot-client/bench/ladder.sh   # a quick small run
#
# Environment: STEPS, DURATION (per step, after the ramp), WARMUP, RAMP (connections/s),
# BOT_THREADS (bot runtime threads, 1 = current-thread), BEHAVIOUR, SNAPSHOTS (packed|delta|full, default packed: what clients use), OUT (report directory),
# SERVER_ARGS (extra server flags), SKIP_BUILD=1.
# Every step is bounded: ramp (≤ bots/RAMP s + connect timeouts) + DURATION + close timeout.
# Traffic stays on 127.0.0.1. Prints a markdown table; the JSON reports stay in $OUT.
set -euo pipefail

cd "$(dirname "$0")/../.."
STEPS="${STEPS:-500 1000 2000 5000 10000}"
DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-5s}"
RAMP="${RAMP:-2000}"
BOT_THREADS="${BOT_THREADS:-1}"
BEHAVIOUR="${BEHAVIOUR:-wander}"
SNAPSHOTS="${SNAPSHOTS:-packed}"
OUT="${OUT:-target/ladder}"
SERVER_ARGS="${SERVER_ARGS:-}"
TICK_RATE=30
ROOM_SIZE=8

command -v jq >/dev/null || { echo "ladder.sh needs jq" >&2; exit 1; }

# Each bot is one socket in the bot process and at least one in the server process (the server
# may hold more than one descriptor per connection), so take the whole hard limit.
max_bots=0
for n in $STEPS; do (( n > max_bots )) && max_bots=$n; done
hard=$(ulimit -Hn)
ulimit -n "$hard"
if [[ "$hard" != unlimited ]] && (( hard < 2 * max_bots + 1024 )); then
  echo "warning: hard fd limit $hard < $(( 2 * max_bots + 1024 )): a server holding two descriptors per client may run out at the largest step" >&2
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -p tickcast-server -p tickcast-bot
fi
SERVER=target/release/tickcast-server
BOT=target/release/tickcast-bot
mkdir -p "$OUT"

server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

for n in $STEPS; do
  log="$OUT/server-$n.log"
  # shellcheck disable=SC2086
  "$SERVER" --port 0 --tick-rate "$TICK_RATE" --max-players-per-room "$ROOM_SIZE" \
    --max-rooms $(( n / ROOM_SIZE + 64 )) $SERVER_ARGS >"$log" 2>"$OUT/server-$n.err" &
  server_pid=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's#^tickcast listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -n1)
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$port" ]]; then
    echo "server did not start for step $n; see $OUT/server-$n.err" >&2
    exit 1
  fi
  idle_rss=$(rss_kib "$server_pid")
  echo "== $n bots → 127.0.0.1:$port (server pid $server_pid, idle RSS ${idle_rss} KiB)" >&2
  set +e
  "$BOT" --url "ws://127.0.0.1:$port/ws" --bots "$n" --duration "$DURATION" --warmup "$WARMUP" \
    --ramp "$RAMP" --room any --input-hz "$TICK_RATE" --behaviour "$BEHAVIOUR" --snapshots "$SNAPSHOTS" \
    --threads "$BOT_THREADS" --server-pid "$server_pid" --json "$OUT/report-$n.json" --quiet
  rc=$?
  set -e
  if (( rc == 1 )) || [[ ! -s "$OUT/report-$n.json" ]]; then
    echo "bot run failed at $n bots (exit $rc)" >&2
  fi
  # Keep the idle baseline next to the report for the marginal RSS per client.
  if [[ -s "$OUT/report-$n.json" ]]; then
    jq --argjson idle "$(( idle_rss * 1024 ))" '. + {server_idle_rss_bytes: $idle}' \
      "$OUT/report-$n.json" >"$OUT/report-$n.tmp" && mv "$OUT/report-$n.tmp" "$OUT/report-$n.json"
  fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done

echo
echo "Load ladder: ${TICK_RATE} Hz, rooms of ${ROOM_SIZE}, ${DURATION} per step (warmup ${WARMUP}), bot threads ${BOT_THREADS}, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| bots | joined | errors | server cores | cores / 1k clients | server RSS | RSS / client (marginal) | delivery | ack p50 ms | ack p99 ms | jitter p99 ms | snapshot age p99 ms | bot cores | bot cores / 1k bots | bot loop lag p99 ms | notes |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for n in $STEPS; do
  f="$OUT/report-$n.json"
  [[ -s "$f" ]] || { echo "| $n | failed | | | | | | | | | | | | | | |"; continue; }
  jq -r '
    def n(d): if . == null then "n/a" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
    def mib: if . == null then "n/a" else ((. / 1048576 * 10 | round / 10 | tostring) + " MiB") end;
    def kib: if . == null then "n/a" else ((. / 1024 * 10 | round / 10 | tostring) + " KiB") end;
    (if .server_rss_bytes != null and .server_idle_rss_bytes != null and .connected > 0
       then (.server_rss_bytes - .server_idle_rss_bytes) / .connected else null end) as $marg
    | ([ (if any(.warnings[]?; startswith("bot loop lag"))
           then (if (.bot_cpu_cores // 0) >= 0.8 then "bot saturated" else "bot starved" end)
           else empty end),
         (if .host_load_1m != null then "load \(.host_load_1m)" else empty end),
         (.error_kinds | to_entries[] | "\(.key)×\(.value)") ] | join(", ")) as $notes
    | "| \(.bots) | \(.connected) | \(.errors) | \(.server_cpu_cores | n(3)) | \(.server_cpu_cores_per_1000_clients | n(3)) | \(.server_rss_bytes | mib) | \(.server_rss_per_client_bytes | kib) (\($marg | kib)) | \(.delivery * 100 | n(3))% | \(.input_ack_ms.p50 | n(1)) | \(.input_ack_ms.p99 | n(1)) | \(.jitter_ms.p99 | n(1)) | \(.snapshot_age_ms.p99 | n(1)) | \(.bot_cpu_cores | n(3)) | \(.bot_cpu_cores_per_1000_bots | n(3)) | \(.bot_loop_lag_ms.p99 | n(1)) | \($notes) |"
  ' "$f"
done

best=""
for n in $STEPS; do
  f="$OUT/report-$n.json"
  [[ -s "$f" ]] || continue
  if jq -e '.connected == .bots and .delivery >= 0.99' "$f" >/dev/null; then best=$n; fi
done
echo
echo "Largest step with every bot joined and delivery ≥ 99 %: ${best:-none}"
