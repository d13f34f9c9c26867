"""Shared resources: the home folder, the dbt project and CLI, the warehouse pool name."""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from shop.home import Home

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

# Every step that writes warehouse.duckdb runs in this pool; the instance limits it to one slot.
WAREHOUSE_POOL = "duckdb_warehouse"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt beside the running interpreter, so runs work without the venv on PATH."""
    candidate = Path(os.sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def current_home() -> Home:
    return Home.from_env()
