#!/usr/bin/env bash
# Runs a three-node tickcast cluster on this machine: one redis-server (Unix socket, no
# persistence, in a temporary directory) and three nodes on 127.0.0.1:8081-8083 (override the
# first port with TICKCAST_PORT). Serves the web client when it is built (scripts/demo.sh builds
# it). CLUSTER_PROFILE=dev uses a debug build. Bounded: everything stops on Ctrl-C, when a node exits, or after CLUSTER_SECONDS
# (default 600); nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v redis-server >/dev/null || {
  echo "redis-server is needed (Debian/Ubuntu: apt-get install redis-server)" >&2
  exit 1
}
base=${TICKCAST_PORT:-8081}
seconds=${CLUSTER_SECONDS:-600}
dir=$(mktemp -d -t tickcast-cluster.XXXXXX)
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

profile=${CLUSTER_PROFILE:-release}
cargo build --profile "$profile" --quiet -p tickcast-server --bin tickcast-server
bin=target/$([ "$profile" = dev ] && echo debug || echo "$profile")/tickcast-server
redis-server --port 0 --unixsocket "$dir/redis.sock" --save '' --appendonly no --dir "$dir" \
  >"$dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/redis.sock" ] && break; sleep 0.05; done
[ -S "$dir/redis.sock" ] || { echo "redis-server did not start:" >&2; cat "$dir/redis.log" >&2; exit 1; }

for i in 0 1 2; do
  port=$((base + i))
  "$bin" --bind 127.0.0.1 --port "$port" \
    --redis-url "redis+unix://$dir/redis.sock" --node-id "node-$i" \
    --static-dir web-client/dist "$@" &
  pids+=($!)
  echo "node-$i: http://127.0.0.1:$port/  (lobby: http://127.0.0.1:$port/rooms)"
done
echo "cluster up for ${seconds}s; Ctrl-C stops it. Try: curl -X POST http://127.0.0.1:$base/matchmake"
# Ends when any process exits or the time is up (the EXIT trap stops the rest).
end=$((SECONDS + seconds))
while [ "$SECONDS" -lt "$end" ]; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited; stopping the cluster" >&2; exit 1; }
  done
  sleep 1
done
