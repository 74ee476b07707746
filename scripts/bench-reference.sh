#!/usr/bin/env bash
# The yardstick (issue 15): tickcast-server against bench/reference-server (a bare tokio +
# tokio-tungstenite server doing the same arena work), interleaved under the same bots.
#   STEPS="500 1000 2000" SECS=20 ROUNDS=3 THREADS=1 scripts/bench-reference.sh
# For each step and round it runs, in an order rotated every round: the reference (full
# snapshots), tickcast full, tickcast deltas — a fresh release server per run (port 0, rooms of
# 8, 30 Hz) driven by the release bot (wandering, 30 inputs/s, 3 s warm-up). Server CPU comes
# from /proc/<pid> over the bot's steady window. Prints each run, then per step the medians:
# server cores per 1,000 clients, the ratio tickcast / reference, delivery, p99 input→ack, bot
# cores, and the 1-minute load average seen. Localhost only; every run is bounded by SECS.
# MODES (default "ref tc-full tc-delta"; tc-packed: packed deltas) picks and orders the servers; a tickcast mode may carry
# extra server flags after a '+', commas for spaces: MODES="ref tc-full tc-full+--workers,1".
# PIN="0:1" pins every server to CPU 0 and the bots to CPU 1 (taskset): each gets one core of its own.
# Modes alt-full, alt-delta and alt-packed run the tickcast binary at $TC_ALT instead (an A/B of two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-"500 1000 2000"} SECS=${SECS:-20} ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-1}
BOT=target/release/tickcast-bot TC=target/release/tickcast-server REF=target/release/tickcast-reference
[ -n "${SKIP_BUILD:-}" ] || cargo build -q --release -p tickcast-bot -p tickcast-server -p tickcast-reference
srv_pin=() bot_pin=()
if [ -n "${PIN:-}" ]; then srv_pin=(taskset -c "${PIN%%:*}") bot_pin=(taskset -c "${PIN#*:}"); fi
out=target/bench-reference/run-$$; mkdir -p "$out"
echo "results in $out"

run() { # mode bots round
  local mode=$1 bots=$2 log="$out/$1-$2-$3.log" json="$out/$1-$2-$3.json" snaps=full metrics=()
  local extra=() base=${1%%+*}
  [ "$mode" = "$base" ] || read -ra extra <<<"$(tr , ' ' <<<"${mode#*+}")"
  : >"$log" # exists before the server's own redirect does, for the port poll below
  case $base in
    ref) ${srv_pin[@]+"${srv_pin[@]}"} "$REF" --port 0 --max-players-per-room 8 >"$log" 2>&1 & metrics=(--metrics-url none) ;;
    tc-full) ${srv_pin[@]+"${srv_pin[@]}"} "$TC" --port 0 --max-players-per-room 8 --log warn ${extra[@]+"${extra[@]}"} >"$log" 2>&1 & ;;
    tc-delta) ${srv_pin[@]+"${srv_pin[@]}"} "$TC" --port 0 --max-players-per-room 8 --log warn ${extra[@]+"${extra[@]}"} >"$log" 2>&1 & snaps=delta ;;
    tc-packed) ${srv_pin[@]+"${srv_pin[@]}"} "$TC" --port 0 --max-players-per-room 8 --log warn ${extra[@]+"${extra[@]}"} >"$log" 2>&1 & snaps=packed ;;
    alt-full) ${srv_pin[@]+"${srv_pin[@]}"} "$TC_ALT" --port 0 --max-players-per-room 8 --log warn ${extra[@]+"${extra[@]}"} >"$log" 2>&1 & ;;
    alt-delta) ${srv_pin[@]+"${srv_pin[@]}"} "$TC_ALT" --port 0 --max-players-per-room 8 --log warn ${extra[@]+"${extra[@]}"} >"$log" 2>&1 & snaps=delta ;;
    alt-packed) ${srv_pin[@]+"${srv_pin[@]}"} "$TC_ALT" --port 0 --max-players-per-room 8 --log warn ${extra[@]+"${extra[@]}"} >"$log" 2>&1 & snaps=packed ;;
  esac
  local pid=$! port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^tickcast listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  ${bot_pin[@]+"${bot_pin[@]}"} "$BOT" --url "ws://127.0.0.1:$port/ws" --bots "$bots" --duration "${SECS}s" --warmup 3s \
    --snapshots "$snaps" --threads "$THREADS" --server-pid "$pid" "${metrics[@]}" \
    --json "$json" -q || true
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  # tickcast drains on SIGTERM; the reference has no handler (and a background job ignores SIGINT).
  if [ "$base" = ref ]; then kill -TERM "$pid"; else kill -INT "$pid"; fi
  wait "$pid" || true
  python3 - "$json" "$mode" "$bots" "$load" <<'PY'
import json, sys
path, mode, bots, load = sys.argv[1:]
r = json.load(open(path)); r["load1"] = float(load); json.dump(r, open(path, "w"))
print(f"{mode:8} {bots:>5} bots: server {r['server_cpu_cores']:.3f} cores, delivery {r['delivery']:.4f}, "
      f"ack p99 {r['input_ack_ms']['p99']:.1f} ms, bot {r['bot_cpu_cores']:.3f} cores, load {load}")
PY
}

read -ra modes <<<"${MODES:-ref tc-full tc-delta}"
n=${#modes[@]}
for bots in $STEPS; do
  for r in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do run "${modes[$(( (i + r - 1) % n ))]}" "$bots" "$r"; done
  done
done

python3 - "$out" "$STEPS" "${modes[*]}" <<'PY'
import glob, json, statistics, sys
out, steps, modes = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print("| bots | server | server cores | cores / 1k clients | ratio to reference | delivery | ack p99 ms | bot cores | load (1 min) | runs |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---|---:|")
for bots in steps:
    ref = None
    for mode in modes:
        rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{glob.escape(mode)}-{bots}-*.json"))]
        rs = [r for r in rs if r.get("server_cpu_cores") is not None]
        if not rs:
            continue
        med = lambda k: statistics.median(k(r) for r in rs)
        cores = med(lambda r: r["server_cpu_cores"])
        per_k = cores / int(bots) * 1000
        ref = per_k if mode == "ref" else ref
        ratio = f"{per_k / ref:.2f}" if ref else "–"
        loads = [r["load1"] for r in rs]
        base, _, flags = mode.partition("+")
        name = {"ref": "reference (full)", "tc-full": "tickcast full", "tc-delta": "tickcast deltas",
                "tc-packed": "tickcast packed deltas",
                "alt-full": "$TC_ALT full", "alt-delta": "$TC_ALT deltas",
                "alt-packed": "$TC_ALT packed deltas"}[base]
        name += f" `{flags.replace(',', ' ')}`" if flags else ""
        print(f"| {int(bots):,} | {name} | {cores:.3f} | {per_k:.3f} | {ratio} | "
              f"{100 * med(lambda r: r['delivery']):.2f} % | {med(lambda r: r['input_ack_ms']['p99']):.1f} | "
              f"{med(lambda r: r['bot_cpu_cores']):.3f} | {min(loads):.1f}–{max(loads):.1f} | {len(rs)} |")
PY
