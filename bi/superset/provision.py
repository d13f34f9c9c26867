"""Provision Apache Superset over a segments home's serving copy (run by provision.sh with the Superset venv's python).

Idempotent: every step can run again on a provisioned home.
  1. write <superset dir>/superset_config.py (regenerated each time; it holds no secret) and, once,
     secret_key and admin_password (mode 0600) beside it: both live in the home, never in the repo
  2. `superset db upgrade`, `superset init` (metadata DB: sqlite under the superset dir)
  3. admin user `admin` with the password from admin_password
  4. zip bi/superset/bundle/ (with the DuckDB URI of this home's serving copy filled in) to
     <superset dir>/segments_bundle.zip and import it with overwrite: database, datasets, charts, dashboard

Imports the standard library and PyYAML at module level (so tests/bi can check the bundle logic from the
project's venv) and Superset only inside functions: provisioning itself runs with the Superset venv's python.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
BUNDLE_DIR = HERE / "bundle"
BUNDLE_ROOT = "segments_bundle"  # top folder inside the zip, as Superset's own exports have
SERVING_URI_TOKEN = "__SERVING_DUCKDB_URI__"
ADMIN_USER = "admin"
CONFIG_NAME = "superset_config.py"
SECRET_FILE = "secret_key"
PASSWORD_FILE = "admin_password"

CONFIG_TEMPLATE = '''\
# Written by bi/superset/provision.py on every provisioning: edits here are overwritten.
# Secrets are read from files beside this one (created once, mode 0600), so this file holds none.
from pathlib import Path

_HERE = Path(__file__).resolve().parent

SECRET_KEY = (_HERE / "{secret_file}").read_text(encoding="utf-8").strip()
SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(_HERE / "superset.db") + "?check_same_thread=false"
# The REST API (used by tests/bi and scripts) posts without a CSRF token; the server binds to 127.0.0.1 only.
WTF_CSRF_ENABLED = False
SUPERSET_WEBSERVER_ADDRESS = "127.0.0.1"
SUPERSET_WEBSERVER_PORT = {port}
# One process group on one machine: in-memory login rate limits are enough (and silence the startup warning).
RATELIMIT_STORAGE_URI = "memory://"
'''


def serving_uri(serving_db: Path) -> str:
    """SQLAlchemy URI of the published DuckDB file (never the warehouse itself), opened per query.

    read_only: Superset never locks out the publisher. enable_external_access=false: SQL Lab cannot read or
    attach other files of the machine (read_csv('/etc/...'), ATTACH) through this connection.
    """
    return f"duckdb:///{serving_db.resolve()}?access_mode=read_only&enable_external_access=false"


def write_secret_once(path: Path, nbytes: int) -> str:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(nbytes) + "\n")
    return path.read_text(encoding="utf-8").strip()


def write_config(superset_dir: Path, port: int) -> Path:
    superset_dir.mkdir(parents=True, exist_ok=True)
    write_secret_once(superset_dir / SECRET_FILE, 48)
    write_secret_once(superset_dir / PASSWORD_FILE, 18)
    config = superset_dir / CONFIG_NAME
    config.write_text(CONFIG_TEMPLATE.format(secret_file=SECRET_FILE, port=port), encoding="utf-8")
    return config


def superset_env(superset_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SUPERSET_CONFIG_PATH"] = str(superset_dir / CONFIG_NAME)
    env["SUPERSET_HOME"] = str(superset_dir)  # Superset's DATA_DIR: its log and upload folders
    env["FLASK_APP"] = "superset.app:create_app()"
    return env


def bundle_files(bundle_dir: Path, uri: str) -> dict[str, str]:
    """The bundle's YAML files as Superset import contents ({path in zip: text}).

    The repo keeps each chart's query_context as a YAML mapping without form_data (readable, no copy of
    params to drift); Superset stores it as a JSON string with form_data, so both are done here. The
    importer then points its datasource at the imported dataset. The database URI placeholder becomes
    this home's file.
    """
    contents: dict[str, str] = {}
    for path in sorted(bundle_dir.rglob("*.yaml")):
        relative = path.relative_to(bundle_dir).as_posix()
        text = path.read_text(encoding="utf-8").replace(SERVING_URI_TOKEN, uri)
        if relative.startswith("charts/"):
            text = yaml.safe_dump(chart_with_query_context(yaml.safe_load(text), relative),
                                  sort_keys=False, allow_unicode=True)
        contents[f"{BUNDLE_ROOT}/{relative}"] = text
    if f"{BUNDLE_ROOT}/metadata.yaml" not in contents:
        raise FileNotFoundError(f"{bundle_dir} has no metadata.yaml: not a Superset bundle")
    if SERVING_URI_TOKEN in "".join(contents.values()):
        raise ValueError("serving URI placeholder left in the bundle")
    return contents


def chart_with_query_context(chart: dict, name: str) -> dict:
    """Chart config with query_context as Superset stores it: a JSON string including form_data.

    Without a saved query_context /api/v1/chart/{id}/data/ answers 400 "Chart has no query context saved",
    so a chart without one is refused here rather than imported half-usable.
    """
    context = chart.get("query_context")
    if isinstance(context, str):
        return chart
    if not isinstance(context, dict) or not context.get("queries"):
        raise ValueError(f"chart {name} has no query_context with queries")
    params = dict(chart.get("params") or {})
    if params.get("viz_type", chart["viz_type"]) != chart["viz_type"]:
        raise ValueError(f"chart {name}: params.viz_type differs from viz_type")
    form_data = {**params, "viz_type": chart["viz_type"], "slice_name": chart["slice_name"],
                 "result_format": context.get("result_format", "json"),
                 "result_type": context.get("result_type", "full"), "force": False}
    return {**chart, "query_context": json.dumps({**context, "form_data": form_data})}


def write_bundle_zip(contents: dict[str, str], target: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in contents.items():
            archive.writestr(name, text)
    target.write_bytes(buffer.getvalue())
    return target


def run_superset(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    # Through this interpreter rather than the venv's `superset` script, whose shebang breaks if the venv moves.
    command = [sys.executable, "-c", "import sys; from superset.cli.main import superset; sys.exit(superset())"]
    result = subprocess.run([*command, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"`superset {' '.join(args)}` failed with exit code {result.returncode}")
    return time.perf_counter() - started


def admin_and_import(superset_dir: Path, bundle_zip: Path) -> dict:
    """In one app context: ensure the admin user, then import the bundle as that user (overwrite=True)."""
    os.environ.update(superset_env(superset_dir))
    # Superset print()s while loading its config; stdout is reserved for provision's JSON report.
    with contextlib.redirect_stdout(sys.stderr):
        return _admin_and_import(superset_dir, bundle_zip)


def _admin_and_import(superset_dir: Path, bundle_zip: Path) -> dict:
    from flask import g  # noqa: PLC0415 - Superset must see SUPERSET_CONFIG_PATH before it is imported

    from superset.app import create_app  # noqa: PLC0415

    app = create_app()
    with app.app_context():
        from superset import db, security_manager  # noqa: PLC0415
        from superset.commands.importers.v1.assets import ImportAssetsCommand  # noqa: PLC0415
        from superset.commands.importers.v1.utils import get_contents_from_bundle  # noqa: PLC0415
        from superset.models.dashboard import Dashboard  # noqa: PLC0415

        password = (superset_dir / PASSWORD_FILE).read_text(encoding="utf-8").strip()
        user = security_manager.find_user(username=ADMIN_USER)
        if user is None:
            role = security_manager.find_role("Admin")
            user = security_manager.add_user(ADMIN_USER, "Segments", "Admin", "admin@localhost", role, password=password)
            if not user:
                raise SystemExit("could not create the Superset admin user")
        else:
            security_manager.reset_password(user.id, password)
        db.session.commit()

        g.user = user
        with zipfile.ZipFile(bundle_zip) as archive:
            contents = get_contents_from_bundle(archive)
        ImportAssetsCommand(contents).run()
        dashboards = [
            {"id": d.id, "title": d.dashboard_title, "slug": d.slug, "charts": len(d.slices)}
            for d in db.session.query(Dashboard).all()
        ]
    return {"dashboards": dashboards}


def provision(home: Path, superset_dir: Path, port: int) -> dict:
    timings: dict[str, float] = {}
    serving_db = home / "serving" / "segments.duckdb"
    warnings = []
    if not serving_db.exists():
        warnings.append(f"no serving copy at {serving_db} yet: charts answer once the pipeline has published it")

    started = time.perf_counter()
    write_config(superset_dir, port)
    env = superset_env(superset_dir)
    timings["db_upgrade_s"] = run_superset(["db", "upgrade"], env)
    timings["init_s"] = run_superset(["init"], env)

    contents = bundle_files(BUNDLE_DIR, serving_uri(serving_db))
    bundle_zip = write_bundle_zip(contents, superset_dir / "segments_bundle.zip")
    t0 = time.perf_counter()
    imported = admin_and_import(superset_dir, bundle_zip)
    timings["admin_and_import_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started
    return {
        "superset_dir": str(superset_dir),
        "config": str(superset_dir / CONFIG_NAME),
        "admin_user": ADMIN_USER,
        "admin_password_file": str(superset_dir / PASSWORD_FILE),
        "database_uri": serving_uri(serving_db),
        "bundle_zip": str(bundle_zip),
        "url": f"http://127.0.0.1:{port}/",
        "dashboards": imported["dashboards"],
        "warnings": warnings,
        "timings": {k: round(v, 1) for k, v in timings.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", required=True, type=Path, help="the segments home ($SEGMENTS_HOME)")
    parser.add_argument("--superset-dir", type=Path, help="default: <home>/superset")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args(argv)
    home = args.home.expanduser().resolve()
    superset_dir = (args.superset_dir or home / "superset").expanduser().resolve()
    report = provision(home, superset_dir, args.port)
    (superset_dir / "provision.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
