#!/usr/bin/env bash
# Installs what this machine lacks for building and testing Lanyard, and skips what is
# already there. Safe to run repeatedly. Used by `make run` and `make test`.
set -euo pipefail

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# C toolchain and pkg-config for -sys crates (aws-lc-sys builds with cc).
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# The build's Debian packages (SAML's libxmlsec1 through bindgen, libxml2, OpenSSL), from
# the list the Dockerfile's build stage installs too.
while read -r pkg; do
  have_pkg "$pkg" || need_apt+=("$pkg")
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$(dirname "$0")/../packaging/build-packages")
# The tests need a real Redis (the server package also brings redis-cli), and the SAML
# interop tests a pysaml2 IdP, which signs and encrypts with the xmlsec1 program.
if [ "${1:-}" = "test" ]; then
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
  # The LDAP tests start a real OpenLDAP server (Debian's slapd lives in /usr/sbin).
  have_pkg slapd || need_apt+=(slapd)
  have_pkg ldap-utils || need_apt+=(ldap-utils)
  # kill(1), to freeze and thaw slapd in the "directory hangs" test.
  type -P kill >/dev/null 2>&1 || need_apt+=(procps)
  # The SAML tests run a pysaml2 IdP (needs the xmlsec1 program) in a venv.
  command -v xmlsec1 >/dev/null 2>&1 || need_apt+=(xmlsec1)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
  # The browser tests drive headless Chromium over WebDriver (tests/it/chromium.rs).
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  [ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
  # The fleet test puts three instances behind a real HAProxy (tests/it/fleet.rs).
  [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
fi

# Test peers written for Node (openid-client as a relying party).
if [ "${1:-}" = "test" ]; then
  command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
  command -v npm >/dev/null 2>&1 || need_apt+=(npm)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # slapd: install the binaries only; the tests write their own configuration, and no
  # system directory is set up or started.
  echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections 2>/dev/null || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "ensure-deps: cargo is missing; install Rust (rustup) first" >&2
  exit 1
fi

if [ "${1:-}" = "test" ]; then
  # The pysaml2 IdP of the SAML interop tests, in a git-ignored venv (the test harness
  # creates it too when missing). Keep the version in step with tests/it/saml_support.rs.
  venv="tests/peers/saml/.venv"
  if ! "$venv/bin/python" -c 'import saml2' >/dev/null 2>&1; then
    echo "ensure-deps: creating $venv with pysaml2 7.5.5"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pysaml2==7.5.5"
  fi
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
  # Node test peers: install each pinned package set once (again when its lockfile changes).
  for peer in tests/peers/*/; do
    [ -f "$peer/package-lock.json" ] || continue
    stamp="$peer/node_modules/.lanyard-installed"
    if [ ! -f "$stamp" ] || [ "$peer/package-lock.json" -nt "$stamp" ]; then
      echo "ensure-deps: npm ci in $peer"
      (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error)
      touch "$stamp"
    fi
  done
fi
