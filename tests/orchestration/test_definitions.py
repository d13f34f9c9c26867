"""The Dagster code location loads the way `dagster dev` and CI load it."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_dbt_parse_then_dg_check_defs(tmp_path):
    env = {**os.environ, "SEGMENTS_HOME": str(tmp_path), "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "DO_NOT_TRACK": "1"}
    env.pop("DAGSTER_HOME", None)
    parse = subprocess.run(
        [str(BIN / "dbt"), "parse", "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert parse.returncode == 0, parse.stdout[-3000:]
    check = subprocess.run([str(BIN / "dg"), "check", "defs"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "All definitions loaded successfully" in check.stdout + check.stderr


def test_the_daily_job_covers_landing_to_marts(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_HOME", str(tmp_path))
    code = (
        "from orchestration.definitions import defs\n"
        "job = defs.resolve_job_def('daily_pipeline')\n"
        "keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}\n"
        "assert {'lake/events', 'staging/stg_events', 'marts/customer_daily_activity', 'marts/customer_features'} <= keys, keys\n"
        "graph = defs.resolve_asset_graph()\n"
        "import dagster as dg\n"
        "up = graph.get(dg.AssetKey(['lake', 'events'])).parent_keys\n"
        "assert dg.AssetKey(['landing', 'events']) in up, up\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "SEGMENTS_HOME": str(tmp_path)})
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
