#!/usr/bin/env bash
# Where a client's heap goes (issue 15): the server's live heap per client by owner.
#   LOW=200 HIGH=400 MODE=full scripts/bench-memory-heap.sh
# Runs the `--profile profiling` server (release code with symbols) under heaptrack twice,
# with LOW and then HIGH bots (rooms of 8, 30 Hz, the release bot with --threads 1, MODE =
# full|delta). The server is stopped after 15 s, while its clients are still connected, so
# heaptrack's peak is the steady state. The script demangles the peak stacks and groups each
# allocation under the first frame that names an owner (actix-http's dispatcher, the tokio
# task, the session, the room, …). It prints (HIGH − LOW) / (HIGH − LOW bots) per owner: fixed
# costs cancel, what is left is per client. Needs heaptrack and c++filt; localhost only.
# Slow (heaptrack records every allocation), bounded (~25 s per run plus heaptrack_print).
set -euo pipefail
cd "$(dirname "$0")/.."
LOW=${LOW:-200} HIGH=${HIGH:-400} MODE=${MODE:-full}
SERVER=target/profiling/tickcast-server BOT=target/release/tickcast-bot
[ -n "${SKIP_BUILD:-}" ] || {
  cargo build -q --profile profiling -p tickcast-server
  cargo build -q --release -p tickcast-bot
}
ulimit -n "$(ulimit -Hn)"
out=${OUT:-target/bench-memory-heap/run-$$}; mkdir -p "$out"
echo "results in $out"

record() { # bots -> $out/stacks-<bots>.txt (demangled "frame;frame;… bytes" lines)
  local bots=$1 log="$out/server-$1.log" hpid pid="" port=""
  : >"$log"
  heaptrack -o "$out/heap-$bots" "$SERVER" --port 0 --max-players-per-room 8 --log warn >"$log" 2>&1 &
  hpid=$!
  for _ in $(seq 300); do
    port=$(sed -n 's/^tickcast listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  for p in $(pgrep -P "$hpid" || true); do
    [[ "$(readlink "/proc/$p/exe")" == */tickcast-server ]] && pid=$p
  done
  [ -n "$port" ] && [ -n "$pid" ] || { echo "server did not start; see $log" >&2; kill "$hpid"; exit 1; }
  "$BOT" --url "ws://127.0.0.1:$port/ws" --bots "$bots" --duration 25s --warmup 3s \
    --snapshots "$MODE" --threads 1 --metrics-url none --json "$out/bot-$bots.json" -q &
  local bot=$!
  sleep 15
  echo "$bots bots: server VmRSS $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") KiB" >&2
  kill -INT "$pid"
  wait "$bot" || true
  wait "$hpid" || true
  heaptrack_print -f "$out/heap-$bots.zst" --flamegraph-cost-type peak -F "$out/raw-$bots.txt" >/dev/null 2>&1
  c++filt <"$out/raw-$bots.txt" | sed -E 's/\[[0-9a-f]{16}\]//g' >"$out/stacks-$bots.txt"
}

record "$LOW"
record "$HIGH"

python3 - "$out/stacks-$LOW.txt" "$out/stacks-$HIGH.txt" "$LOW" "$HIGH" <<'PY'
import collections, re, sys
# First match from the leaf upward wins, so the more specific owners come first.
OWNERS = [
    ("actix-http h1 read + write buffers (Dispatcher::new)", r"h1::dispatcher::Dispatcher.*::new|dispatcher\.\.Dispatcher.*::new"),
    ("actix-http h1 read buffer growth (read_available)", r"read_available"),
    ("actix-http h1 write buffer growth", r"InnerDispatcher.*(poll_response|send_response|poll_flush)"),
    ("actix-http upgrade payload channel", r"h1::payload|h1\.\.payload"),
    ("actix-http request head", r"RequestHead|HeaderMap|MessagePool"),
    ("actix-http graceful-shutdown signal", r"GracefulShutdown"),
    ("on_connect extensions (conn.rs)", r"Extensions::insert|OnConnectData"),
    ("tokio I/O registration", r"RegistrationSet|registration"),
    ("WebSocket decode buffer (WsStream)", r"WsStream"),
    ("frame guard", r"frame_guard"),
    ("seat", r"Seat\$LT\$.*::new|seat::Seat|Members.*join"),
    ("room's share (room, snapshots, history, arena)", r"tickcast_server(::|\.\.)room|snapshots|History|arena|player_joined"),
    ("session actor (context, timers, mailbox, join)", r"tickcast_server(::|\.\.)session|ContextFut.*merge|ContextParts.*spawn|AsyncContext|address(::|\.\.)channel|AddressSender|Mailbox"),
    ("boxed response body (WebsocketContextFut)", r"map_body|BoxBody|WsResponseBuilder|with_codec"),
    ("registry", r"registry"),
    ("tokio task cell (the connection's future)", r"spawn_local|task::local|new_task|RawTask"),
]

def owner(frames):
    for f in reversed(frames):
        for name, rx in OWNERS:
            if re.search(rx, f):
                return name
    return "other"

def load(path):
    by = collections.Counter()
    for line in open(path):
        stack, _, cost = line.rstrip().rpartition(" ")
        if cost.isdigit() and int(cost):
            by[owner([re.sub(r" \([^)]*\)$", "", f) for f in stack.split(";") if f])] += int(cost)
    return by

low, high, nl, nh = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per = {k: (high[k] - low[k]) / (nh - nl) for k in set(low) | set(high)}
print(f"| owner | bytes per client ({nl} → {nh} bots) |")
print("|---|---:|")
for k, v in sorted(per.items(), key=lambda kv: -kv[1]):
    if abs(v) >= 8:
        print(f"| {k} | {v:,.0f} |")
print(f"| **live heap per client** | **{sum(per.values()):,.0f}** ({sum(per.values()) / 1024:.2f} KiB) |")
PY
