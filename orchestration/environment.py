"""Process-wide settings every entry point (CLI, `dagster dev`, tests) applies before work starts."""

from __future__ import annotations

import os

import yaml

from shop.home import HOME_ENV, Home

DAGSTER_INSTANCE = {
    "telemetry": {"enabled": False},
    # One run at a time, and one slot per pool: every DuckDB writer shares the pool "duckdb_warehouse".
    "concurrency": {"runs": {"max_concurrent_runs": 1}, "pools": {"default_limit": 1}},
    # The daemon's queue checks every second (default 5 s): a micro-batch run the landing sensor
    # requests starts sooner. Run limits stay under "concurrency" (Dagster refuses them in both places).
    "run_coordinator": {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
        "config": {"dequeue_interval_seconds": 1},
    },
}


def configure_process(home: Home | None = None) -> Home:
    """Pin the home as an absolute path for subprocesses (dbt), switch off telemetry, set DAGSTER_HOME."""
    home = (home or Home.from_env()).ensure()
    os.environ[HOME_ENV] = str(home.root)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_UV_AUTO_DETECT", "false")
    write_instance_config(home)
    return home


def write_instance_config(home: Home) -> None:
    """The instance settings are the platform's: rewritten when they differ."""
    config_path = home.dagster_home / "dagster.yaml"
    wanted = yaml.safe_dump(DAGSTER_INSTANCE, sort_keys=False)
    if not config_path.exists() or config_path.read_text() != wanted:
        config_path.write_text(wanted)
