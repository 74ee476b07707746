#!/usr/bin/env bash
# Proves the shipped monitoring against a real Prometheus (Debian's `prometheus` 2.42 package,
# installed with apt-get when missing), on 127.0.0.1 only, bounded in time:
#
#  1. `promtool check rules` and `promtool check config` pass on assets/prometheus/.
#  2. Two tickcast nodes (port 0) form a cluster on a redis-server this script starts (a Unix
#     socket in the output dir, no persistence; Debian's `redis-server`, installed when missing),
#     so the cluster metrics exist too. Node A runs a short bot load (delta and full snapshots,
#     quick play spreading rooms over both nodes) plus a few upgrades refused for their Origin;
#     a bot joining A's named room through node B is redirected. Prometheus (a free port, a
#     temporary storage dir) scrapes both nodes every second and evaluates the rules every second.
#     Both nodes write checkpoints (--checkpoint-interval 1). After the load, node A is drained
#     (POST /admin/drain) while a bot plays in a named room there: the room migrates to B and
#     the bot resumes there; a bot joining through the draining A is redirected to B. So the
#     migration series (results, freeze, ticks stalled, players resumed, drain duration,
#     redirects for draining) exist too.
#  3. Every PromQL expression in the dashboard (panel targets and the `instance` variable's query,
#     with `$instance` = both nodes) and in the rules (as Prometheus loaded them, /api/v1/rules) is
#     evaluated through
#     /api/v1/query and must return series. A rule's expression is checked operand by operand
#     around its threshold comparison (`A > 20`: A must return series; the whole expression must
#     parse). A renamed metric therefore fails the test; a built-in self-check renames one and
#     requires that it returns nothing.
#  4. A hostile-client burst on node B (raw-socket WebSocket clients sending a frame that is not MessagePack,
#     each closed with a protocol error) must make TickcastProtocolClosesBurst fire, as seen in
#     /api/v1/alerts, and it must not have fired before the burst.
#
# The rules Prometheus loads are the shipped ones with every `for:` shortened to 1s (a test-only
# copy): the expressions and thresholds are exactly the shipped ones, only the hold time would make
# the test wait minutes.
#
#   scripts/monitoring-test.sh
#   DASHBOARD=/tmp/renamed.json scripts/monitoring-test.sh   # check another dashboard (or ALERTS=)
#   PROFILE=release SKIP_BUILD=1 scripts/monitoring-test.sh
#   PICTURE=assets/monitoring.png BOTS=60 LOAD_SECONDS=40 scripts/monitoring-test.sh  # + the README's PNG
#
# Logs and the generated config stay in target/monitoring-test/. Exit code 0 = all proven.
set -euo pipefail
cd "$(dirname "$0")/.."

DASHBOARD=${DASHBOARD:-assets/grafana/tickcast.json}
ALERTS=${ALERTS:-assets/prometheus/alerts.yml}
PROFILE=${PROFILE:-debug}
BOTS=${BOTS:-20}
LOAD_SECONDS=${LOAD_SECONDS:-8}
BURST=${BURST:-60}
OUT=target/monitoring-test

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'monitoring-test: FAIL: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  step "installing Debian's prometheus (with promtool)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  # The package enables a system service on :9090; this test starts its own Prometheus.
  as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  as_root service prometheus stop >/dev/null 2>&1 || true
fi

if ! command -v redis-server >/dev/null; then
  step "installing Debian's redis-server"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
  as_root service redis-server stop >/dev/null 2>&1 || true
fi

step "promtool check rules / config"
promtool check rules "$ALERTS"
promtool check config assets/prometheus/prometheus.yml

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  step "building the server and the bot ($PROFILE)"
  if [[ "$PROFILE" == release ]]; then
    cargo build -q --release -p tickcast-server -p tickcast-bot
  else
    cargo build -q -p tickcast-server -p tickcast-bot
  fi
fi
SERVER=target/$PROFILE/tickcast-server
BOT=target/$PROFILE/tickcast-bot
[[ -x "$SERVER" && -x "$BOT" ]] || fail "no $SERVER or $BOT (build them, or unset SKIP_BUILD)"

rm -rf "$OUT"
mkdir -p "$OUT"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT/data"
}
trap cleanup EXIT

step "starting redis-server, two tickcast nodes and Prometheus on 127.0.0.1"
REDIS_SOCK="$PWD/$OUT/redis.sock"
redis-server --port 0 --unixsocket "$REDIS_SOCK" --save '' --appendonly no --dir "$OUT" \
  >"$OUT/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  [[ -S "$REDIS_SOCK" ]] && break
  sleep 0.1
