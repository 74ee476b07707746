#!/usr/bin/env bash
# Live room migration on this machine (issue 12; BENCHMARKS.md, "Migration"):
#   scripts/bench-migration.sh [SIZES="10 50 100"] [OTHER_ROOMS=10]
# For each size N, on a fresh redis-server (Unix socket) and three nodes on port 0, rooms of 8:
# 1. the victim node starts alone and N×8 bots quick-play on it: exactly N full rooms there
#    (one node's registry counts its seats exactly, so the victim holds exactly N rooms);
# 2. two more nodes start and OTHER_ROOMS named rooms of 8 bots open on them, alternately (named
#    rooms, so the untouched nodes hold a known set of full rooms);
# 3. POST /admin/drain on the victim (loopback bind: no token needed) while a sampler polls the
#    cluster's /rooms and the room images in Redis every 50 ms;
# 4. once its rooms are gone (drain_timeout + 10 s at most), both bot runs stop (SIGINT: they
#    write their reports) and the victim gets SIGTERM (it must exit 0).
# Prints per size: time to move all rooms, players lost, freeze ms / ticks stalled (server
# histograms: bucket bounds, "≤") and the client gap (bot reports: exact p50/p99/max), Redis bytes
# per migrated room, delivery of the untouched nodes' bots over a window around the drain, and a
# markdown row for BENCHMARKS.md. Localhost only; bounded (every wait has a deadline); every
# process stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-"10 50 100"} OTHER_ROOMS=${2:-10}
RAMP=${RAMP:-50} DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-20}
base=$PWD/target/bench-migration/run-$$; mkdir -p "$base"
out=$base
. scripts/bench-cluster-lib.sh

# rooms PORT: the cluster's /rooms as seen by node PORT.
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
# stop_pid PID SIGNAL SECONDS: signal PID and wait for it, at most SECONDS, then KILL; sets
# STOP_RC to its exit status.
stop_pid() {
  kill -"$2" "$1" 2>/dev/null || true
  local end=$((SECONDS + $3))
  while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  STOP_RC=0; wait "$1" 2>/dev/null || STOP_RC=$?
}
# migrated PORT: node PORT's tickcast_migrated_players_total, all outcomes (0 if unreadable).
migrated() {
  (curl -sf "http://127.0.0.1:$1/metrics" || true) |
    awk '/^tickcast_migrated_players_total/ {s += $2} END {printf "%d\n", s}'
}

rows=()
for N in $SIZES; do
  out=$base/n$N; mkdir -p "$out"
  echo "== drain a node holding $N rooms (×8 bots), $OTHER_ROOMS rooms playing on the two others"
  start_redis; redis_pid=${pids[-1]}
  flags=(--redis-url "$REDIS_URL" --max-players-per-room 8 --drain-timeout "$DRAIN_TIMEOUT")
  start_node "$out/victim.log" "${flags[@]}" --node-id victim
  victim=$NODE_PID vport=$NODE_PORT
  "$BOT" --url "ws://127.0.0.1:$vport/ws" --bots $((N * 8)) --ramp "$RAMP" \
    --duration 900s --name-prefix m- --metrics-url none --json "$out/moved.json" -q &
  moved_bots=$!; pids+=($moved_bots)
  wait_for "$vport" "sum(r['players'] for r in rooms if r['node'] == 'victim') >= $((N * 8))" \
    $((N * 8 / RAMP + 30))
  start_node "$out/other-1.log" "${flags[@]}" --node-id other-1; o1=$NODE_PID p1=$NODE_PORT
  start_node "$out/other-2.log" "${flags[@]}" --node-id other-2; o2=$NODE_PID p2=$NODE_PORT
  # One named room of 8 per bot process, opened on the two nodes in turn: placement by the
  # directory lags its heartbeats, and concurrent quick plays or matchmaking get sent to rooms
  # that just filled up (4001).
  other_bots=()
  for i in $(seq "$OTHER_ROOMS"); do
    port=$([ $((i % 2)) = 1 ] && echo "$p1" || echo "$p2")
    "$BOT" --url "ws://127.0.0.1:$port/ws" --room "other-$i" --bots 8 --duration 900s \
      --warmup 2s --name-prefix "o$i-" --metrics-url none --json "$out/others-$i.json" -q &
    other_bots+=($!); pids+=($!)
  done
  wait_for "$p1" "sum(r['players'] for r in rooms if r['node'] != 'victim') >= $((OTHER_ROOMS * 8 * 9 / 10))" \
    $((OTHER_ROOMS * 8 / RAMP + 30))
  rooms "$p1" >"$out/before.json"
  # The other bots' steady window starts 2 s after their ramp: drain 3 s into it.
  sleep 5
  python3 - "$out" "$vport" "$p1" "$DRAIN_TIMEOUT" <<'PY' || true
