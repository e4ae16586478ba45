# Sourced by scripts/run-bot and scripts/test: make sure $VENV holds exactly what uv.lock pins.
#
# uv (pinned, hash-checked, from PyPI: scripts/uv-requirements.txt) installs the lock into .venv;
# it re-syncs only when uv.lock or pyproject.toml changed since the last install. A lock that no
# longer matches pyproject.toml is an error (`uv sync --locked`): run `uv lock` on purpose.
#
# CSB_LATEST=1 (scripts/test --latest) instead installs the newest versions pyproject.toml's ranges
# allow, ignoring the lock, into .venv-latest: how a maintainer sees an upstream change on purpose.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"
UV_VERSION="0.13.9"
TOOLS="${CSB_TOOLS_DIR:-$ROOT/.tools}/uv-$UV_VERSION"
UV="$TOOLS/bin/uv"
if [ ! -x "$UV" ]; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes --root-user-action=ignore \
    --target "$TOOLS" -r "$ROOT/scripts/uv-requirements.txt"
fi
export UV_NO_CONFIG=1  # only this repository's pyproject.toml and uv.lock decide

if [ "${CSB_LATEST:-0}" = "1" ]; then
  VENV="${VENV:-$ROOT/.venv-latest}"
  [ -x "$VENV/bin/python" ] || "$UV" venv --quiet --python "$PYTHON" "$VENV"
  "$UV" pip install --quiet --python "$VENV/bin/python" --upgrade --refresh \
    -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  echo "== newer than uv.lock (package: locked -> installed)" >&2
  "$UV" export --quiet --locked --no-hashes --no-emit-project --all-extras --project "$ROOT" \
    | "$VENV/bin/python" "$ROOT/scripts/lock_drift.py" "$("$UV" pip freeze --quiet --python "$VENV/bin/python")" >&2
  return 0 2>/dev/null || exit 0
fi

VENV="${VENV:-$ROOT/.venv}"
export UV_PROJECT_ENVIRONMENT="$VENV"
STAMP="$VENV/.installed-${EXTRAS:-main}"
if [ ! -f "$STAMP" ] || [ "$ROOT/uv.lock" -nt "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  # dev extras: exactly the lock; the bot alone: inexact, so a test venv keeps its tools
  "$UV" sync --quiet --locked --project "$ROOT" --python "$PYTHON" \
    ${EXTRAS:+--extra "$EXTRAS"} $([ -z "$EXTRAS" ] && echo --inexact)
  touch "$STAMP"
fi
