#!/usr/bin/env bash
# Create or reuse the reference virtualenv (safetensors, numpy, ml-dtypes, pytest, huggingface_hub)
# that the interop tests use as their oracle.  It lives outside the checkout:
#
#     ${MFT_CACHE:-$HOME/.cache/mft}/venv-ref
#
# and is rebuilt only when tools/requirements.txt changes (its sha256 is kept in a stamp file).
#
#   scripts/venv.sh                  ensure the venv; silent unless it has to (re)build or fails
#   scripts/venv.sh --print-python   ensure the venv, then print its python's path on stdout (only that)
#
# Progress and errors go to stderr, so `PY=$(scripts/venv.sh --print-python)` is safe.
set -euo pipefail

print_python=0
for arg in "$@"; do
  case "$arg" in
    --print-python) print_python=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "venv.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
req="$root/tools/requirements.txt"
cache="${MFT_CACHE:-${HOME:-/root}/.cache/mft}"
venv="$cache/venv-ref"
py="$venv/bin/python"
stamp="$venv/.mft-requirements.sha256"

if [ ! -f "$req" ]; then
  echo "venv.sh: missing $req" >&2
  exit 1
fi
want=$(sha256sum "$req" | cut -d' ' -f1)

venv_ok() {
  [ -x "$py" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$py" -c '' 2>/dev/null
}

# A base python that can make a venv with pip in it.  Debian's /usr/bin/python3 needs python3-venv
# (which brings ensurepip); fall back to whatever python3 is on PATH (e.g. pyenv's).
pick_base_python() {
  local cand
  for cand in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)" \
              "$(command -v python3.11 2>/dev/null || true)" "$(command -v python 2>/dev/null || true)"; do
    [ -n "$cand" ] && [ -x "$cand" ] || continue
    if "$cand" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
        >/dev/null 2>&1; then
      echo "$cand"
      return 0
    fi
  done
  return 1
}

build() {
  local base
  if ! base=$(pick_base_python); then
    echo "venv.sh: no python3 with the venv and ensurepip modules found" \
         "(on Debian: apt-get install python3-venv, or run scripts/install-deps.sh)" >&2
    return 1
  fi
  echo "venv.sh: creating $venv with $base ($("$base" -c 'import sys; print(sys.version.split()[0])'))" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  "$base" -m venv "$venv" >&2
  local pip=("$py" -m pip install --disable-pip-version-check --no-input --quiet
             --only-binary=:all: -r "$req")
  echo "venv.sh: installing tools/requirements.txt" >&2
  if ! "${pip[@]}" >&2; then
    echo "venv.sh: pip install failed; retrying once" >&2
    sleep 3
    if ! "${pip[@]}" >&2; then
      echo "venv.sh: pip install failed twice; see the messages above" >&2
      return 1
    fi
  fi
  # Smoke test: every reference module imports.
  if ! "$py" -c 'import safetensors, numpy, ml_dtypes, pytest, huggingface_hub, gguf' >&2; then
    echo "venv.sh: the new venv cannot import its packages" >&2
    return 1
  fi
  # The stamp is written last: an interrupted build leaves no stamp and is redone next time.
  echo "$want" > "$stamp"
  echo "venv.sh: ready: $py" >&2
}

if ! venv_ok; then
  mkdir -p "$cache"
  # Serialise concurrent builds (parallel make jobs, two checkouts sharing the cache).
  exec 9>"$cache/venv-ref.lock"
  if command -v flock >/dev/null 2>&1; then
    flock 9
  fi
  if ! venv_ok; then    # another process may have built it while we waited
    build
  fi
  exec 9>&-
fi

if [ "$print_python" -eq 1 ]; then
  echo "$py"
fi
