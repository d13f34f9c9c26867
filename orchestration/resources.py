"""Shared resources: the home folder, the dbt project and CLI, the warehouse pool name."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from orchestration.dbt_runs import DBT_RUNS_KEPT, prune_dbt_runs, seed_partial_parse
from shop.home import Home

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

# Every step that writes warehouse.duckdb runs in this pool; the instance limits it to one slot.
WAREHOUSE_POOL = "duckdb_warehouse"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt beside the running interpreter, so runs work without the venv on PATH."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


class LocalDbtCliResource(DbtCliResource):
    """The stock resource learns dbt's version by running `dbt --version` once per process: a second
    dbt start-up (seconds) that also asks pypi.org for the latest release, on every run of a
    local-first tool. The dbt beside the interpreter is the installed dbt-core package: read its version.
    It also writes each invocation's target folder into the project folder, where they pile up outside
    the home: here they go to the home's dbt/runs, which keeps the last DBT_RUNS_KEPT, and each starts
    from the parse state of the one before (see seed_partial_parse)."""

    def _get_unique_target_path(self, *, context) -> Path:
        runs = current_home().dbt_runs
        prune_dbt_runs(runs, DBT_RUNS_KEPT - 1)
        target = runs / DbtCliResource._get_unique_target_path(self, context=context).name
        seed_partial_parse(runs, target)
        return target

    def _initialize_dbt_core_adapter(self, args):
        # dagster-dbt loads dbt's adapter into this process (~1-2 s a step) only for its
        # fetch_column_metadata / fetch_row_counts, which we do not use: table_metadata reads the
        # warehouse after dbt has ended.
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).with_name("dbt"):
            return version.parse(package_version("dbt-core"))
        return DbtCliResource._cli_version.func(self)


@contextmanager
def environment_set(values: dict[str, str]):
    """os.environ with `values` set for the duration, restored afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_cli() -> DbtCliResource:
    return LocalDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def current_home() -> Home:
    return Home.from_env()


def _manifest_is_stale() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [p for p in DBT_PROJECT_DIR.rglob("*") if p.suffix in {".sql", ".yml", ".yaml"} and "target" not in p.parts]
    return any(p.stat().st_mtime > built for p in sources)


def ensure_dbt_manifest() -> None:
    """`dbt parse` when the project changed since the last manifest (what `dagster dev` does for itself).
    Processes starting together (parallel test workers, two CLI runs on a fresh clone) take turns:
    one parses, the others find a fresh manifest instead of writing the same target folder at once."""
    if not _manifest_is_stale():
        return
    lock_path = dbt_project.manifest_path.parent / ".parse.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _manifest_is_stale():
            return
        result = subprocess.run(
            [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
            capture_output=True,
            text=True,
            env={**os.environ, "DBT_LOG_PATH": str(dbt_project.manifest_path.parent)},
        )
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed for {DBT_PROJECT_DIR}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
