#!/usr/bin/env bash
# Runs the browser demo: builds the web client when it is missing or older than its sources,
# then starts the server on http://127.0.0.1:8080 (override with TICKCAST_PORT / TICKCAST_BIND).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
  echo "npm (Node.js >= 20) is needed to build the web client" >&2
  exit 1
fi
dist=web-client/dist/index.html
stale=0
if [ ! -f "$dist" ]; then
  stale=1
elif [ -n "$(find web-client/src web-client/index.html web-client/package.json assets -newer "$dist" -print -quit 2>/dev/null)" ]; then
  stale=1
fi
if [ "$stale" = 1 ]; then
  echo "building the web client…"
  (cd web-client && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
fi
echo "starting the server; open http://${TICKCAST_BIND:-127.0.0.1}:${TICKCAST_PORT:-8080}/"
exec cargo run --release -p tickcast-server -- --static-dir web-client/dist "$@"