done
[[ -S "$REDIS_SOCK" ]] || fail "redis-server did not start; see $OUT/redis.log"

# Starts node `$1` in the cluster and prints its host:port once it listens.
start_node() {
  "$SERVER" --port 0 --allowed-origins http://127.0.0.1 --static-dir /nonexistent --log warn \
    --redis-url "redis+unix://$REDIS_SOCK" --node-id "$1" --checkpoint-interval 1 \
    >"$OUT/server-$1.out" 2>"$OUT/server-$1.err" &
  pids+=($!)
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's#^tickcast listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$OUT/server-$1.out" | head -n1)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || fail "node $1 did not start; see $OUT/server-$1.err"
  NODE_ADDR="127.0.0.1:$port"
}
start_node mon-a
INSTANCE=$NODE_ADDR
start_node mon-b
INSTANCE_B=$NODE_ADDR

prom_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PROM="http://127.0.0.1:$prom_port"
sed -E 's/^( *)for: .*/\1for: 1s/' "$ALERTS" >"$OUT/alerts.test.yml"
cat >"$OUT/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - alerts.test.yml
scrape_configs:
  - job_name: tickcast
    static_configs:
      - targets: ["$INSTANCE", "$INSTANCE_B"]
EOF
promtool check config "$OUT/prometheus.yml" >/dev/null
prometheus --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$OUT/prometheus.log" 2>&1 &
pids+=($!)
echo "tickcast nodes on $INSTANCE and $INSTANCE_B, Prometheus on $PROM"

# Polls PromQL `$1` until it returns a sample whose value is > 0, for at most `$2` seconds.
wait_query() {
  python3 - "$PROM" "$1" "$2" <<'PY'
import json, sys, time, urllib.parse, urllib.request
prom, query, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(url, timeout=2) as r:
            res = json.load(r)["data"]["result"]
        if any(float(s["value"][1]) > 0 for s in res):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.25)
sys.exit(f"no positive sample of {query} within {limit:g} s")
PY
}
wait_query "up{job=\"tickcast\"}" 30 || fail "Prometheus did not scrape the server; see $OUT/prometheus.log"
wait_query "tickcast_cluster_nodes{instance=\"$INSTANCE\"} >= 2" 30 || fail "the two nodes did not see each other"

step "load: $BOTS bots for ${LOAD_SECONDS}s, and upgrades refused for their Origin"
load_start=$(( $(date +%s) - 2 ))
full=$(( BOTS / 5 ))
# `timeout`: the bots stop on their own after --duration; this bounds a hung one.
timeout $(( LOAD_SECONDS + 60 )) "$BOT" --url "ws://$INSTANCE/ws" --bots $(( BOTS - full )) \
  --duration "${LOAD_SECONDS}s" --ramp 20 --metrics-url none -q --json "$OUT/bots-delta.json" \
  >"$OUT/bots-delta.log" 2>&1 &
delta_bots=$!
pids+=($delta_bots)
timeout $(( LOAD_SECONDS + 60 )) "$BOT" --url "ws://$INSTANCE/ws" --bots "$full" \
  --duration "${LOAD_SECONDS}s" --ramp 20 --snapshots full --name-prefix full- --metrics-url none \
  -q --json "$OUT/bots-full.json" >"$OUT/bots-full.log" 2>&1 &
full_bots=$!
pids+=($full_bots)
# One bot in a named room through A, then one through B into that room: B redirects it to A.
timeout $(( LOAD_SECONDS + 60 )) "$BOT" --url "ws://$INSTANCE/ws" --bots 1 --room monitored \
  --duration "${LOAD_SECONDS}s" --name-prefix owner- --metrics-url none -q \
  >"$OUT/bots-owner.log" 2>&1 &
owner_bot=$!
pids+=($owner_bot)
wait_query "sum(tickcast_players{instance=\"$INSTANCE\"})" 20 || fail "no player on node A"
timeout $(( LOAD_SECONDS + 60 )) "$BOT" --url "ws://$INSTANCE_B/ws" --bots 1 --room monitored \
  --duration 2s --name-prefix redirected- --metrics-url none -q \
  >"$OUT/bots-redirected.log" 2>&1 || fail "the bot through node B failed; see $OUT/bots-redirected.log"
for _ in 1 2 3; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    -H 'Origin: http://evil.example' "http://$INSTANCE/ws")
  [[ "$code" == 403 ]] || fail "an upgrade from a foreign Origin got HTTP $code, not 403"
  sleep 1
done
wait "$delta_bots" || fail "the delta bots failed; see $OUT/bots-delta.log"
wait "$full_bots" || fail "the full-snapshot bots failed; see $OUT/bots-full.log"
wait "$owner_bot" || fail "the named-room bot failed; see $OUT/bots-owner.log"

