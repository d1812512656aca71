#!/usr/bin/env bash
# Start-up time (exec → first 200 from /healthz) and idle RSS of the release binary, for
# two configs: the quickstart (4 demo passwords hashed with argon2id at start-up) and the
# same directory with precomputed password hashes (what production looks like).
# Usage: scripts/measure-startup.sh [runs]   (needs curl; uses 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release --bin lanyard >/dev/null 2>&1
bin=target/release/lanyard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hash=$(printf 'pw\n' | "$bin" hash-password)
sed -e "s|insecure_demo_password = \"[a-z-]*\"|password_hash = \"$hash\"|" \
    -e "s|keys_dir = \"../data/keys\"|keys_dir = \"$work/keys\"|" \
    -e "s|document_file = \"policies/|document_file = \"$PWD/examples/policies/|" \
    examples/quickstart.toml > "$work/hashed.toml"
sed -e "s|keys_dir = \"../data/keys\"|keys_dir = \"$work/keys\"|" \
    -e "s|document_file = \"policies/|document_file = \"$PWD/examples/policies/|" \
    examples/quickstart.toml > "$work/quickstart.toml"
for config in quickstart hashed; do
  for i in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$bin" serve --config "$work/$config.toml" >"$work/log" 2>&1 &
    pid=$!
    until curl -sf -o /dev/null http://127.0.0.1:8080/healthz; do sleep 0.002; done
    end=$(date +%s%N)
    sleep 2
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    printf '%-10s run %d: ready after %4d ms, idle RSS %6d KiB\n' "$config" "$i" $(( (end - start) / 1000000 )) "$rss"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
