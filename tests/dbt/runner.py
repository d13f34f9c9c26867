"""Run the dbt project in-process on a temporary home, and read its warehouse.

dbt is parsed once per home (source paths are rendered from SEGMENTS_HOME at parse time) and the
manifest reused for every later invocation, which saves the parse that changed --vars would
otherwise force. target/ and logs/ stay inside the home, so homes never share state.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
from dbt.cli.main import dbtRunner, dbtRunnerResult
from polars.testing import assert_frame_equal

from orchestration.resources import environment_set

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"
BUILT_SCHEMAS = ("staging", "intermediate", "marts")


def _environment(home: Path):
    return environment_set({"SEGMENTS_HOME": str(home), "DO_NOT_TRACK": "1", "DBT_PROFILES_DIR": str(PROJECT_DIR)})


class DbtHome:
    def __init__(self, home: Path):
        self.home = home
        self.manifest = None

    def _args(self, command: str, *args: str, window: tuple[str, str] | None = None, vars: dict | None = None) -> list[str]:
        all_vars = dict(vars or {})
        if window:
            all_vars.update(min_date=window[0], max_date=window[1])
        cli = [command, *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
               "--target-path", str(self.home / "target"), "--log-path", str(self.home / "logs"), "--quiet"]
        if all_vars:
            cli += ["--vars", json.dumps(all_vars)]
        return cli

    def invoke(self, command: str, *args: str, **kwargs) -> dbtRunnerResult:
        with _environment(self.home):
            if self.manifest is None:
                parsed = dbtRunner().invoke(self._args("parse"))
                if not parsed.success:
                    raise RuntimeError(f"dbt parse failed: {parsed.exception}")
                self.manifest = parsed.result
            return dbtRunner(manifest=self.manifest).invoke(self._args(command, *args, **kwargs))

    def run_ok(self, command: str, *args: str, **kwargs) -> dbtRunnerResult:
        result = self.invoke(command, *args, **kwargs)
        if not result.success:
            failures = [
                f"{r.node.unique_id}: {r.status} {r.message}"
                for r in getattr(result.result, "results", []) or []
                if str(r.status) not in ("success", "pass", "no-op")
            ]
            raise AssertionError(f"dbt {command} {args} {kwargs} failed: {result.exception} {failures}")
        return result

    @contextmanager
    def connect(self):
        # same configuration as dbt-duckdb's connection, which DuckDB keeps open in this process
        con = duckdb.connect(str(self.home / "warehouse.duckdb"))
        try:
            yield con
        finally:
            con.close()

    def frame(self, sql: str) -> pl.DataFrame:
        with self.connect() as con:
            return pl.from_arrow(con.sql(sql).to_arrow_table())

    def tables(self) -> dict[str, pl.DataFrame]:
        """Every table dbt built, fully, in a canonical row order."""
        with self.connect() as con:
            names = con.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                f"where table_schema in {BUILT_SCHEMAS} order by 1"
            ).fetchall()
            frames = {}
            for (name,) in names:
                frame = pl.from_arrow(con.sql(f"select * from {name}").to_arrow_table())
                frames[name] = frame.sort(frame.columns, nulls_last=True)
            return frames


def assert_same_tables(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame], exact: bool = False) -> None:
    assert left.keys() == right.keys()
    for name in left:
        try:
            if exact:
                assert_frame_equal(left[name], right[name], check_exact=True)
            else:
                assert_frame_equal(left[name], right[name], check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
        except AssertionError as error:
            raise AssertionError(f"{name} differs: {error}") from None