step "drain node A while a bot plays there: its room migrates to B"
timeout 60 "$BOT" --url "ws://$INSTANCE/ws" --bots 1 --room migrated --duration 30s \
  --name-prefix migrated- --metrics-url none -q >"$OUT/bots-migrated.log" 2>&1 &
pids+=($!)
wait_query "sum(tickcast_players{instance=\"$INSTANCE\"})" 20 || fail "the bot did not join node A"
wait_query "tickcast_checkpoint_bytes_total{instance=\"$INSTANCE\"}" 20 || fail "node A wrote no checkpoint"
drained=$(curl -s --max-time 30 -X POST "http://$INSTANCE/admin/drain?wait=true") \
  || fail "POST /admin/drain on node A failed"
echo "drain of node A: $drained"
[[ "$drained" =~ \"moved\":[1-9] ]] || fail "the drain moved no room: $drained"
# A join through the draining node is sent to B (redirect reason "draining").
timeout 60 "$BOT" --url "ws://$INSTANCE/ws" --bots 1 --duration 2s --name-prefix late- \
  --metrics-url none -q >"$OUT/bots-late.log" 2>&1 || fail "the bot through the draining node failed; see $OUT/bots-late.log"
wait_query "tickcast_migrated_players_total{instance=\"$INSTANCE_B\", outcome=\"resumed\"}" 20 \
  || fail "the migrated bot did not resume on node B; see $OUT/bots-migrated.log"
wait_query "tickcast_redirects_total{instance=\"$INSTANCE\", reason=\"draining\"}" 10 \
  || fail "no join was redirected away from the draining node"
# Two more scrapes after the load, so every counter's last increase is in Prometheus.
sleep 2.5

step "every PromQL expression in $DASHBOARD and $ALERTS returns series"
python3 - "$PROM" "$DASHBOARD" "$INSTANCE|$INSTANCE_B" <<'PY'
import json, re, sys, urllib.error, urllib.parse, urllib.request

prom, dashboard_path, instance = sys.argv[1:]


def query(expr):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:  # 400 = a bad expression
        body = json.load(e)
    if body.get("status") != "success":
        raise ValueError(body.get("error", body))
    return body["data"]["result"]


# Grafana's variables as a dashboard with one instance selected would expand them.
GRAFANA_VARS = {
    "__rate_interval": "30s",
    "__interval": "15s",
    "__range": "5m",
    # A regex inside a PromQL string (both nodes selected); the addresses' dots match themselves.
    "instance": instance,
}


def expand(expr):
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in GRAFANA_VARS:
            raise ValueError(f"unknown dashboard variable ${name} in {expr}")
        return GRAFANA_VARS[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, expr)


COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")


def operands(expr):
    """Splits `expr` at its top-level comparison and set operators (outside (), {}, [] and
    strings): `rate(x[5m]) > 0.5` gives `rate(x[5m])` and `0.5`."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            op = next((o for o in COMPARISONS if expr.startswith(o, i)), None)
            at_word_start = i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] == "_")
            word = re.match(r"(and|or|unless)\b", expr[i:]) if at_word_start else None
            if op or word:
                parts.append(expr[start:i])
                i += len(op) if op else len(word.group(1))
                rest = re.match(r"\s*bool\b", expr[i:])
                if rest:
                    i += rest.end()
                start = i
                continue
        i += 1
    parts.append(expr[start:])
    # A right-hand operand may start with the operator's vector matching: `> on(instance) x`.
    matching = r"^\s*(?:(?:on|ignoring)\s*\([^)]*\))?\s*(?:(?:group_left|group_right)\s*(?:\([^)]*\))?)?"
    return [re.sub(matching, "", p).strip() for p in parts if p.strip()]


def is_scalar(operand):
    return re.fullmatch(r"[\d\s.eE+\-*/^()]+", operand) is not None


def dashboard_exprs(path):
    dash = json.load(open(path))
    found = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    found.append((f"panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", q or "")
        if m:  # the variable's values come from this selector's series
            found.append((f"variable ${v['name']}", m.group(1)))
        elif q:
            found.append((f"variable ${v['name']}", q))
    return found


def rule_exprs():
    with urllib.request.urlopen(prom + "/api/v1/rules", timeout=5) as r:
        groups = json.load(r)["data"]["groups"]
    return [(f"rule {rule['name']}", rule["query"]) for g in groups for rule in g["rules"]]


exprs = dashboard_exprs(dashboard_path)
n_dashboard = len(exprs)
exprs += rule_exprs()
if n_dashboard == 0 or len(exprs) == n_dashboard:
    sys.exit("found no expressions in the dashboard or no rules loaded in Prometheus")

failures = []
for where, raw in exprs:
    expr = expand(raw)
    try:
        query(expr)  # the whole expression must be valid PromQL
        for operand in operands(expr):
            if is_scalar(operand):
                continue
            series = query(operand)
            if not series:
                failures.append(f"{where}: no series for {operand}")
            else:
                print(f"ok  {where}: {len(series)} series for {operand}")
    except ValueError as e:
        failures.append(f"{where}: {e} in {expr}")

# Self-check: the same evaluation must see a renamed metric as missing.
renamed = re.sub(r"\btickcast_connections\b", "tickcast_connections_renamed", expand(exprs[0][1]), count=1)
try:
    renamed_series = query(renamed)
except ValueError as e:
    renamed_series = [f"error {e}"]
if renamed == expand(exprs[0][1]) or renamed_series:
    failures.append(f"self-check: a renamed metric still returned series ({renamed})")

print(f"{len(exprs)} expressions ({n_dashboard} from the dashboard, {len(exprs) - n_dashboard} rules)")
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(f"{len(failures)} expression(s) returned no series or failed")
PY

step "a hostile-client burst fires TickcastProtocolClosesBurst"
python3 - "$PROM" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/api/v1/alerts", timeout=5) as r:
    alerts = json.load(r)["data"]["alerts"]
early = [a for a in alerts if a["labels"]["alertname"] == "TickcastProtocolClosesBurst"]
if early:
    sys.exit(f"TickcastProtocolClosesBurst is already {early[0]['state']} before the burst")
PY
python3 - "$INSTANCE_B" "$BURST" <<'PY'
# Raw-socket WebSocket clients that complete the handshake, then send one binary frame that is not
# MessagePack (0xc1 is never used): the server must close each with a protocol error.
import base64, os, socket, struct, sys, time

host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
deadline = time.monotonic() + 30
closes = {}
for _ in range(n):
    if time.monotonic() > deadline:
        break
    with socket.create_connection((host, int(port)), timeout=2) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            sys.exit(f"the upgrade was refused: {head[:80]!r}")
        buf = head.split(b"\r\n\r\n", 1)[1]
        payload, mask = b"\xc1\xc1\xc1\xc1", os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        s.sendall(bytes([0x82, 0x80 | len(payload)]) + mask + masked)
        # Read frames until the server's close frame (opcode 8) or the end of the stream.
        def need(k):
            global buf
            while len(buf) < k:
                chunk = s.recv(4096)
                if not chunk:
                    raise EOFError
                buf += chunk

        code = None
        try:
            while code is None:
                need(2)
                length, off = buf[1] & 0x7F, 2
                if length == 126:
                    need(4)
                    length, off = struct.unpack(">H", buf[2:4])[0], 4
                need(off + length)
                opcode, body, buf = buf[0] & 0x0F, buf[off : off + length], buf[off + length :]
                if opcode == 8:
                    code = struct.unpack(">H", body[:2])[0] if len(body) >= 2 else 1005
        except (EOFError, socket.timeout, ConnectionError):
            code = "none"
        closes[code] = closes.get(code, 0) + 1
print(f"hostile burst: {sum(closes.values())} connections, close codes {closes}")
protocol = sum(v for k, v in closes.items() if k in (1002, 1003, 1007, 1008, 1009))
if protocol < 21:
    sys.exit(f"only {protocol} protocol closes; the alert needs more than 20")
PY
python3 - "$PROM" <<'PY'
import json, sys, time, urllib.request
deadline = time.monotonic() + 30
state = None
while time.monotonic() < deadline:
    with urllib.request.urlopen(sys.argv[1] + "/api/v1/alerts", timeout=5) as r:
        alerts = json.load(r)["data"]["alerts"]
    for a in alerts:
        if a["labels"]["alertname"] == "TickcastProtocolClosesBurst":
            state = a["state"]
    if state == "firing":
        for a in alerts:
            print(f"alert {a['labels']['alertname']} {a['state']} value {a['value']}: {a['annotations'].get('summary')}")
        sys.exit(0)
    time.sleep(0.5)
sys.exit(f"TickcastProtocolClosesBurst did not fire within 30 s (state: {state})")
PY

if [[ -n "${PICTURE:-}" ]]; then
  step "drawing the dashboard's key panels into $PICTURE"
  sleep 3
  python3 scripts/monitoring-picture.py "$PROM" "$INSTANCE" "$load_start" "$(date +%s)" "$PICTURE" "$DASHBOARD"
fi

printf '\nmonitoring test passed\n'