import json, socket, sys, time, urllib.error, urllib.request
out, vport, p1, drain_timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
sock = f"{out}/redis.sock"

class Redis:
    """Just enough RESP over the Unix socket for SCAN, STRLEN, MEMORY USAGE and INFO."""
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX); self.s.connect(path); self.f = self.s.makefile("rb")
    def cmd(self, *args):
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.s.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self.read()
    def read(self):
        line = self.f.readline()[:-2]; kind, rest = line[:1], line[1:]
        if kind == b"+": return rest.decode()
        if kind == b"-": raise RuntimeError(rest.decode())
        if kind == b":": return int(rest)
        if kind == b"$":
            n = int(rest); return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest); return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"unexpected RESP line {line!r}")
    def keys(self, pattern):
        cursor, found = b"0", []
        while True:
            cursor, batch = self.cmd("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            found += batch
            if cursor == b"0": return found
    def stat(self, name):
        for line in self.cmd("INFO", "stats").decode().splitlines():
            if line.startswith(name + ":"): return int(line.split(":")[1])

def get(url, body=None):
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=2) as r:
        return r.status, r.read()

def metric(port, name):
    """The sum of a metric's samples (all label sets) in node PORT's /metrics; None if absent."""
    try: text = get(f"http://127.0.0.1:{port}/metrics")[1].decode()
    except OSError: return None
    vals = [float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
            if l.startswith(name) and l[len(name):len(name) + 1] in (" ", "{")]
    return sum(vals) if vals else None

r = Redis(sock)
net0 = r.stat("total_net_input_bytes")
images, two_nodes, polls, moved_at, listed = {}, 0, 0, None, None
t0 = time.monotonic()
try: status, body = get(f"http://127.0.0.1:{vport}/admin/drain", b"")
except urllib.error.HTTPError as e: status, body = e.code, e.read()
deadline = t0 + drain_timeout + 10
while time.monotonic() < deadline:
    polls += 1
    for key in r.keys("tc:*:image"):
        size = r.cmd("STRLEN", key)
        mem = r.cmd("MEMORY", "USAGE", key) or 0
        prev = images.get(key, (0, 0))
        images[key] = (max(prev[0], size), max(prev[1], mem))
    try: listed = json.loads(get(f"http://127.0.0.1:{p1}/rooms")[1])
    except OSError: listed = None
    if listed is not None:
        nodes = {}
        for room in listed: nodes.setdefault(room["id"], set()).add(room["node"])
        two_nodes += any(len(n) > 1 for n in nodes.values())
        drained = metric(vport, "tickcast_drain_seconds_count")
        if not any(room["node"] == "victim" for room in listed) and drained:
            moved_at = time.monotonic() - t0
            break
    time.sleep(0.05)
net1 = r.stat("total_net_input_bytes")
json.dump({"admin_status": status, "admin_body": body.decode(errors="replace"),
           "moved_s_by_listing": moved_at, "polls": polls, "two_node_samples": two_nodes,
           "images": {k.decode(): v for k, v in images.items()},
           "redis_net_input_bytes": net1 - net0, "sampled_s": time.monotonic() - t0},
          open(f"{out}/drain.json", "w"))
