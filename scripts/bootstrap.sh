#!/usr/bin/env bash
# Creates .venv and installs editai (with dev tools) into it from requirements.lock (every
# package pinned by hash) when the lock or pyproject.toml changed, and GraphiQL's files
# (npm tarballs pinned by hash, src/editai/graphiql/assets.py) when their pins changed.
# Sourced by scripts/serve and scripts/test; safe to run again and again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$candidate"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "error: Python >= 3.11 is required" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtual environment in .venv" >&2
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.editai-installed"
WANT="$(cat "$ROOT/requirements.lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "==> installing editai and its locked dependencies into .venv" >&2
  # --require-hashes: nothing is installed whose file is not the one the lock names.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --require-hashes --no-deps -r "$ROOT/requirements.lock"
  # editai itself from the work tree, with the locked setuptools (no build isolation, which
  # would fetch an unpinned one) and nothing more (--no-deps: all came from the lock).
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --no-build-isolation -e "$ROOT"
  echo "$WANT" > "$STAMP"
fi
ASSETS_STAMP="$VENV/.editai-graphiql-installed"
ASSETS_WANT="$(sha256sum "$ROOT/src/editai/graphiql/assets.py" | cut -d' ' -f1)"
if [ ! -f "$ASSETS_STAMP" ] || [ "$(cat "$ASSETS_STAMP")" != "$ASSETS_WANT" ] \
  || [ ! -d "$VENV/share/editai/graphiql" ]; then
  echo "==> installing GraphiQL's files (npm pack, verified against their pins)" >&2
  "$VENV/bin/python" -m editai.graphiql.install
  echo "$ASSETS_WANT" > "$ASSETS_STAMP"
fi
export PATH="$VENV/bin:$PATH"
