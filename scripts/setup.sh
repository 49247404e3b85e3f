# Sourced by scripts/serve and scripts/test: installs what Parley needs, idempotently.
# Every step is skipped when its inputs have not changed since the last run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAMPS="$ROOT/.setup"
mkdir -p "$STAMPS"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# stamp NAME FILE...: true (0) when the files changed since `stamp_done NAME FILE...`
stamp_changed() {
  local name=$1; shift
  local sum; sum=$(cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1)
  [ "$(cat "$STAMPS/$name" 2>/dev/null)" != "$sum" ]
}
stamp_done() {
  local name=$1; shift
  cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1 > "$STAMPS/$name"
}

apt_install() {
  say "installing Debian packages: $*"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

setup_python() {  # $1: "" for the server, "dev" for tests and tools
  local extra=${1:-}
  command -v python3 >/dev/null || apt_install python3 python3-venv
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    say "creating the virtualenv .venv"
    python3 -m venv "$ROOT/.venv"
  fi
  if stamp_changed "pip$extra" "$ROOT/pyproject.toml"; then
    say "installing Python packages${extra:+ (with $extra tools)}"
    "$ROOT/.venv/bin/pip" install -q --upgrade pip
    "$ROOT/.venv/bin/pip" install -q -e "$ROOT${extra:+[$extra]}"
    stamp_done "pip$extra" "$ROOT/pyproject.toml"
  fi
  # Bytecode for Parley's own modules, so each process (a node, a CLI call, a test's
  # restart) loads it instead of compiling the sources again: where PYTHONDONTWRITEBYTECODE
  # is set, Python never writes it. Only files changed since are compiled.
  "$ROOT/.venv/bin/python" -m compileall -q -j 0 "$ROOT/server" "$ROOT/signaling" \
    "$ROOT/storage" "$ROOT/bench" >/dev/null
}

setup_client() {
  command -v npm >/dev/null || apt_install nodejs npm
  local client="$ROOT/client"
  if [ ! -d "$client/node_modules" ] || stamp_changed npm "$client/package-lock.json"; then
    say "installing the client's npm packages"
    (cd "$client" && npm ci --no-audit --no-fund --loglevel=error)
    stamp_done npm "$client/package-lock.json"
  fi
  local sources
  sources=$(find "$client/src" "$client/public" "$client/build.mjs" "$client/index.html" \
    "$client/package-lock.json" -type f 2>/dev/null | sort)
  # shellcheck disable=SC2086
  if [ ! -f "$client/dist/index.html" ] || stamp_changed build $sources; then
    say "building the browser client"
    (cd "$client" && npm run --silent build)
    # shellcheck disable=SC2086
    stamp_done build $sources
  fi
}
