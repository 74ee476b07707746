# Shared by scripts/bench-cluster-ab.sh, bench-cluster.sh and bench-migration.sh (source it; not
# a command; SKIP_BUILD=1 uses the release binaries as they are):
# a redis-server on a Unix socket and tickcast nodes on port 0, every process recorded in
# $pids and stopped by the EXIT trap, everything under $out. Localhost only.
BIN=target/release/tickcast-server BOT=target/release/tickcast-bot
# Always built (a no-op when fresh): stale release binaries would measure old code.
[ "${SKIP_BUILD:-}" = 1 ] || cargo build -q --release -p tickcast-server -p tickcast-bot
command -v redis-server >/dev/null || { echo "redis-server is needed" >&2; exit 1; }
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# start_redis: a fresh redis-server at $out/redis.sock; sets REDIS_URL.
start_redis() {
  rm -f "$out/redis.sock"
  redis-server --port 0 --unixsocket "$out/redis.sock" --save '' --appendonly no --dir "$out" \
    >"$out/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$out/redis.sock" ] && break; sleep 0.05; done
  [ -S "$out/redis.sock" ] || { echo "redis-server did not start" >&2; cat "$out/redis.log" >&2; exit 1; }
  REDIS_URL="redis+unix://$out/redis.sock"
}

# redis_commands: total_commands_processed so far.
redis_commands() {
  redis-cli -s "$out/redis.sock" INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p'
}

# start_node LOG [server flags…]: a node on port 0; sets NODE_PID and NODE_PORT (waits up to 15 s
# for its listening line: a cluster node first reaches Redis).
start_node() {
  local log=$1; shift
  "$BIN" --bind 127.0.0.1 --port 0 --log warn "$@" >"$log" 2>&1 &
  NODE_PID=$!
  pids+=($NODE_PID)
  NODE_PORT=""
  for _ in $(seq 150); do
    NODE_PORT=$(sed -n 's/^tickcast listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "$NODE_PORT" ] && return 0
    sleep 0.1
  done
  echo "node did not start:" >&2; cat "$log" >&2; exit 1
}

# cpu_ticks PID: user+system clock ticks of PID so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
