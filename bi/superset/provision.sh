#!/usr/bin/env bash
# Provision Apache Superset over this home's BI serving copy:  bash bi/superset/provision.sh
#
# Uses $SEGMENTS_HOME (default ./data). Writes only under $SEGMENTS_HOME/superset (or $SEGMENTS_SUPERSET_DIR):
#   venv/                  Superset's own venv (~700 MB; never the project's .venv), or $SEGMENTS_SUPERSET_VENV
#   superset_config.py     secret_key, admin_password (0600), superset.db (metadata), segments_bundle.zip
# Then: superset db upgrade, superset init, admin user, import of bi/superset/bundle/ (dashboard "Customer segments").
# Safe to run again (re-imports the bundle with overwrite). Serve with: bash bi/superset/serve.sh
#
# Env: SEGMENTS_SUPERSET_PYTHON (python used to create the venv, default python3),
#      SEGMENTS_SUPERSET_PORT (default 8088, written into the config for reference).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SEGMENTS_HOME_DIR="$(realpath -m "${SEGMENTS_HOME:-./data}")"
SUPERSET_DIR="$(realpath -m "${SEGMENTS_SUPERSET_DIR:-$SEGMENTS_HOME_DIR/superset}")"
VENV="$(realpath -m "${SEGMENTS_SUPERSET_VENV:-$SUPERSET_DIR/venv}")"
BASE_PYTHON="${SEGMENTS_SUPERSET_PYTHON:-python3}"
PORT="${SEGMENTS_SUPERSET_PORT:-8088}"

mkdir -p "$SUPERSET_DIR"

# (Re)install when the venv is missing or the pinned requirements changed since it was built.
STAMP="$VENV/.segments-requirements.sha256"
WANT="$(cat "$HERE/requirements.txt" "$HERE/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" ]] && ! "$VENV/bin/python" -c "import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in ('superset', 'gunicorn', 'duckdb_engine')))" >/dev/null 2>&1; then
    # Built by this script but broken (base interpreter gone, half-deleted): rebuild it from scratch.
    echo "the Superset venv at $VENV does not work any more: rebuilding it" >&2
    rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
    echo "installing Superset into $VENV (~700 MB: seconds from a warm uv cache, about 30 s from PyPI)" >&2
    started=$SECONDS
    if "$BASE_PYTHON" -m uv --version >/dev/null 2>&1; then
        [[ -x "$VENV/bin/python" ]] || "$BASE_PYTHON" -m uv venv --quiet --python "$BASE_PYTHON" "$VENV"
        "$BASE_PYTHON" -m uv pip install --quiet --python "$VENV/bin/python" \
            -r "$HERE/requirements.txt" -c "$HERE/constraints.txt"
    else
        [[ -x "$VENV/bin/python" ]] || "$BASE_PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$HERE/requirements.txt" -c "$HERE/constraints.txt"
    fi
    echo "$WANT" > "$STAMP"
    echo "installed in $((SECONDS - started)) s" >&2
fi

exec "$VENV/bin/python" "$HERE/provision.py" --home "$SEGMENTS_HOME_DIR" --superset-dir "$SUPERSET_DIR" --port "$PORT"
