#!/usr/bin/env bash
# Runs every test: Rust formatting, lints, unit, property, doc and end-to-end tests; the web
# client's lint, format check, unit tests, build and the browser end-to-end test in headless
# Chromium; the Grafana dashboard and alert rules against a real Prometheus. Installs what it
# needs (npm packages with `npm ci`, Debian's redis-server, chromium and prometheus) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Runs a command as root (directly, or through sudo).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

if ! command -v redis-server >/dev/null; then
  step "installing Debian's redis-server for the directory tests"
  apt_install redis-server
  # The package enables a system service; the tests start their own servers.
  as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

step "cargo test (unit, property, doc, end-to-end)"
cargo test --workspace

step "monitoring: the dashboard and alert rules against a real Prometheus"
bash scripts/monitoring-test.sh

step "web client: npm ci"
(cd web-client && npm ci --no-audit --no-fund)

step "web client: lint, format, unit tests, build"
(cd web-client && npm run lint && npm run format:check && npm test && npm run build)

step "tickcast-client SDK: npm pack, and an example project installs the tarball and type-checks"
(cd web-client && npm run test:sdk-pack)

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium for the browser test"
  apt_install chromium
fi

cargo build -q -p tickcast-server

step "tickcast-client SDK in Node against the real server"
(cd web-client && TICKCAST_SERVER_BIN="$PWD/../target/debug/tickcast-server" npm run test:sdk)

step "browser end-to-end test (real server, headless Chromium)"
(cd web-client && TICKCAST_SERVER_BIN="$PWD/../target/debug/tickcast-server" npm run test:e2e)

printf '\nall tests passed\n'