PY
  # Resumes on the targets: every moved player back, or its seat's grace over (deadline 20 s).
  for _ in $(seq 100); do
    [ $(($(migrated "$p1") + $(migrated "$p2"))) -ge $((N * 8)) ] && break
    sleep 0.2
  done
  for p in "$vport" "$p1" "$p2"; do curl -sf "http://127.0.0.1:$p/metrics" >"$out/metrics-$p.txt" || true; done
  sleep 2 # the other bots' window goes on a little past the drain
  stop_pid "$moved_bots" INT 20
  for pid in "${other_bots[@]}"; do stop_pid "$pid" INT 20; done
  stop_pid "$victim" TERM $((DRAIN_TIMEOUT + 10)); victim_rc=$STOP_RC
  stop_pid "$o1" INT 10; stop_pid "$o2" INT 10
  stop_pid "$redis_pid" TERM 5
  row=$(python3 - "$out" "$N" "$vport" "$victim_rc" "$DRAIN_TIMEOUT" <<'PY'
import glob, json, sys
out, n, vport, victim_rc, drain_timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
drain = json.load(open(f"{out}/drain.json")) if glob.glob(f"{out}/drain.json") else {}
moved = json.load(open(f"{out}/moved.json"))
others = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/others-*.json"))]
received = sum(o["snapshots_received"] for o in others)
expected = sum(o["snapshots_expected"] for o in others)
other_delivery = received / expected if expected else 0.0
before = json.load(open(f"{out}/before.json"))

def parse(path):
    m = {}
    for line in open(path):
        if line.startswith("#") or not line.strip(): continue
        name, value = line.rsplit(" ", 1)
        m[name] = m.get(name, 0.0) + float(value)
    return m
nodes = {p: parse(p) for p in glob.glob(f"{out}/metrics-*.txt")}
victim = parse(f"{out}/metrics-{vport}.txt") if glob.glob(f"{out}/metrics-{vport}.txt") else {}
def total(prefix):
    return sum(v for m in nodes.values() for k, v in m.items() if k.startswith(prefix))
def histogram(name, scale=1.0):
    """(p50, p99, max) as bucket upper bounds ("≤ x"), the mean and the count, from the
    victim's cumulative buckets; None without samples."""
    buckets = sorted((float(k.split('le="')[1].split('"')[0]), v) for k, v in victim.items()
                     if k.startswith(name + "_bucket"))
    count = victim.get(name + "_count", 0)
    if not count: return None
    def q(x):
        for le, c in buckets:
            if c >= x * count: return "≤ " + ("+Inf" if le == float("inf") else f"{le * scale:g}")
    return q(0.5), q(0.99), q(1.0), victim.get(name + "_sum", 0) / count * scale, count
def quantiles(h):
    return "n/a" if h is None else " / ".join(h[:3])
def described(h):
    return "n/a" if h is None else f"p50 {h[0]}  p99 {h[1]}  max {h[2]} (mean {h[3]:.1f}, n={h[4]:.0f})"
freeze = histogram("tickcast_migration_freeze_seconds", 1000.0)
stalled = histogram("tickcast_migration_ticks_stalled")

on_victim = [r for r in before if r["node"] == "victim"]
adopted = total('tickcast_migrations_total{result="adopted"')
aborted = total('tickcast_migrations_total{result="aborted"')
failed = total('tickcast_migrations_total{result="failed"')
resumed = total('tickcast_migrated_players_total{outcome="resumed"')
expired = total('tickcast_migrated_players_total{outcome="grace_expired"')
drain_s = victim.get("tickcast_drain_seconds_sum")
images = drain.get("images", {})
img = [v[0] for v in images.values()]
mem = [v[1] for v in images.values()]
gap_t, gap_ms = moved["migration_gap_ticks"], moved["migration_gap_ms"]
# A moved bot was lost unless it ended the run as its own player: it did not end with its own
# 1000 (its room closed with 1001 at the drain's deadline, a resume failed and it gave up), or
# it joined again as a new player, or a resume brought back another player.
lost_bots = (moved["connected"] - moved["closes"].get("1000", 0) + moved["rejoins"]
             + moved["player_id_changes"])
print(f"before: {len(on_victim)} rooms / {sum(r['players'] for r in on_victim)} players on the victim, "
      f"{len(before) - len(on_victim)} rooms on the others; admin drain answered {drain.get('admin_status')}", file=sys.stderr)
print(f"time to move all rooms: {drain_s if drain_s is None else round(drain_s, 3)} s (tickcast_drain_seconds), "
      f"{round(drain['moved_s_by_listing'], 2) if drain.get('moved_s_by_listing') else 'n/a'} s until /rooms listed none on the victim "
      f"({drain.get('polls')} polls, {drain.get('two_node_samples')} with a room on two nodes)", file=sys.stderr)
print(f"migrations: {adopted:.0f} adopted, {aborted:.0f} aborted, {failed:.0f} failed; victim exit {victim_rc}", file=sys.stderr)
print(f"players: {moved['connected']} bots on the victim, {lost_bots} lost; {moved['migrations']} hand-overs followed "
      f"({moved.get('migrations_unannounced', 'n/a')} unannounced: a reset beat the redirect, the resume found the seat), "
      f"{moved['migrations_failed']} failed, {moved['rejoins']} rejoins, {moved['player_id_changes']} player id changes; "
      f"errors {moved['error_kinds']}; server: {resumed:.0f} resumed, {expired:.0f} grace expired", file=sys.stderr)
print(f"freeze ms: {described(freeze)}", file=sys.stderr)
print(f"ticks stalled: {described(stalled)}", file=sys.stderr)
print(f"client gap: p50 {gap_t['p50']}  p99 {gap_t['p99']}  max {gap_t['max']} ticks; "
      f"p50 {gap_ms['p50']:.1f}  p99 {gap_ms['p99']:.1f}  max {gap_ms['max']:.1f} ms (n={gap_t['count']})", file=sys.stderr)
per_room = (sum(img) / len(img)) if img else None
print(f"redis: {len(img)} room images seen, {per_room and round(per_room)} B each on average "
      f"(max {max(img) if img else 'n/a'} B, MEMORY USAGE mean {round(sum(mem) / len(mem)) if mem else 'n/a'} B); "
      f"{drain.get('redis_net_input_bytes')} B into Redis during the drain "
      f"(≈ {round(drain['redis_net_input_bytes'] / max(1, len(on_victim)))} B per room, heartbeats and this sampler's reads included)"
      if drain else "redis: n/a", file=sys.stderr)
print(f"untouched nodes: delivery {other_delivery:.4f} ({received} of {expected} snapshots; worst bot "
      f"{min(o['delivery_worst_bot'] for o in others):.4f}) over {min(o['window_s'] for o in others):.1f} s "
      f"around the drain, {sum(o['connected'] for o in others)} bots, {sum(o['migrations'] for o in others)} of them moved",
      file=sys.stderr)
print(f"| {n} | {'n/a' if drain_s is None else f'{drain_s * 1000:.0f} ms'} | {lost_bots} | "
      f"{quantiles(freeze)} | {quantiles(stalled)} | "
      f"{gap_t['p50']} / {gap_t['p99']} / {gap_t['max']} ({gap_ms['p50']:.0f} / {gap_ms['p99']:.0f} / {gap_ms['max']:.0f} ms) | "
      f"{per_room and round(per_room)} B | {other_delivery * 100:.2f} % |")
PY
  ) || row="| $N | (summary failed: see $out) |"
  rows+=("$row")
done
echo
echo "| rooms drained | time to move all | players lost | freeze ms p50 / p99 / max | ticks stalled p50 / p99 / max | client gap ticks p50 / p99 / max (ms) | Redis bytes per room (image) | delivery, untouched nodes |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "logs, metrics and reports in $base"
