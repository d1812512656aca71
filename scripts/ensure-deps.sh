#!/usr/bin/env bash
# Installs what this machine lacks for building and testing Lanyard, and skips what is
# already there. Safe to run repeatedly. Used by `make run` and `make test`.
set -euo pipefail

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# C toolchain and pkg-config for -sys crates (aws-lc-sys builds with cc).
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# The tests need a real Redis; the server package also brings redis-cli.
if [ "${1:-}" = "test" ]; then
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
  # The real OpenID Provider of the interop tests (npm oidc-provider) runs on Node.js.
  command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
  command -v npm >/dev/null 2>&1 || need_apt+=(npm)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "ensure-deps: cargo is missing; install Rust (rustup) first" >&2
  exit 1
fi

if [ "${1:-}" = "test" ]; then
  # Redis on 127.0.0.1:6379, as in production tests; start one if nothing answers.
  if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    echo "ensure-deps: starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 50); do
      (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break
      sleep 0.1
    done
  fi
fi

if [ "${1:-}" = "test" ]; then
  # tests/peers/oidc: the pinned oidc-provider, installed from its lockfile; skipped while
  # node_modules matches the lockfile.
  peer="$(dirname "$0")/../tests/peers/oidc"
  stamp="$peer/node_modules/.lanyard-lock.sha256"
  want="$(sha256sum "$peer/package-lock.json" | cut -d' ' -f1)"
  if [ ! -d "$peer/node_modules/oidc-provider" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "ensure-deps: installing the test OpenID Provider (npm ci in tests/peers/oidc)"
    (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
fi
