#!/usr/bin/env bash
# Serve the provisioned Superset on http://127.0.0.1:8088 (localhost only):  bash bi/superset/serve.sh
# Run bi/superset/provision.sh first. Stops on Ctrl-C / SIGTERM (gunicorn runs in the foreground via exec).
# Env: SEGMENTS_HOME, SEGMENTS_SUPERSET_DIR, SEGMENTS_SUPERSET_VENV (as provision.sh), SEGMENTS_SUPERSET_PORT.
set -euo pipefail

SEGMENTS_HOME_DIR="$(realpath -m "${SEGMENTS_HOME:-./data}")"
SUPERSET_DIR="$(realpath -m "${SEGMENTS_SUPERSET_DIR:-$SEGMENTS_HOME_DIR/superset}")"
VENV="$(realpath -m "${SEGMENTS_SUPERSET_VENV:-$SUPERSET_DIR/venv}")"
PORT="${SEGMENTS_SUPERSET_PORT:-8088}"

if [[ ! -x "$VENV/bin/python" || ! -f "$SUPERSET_DIR/superset_config.py" ]]; then
    echo "Superset is not provisioned under $SUPERSET_DIR: run  bash bi/superset/provision.sh" >&2
    exit 2
fi

export SUPERSET_CONFIG_PATH="$SUPERSET_DIR/superset_config.py"
export SUPERSET_HOME="$SUPERSET_DIR"
echo "Superset on http://127.0.0.1:$PORT/  (user admin, password in $SUPERSET_DIR/admin_password)" >&2
exec "$VENV/bin/python" -m gunicorn --workers 2 --worker-class gthread --threads 4 --timeout 120 \
    --bind "127.0.0.1:$PORT" --access-logfile - --error-logfile - \
    "superset.app:create_app()"
