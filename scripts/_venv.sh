# Sourced by the other scripts: makes ROOT/.venv with the package installed, once.
# Every line of set-up output goes to stderr: on stdio, stdout is the MCP protocol.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
# Held while .venv is set up: two first starts at once (Claude Desktop and the Inspector, or scripts/serve
# and scripts/test) would otherwise run two pips into one venv, and the second dies in the middle.
VENV_LOCK="$ROOT/.venv.lock"

venv_ready() {
  local stamp="$VENV/.installed$1"
  [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/pyproject.toml" ]
}

ensure_venv() {
  local extras="$1"
  venv_ready "$extras" && return  # every start but the first: no lock, no process
  take_venv_lock
  # Whoever held the lock may have done it meanwhile.
  if ! venv_ready "$extras"; then
    build_venv "$extras" || { release_venv_lock; exit 1; }
  fi
  release_venv_lock
}

build_venv() {
  local extras="$1"
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "mcp-payments needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    return 1
  fi
  echo "setting up $VENV (first run only, a minute or so)..." >&2
  "$PYTHON" -m venv "$VENV" >&2 &&
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2 &&
    "$VENV/bin/python" -m pip install -q -e "$ROOT$extras" >&2 &&
    touch "$VENV/.installed$extras"
}

# flock where there is one (Linux): the kernel releases it when its holder dies, however it dies. Elsewhere
# (macOS) a directory made with mkdir, which is atomic, holding its maker's pid: a lock whose maker is gone
# is stale and taken over.
take_venv_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$VENV_LOCK"
    if ! flock -n 9; then
      echo "waiting for another start to finish setting up $VENV..." >&2
      flock 9
    fi
    return
  fi
  local said=""
  until mkdir "$VENV_LOCK.d" 2>/dev/null; do
    if venv_lock_is_stale; then
      # Renamed before removal, so that of two starts that both found it stale only one removes it.
      mv "$VENV_LOCK.d" "$VENV_LOCK.d.stale.$$" 2>/dev/null && rm -rf "$VENV_LOCK.d.stale.$$"
      continue
    fi
    [ -n "$said" ] || echo "waiting for another start to finish setting up $VENV..." >&2
    said=1
    sleep 1
  done
  echo $$ >"$VENV_LOCK.d/pid"
  trap 'rm -rf "$VENV_LOCK.d"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

venv_lock_is_stale() {
  local pid
  pid="$(cat "$VENV_LOCK.d/pid" 2>/dev/null)"
  if [ -z "$pid" ]; then
    # Made, but its pid not written yet, or never (its maker died in between): stale after a minute.
    [ -n "$(find "$VENV_LOCK.d" -maxdepth 0 -mmin +1 2>/dev/null)" ]
    return
  fi
  ! kill -0 "$pid" 2>/dev/null
}

release_venv_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>&-  # closed, so that the server this script becomes does not hold it
    return
  fi
  rm -rf "$VENV_LOCK.d"
  trap - EXIT INT TERM
}
