"""A `segments run` killed (SIGKILL, the whole process group) at several points mid-run leaves the
warehouse, MLflow and the serving copy usable, and the next run produces the clean run's tables.

Each kill point is detected from what the run itself writes (the Dagster event log under the home,
MLflow's registry, the dbt output), never by sleeping.
The interrupted runs follow one another on the same home, so each starts from what the previous
kill left behind; the last run completes and is compared with the clean reference. The first two
interrupt a run of every day (a backfill); the later ones interrupt one-day runs of the first day, as
the daily schedule launches them, which reach training, scoring and publishing without rebuilding
every day first. The first day is a retrain anchor of the clean run: a one-day run of any other day
would train the families the killed training left without a champion as of that day, versions the
clean run never registers.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pytest

from ml import registry
from tests.fingerprint import assert_same_tables, home_fingerprint
from tests.orchestration.conftest import REFERENCE_SHOP, REFERENCE_START, REPO, SEGMENTS, registry_listing, run_cli

pytestmark = pytest.mark.slow

TIMEOUT = 600  # seconds one interrupted run may take to reach its kill point


def _sqlite_rows(path: Path, sql: str, params=()) -> list[tuple]:
    """Read a SQLite file another process is writing; an absent or busy file reads as no rows."""
    if not path.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


@dataclass
class RunProbe:
    """What a running `segments run` has done so far, read from the files it writes."""
    home: Path
    known_runs: frozenset
    log: Path

    def output_count(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text) if self.log.exists() else 0

    def run_id(self) -> str | None:
        rows = _sqlite_rows(self.home / "dagster" / "history" / "runs.db", "select run_id from runs")
        new = [r[0] for r in rows if r[0] not in self.known_runs]
        return new[0] if new else None

    def events(self, event_type: str) -> list[str]:
        run_id = self.run_id()
        if run_id is None:
            return []
        rows = _sqlite_rows(self.home / "dagster" / "history" / "runs" / f"{run_id}.db",
                            "select step_key from event_logs where dagster_event_type = ? order by id", (event_type,))
        return [r[0] for r in rows]

    def started(self, step_prefix: str) -> bool:
        return any(s.startswith(step_prefix) for s in self.events("STEP_START"))

    def running(self, step_prefix: str) -> bool:
        done = set(self.events("STEP_SUCCESS")) | set(self.events("STEP_FAILURE"))
        return any(s.startswith(step_prefix) and s not in done for s in self.events("STEP_START"))

    def materializations(self, step_prefix: str) -> int:
        return sum(1 for s in self.events("ASSET_MATERIALIZATION") if s.startswith(step_prefix))

    def model_versions(self) -> int:
        rows = _sqlite_rows(self.home / "mlflow.db", "select count(*) from model_versions")
        return rows[0][0] if rows else 0


def _known_runs(home: Path) -> frozenset:
    return frozenset(r[0] for r in _sqlite_rows(home / "dagster" / "history" / "runs.db", "select run_id from runs"))


def _env(home: Path) -> dict:
    env = {**os.environ, "SEGMENTS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    return env


def run_and_kill(home: Path, label: str, run_args: tuple[str, ...], reached: Callable[[RunProbe], bool],
                 log: Path) -> None:
    """Start `segments run <run_args>` in its own process group; SIGKILL the group as soon as `reached`."""
    probe = RunProbe(home, _known_runs(home), log)
    with log.open("w") as out:
        proc = subprocess.Popen([str(SEGMENTS), "run", *run_args], cwd=REPO, env=_env(home), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        try:
            while not reached(probe):
                if proc.poll() is not None:
                    pytest.fail(f"kill point '{label}' never reached: the run ended ({proc.returncode}):\n"
                                + log.read_text()[-3000:])
                if time.monotonic() > deadline:
                    pytest.fail(f"kill point '{label}' not reached in {TIMEOUT}s:\n" + log.read_text()[-3000:])
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"'{label}': the run finished before it could be killed"


EVERY_DAY = ("--all",)
FIRST_DAY = ("--start", REFERENCE_START, "--end", REFERENCE_START)

KILL_POINTS: list[tuple[str, tuple[str, ...], Callable[[RunProbe], bool]]] = [
    ("while lake files are written", EVERY_DAY,
     lambda p: p.running("lake__events") and p.materializations("lake__events") >= 3),
    # dbt's own progress lines, streamed to the output while it builds (materializations come after it ends)
    ("during the dbt build", EVERY_DAY,
     lambda p: p.running("dbt_daily_models") and p.materializations("dbt_daily_models") == 0
     and p.output_count("OK created sql incremental model") >= 2),
    ("during training, after MLflow registered a version", FIRST_DAY,
     lambda p: p.running("models__") and p.model_versions() >= 1),
    # The scoring and publishing steps take a second or two on a quiet machine: waiting for their
    # write-ahead log or temp files to show up misses them often, so these kill as soon as the step runs.
    ("while scoring", FIRST_DAY, lambda p: p.running("score_customers")),
    ("while the serving copy is published", FIRST_DAY, lambda p: p.running("serving__")),
]


def assert_usable(home: Path, label: str) -> None:
    """The warehouse opens, MLflow lists versions and every champion loads, the serving copy is whole."""
    warehouse = home / "warehouse.duckdb"
    if warehouse.exists():
        with duckdb.connect(str(warehouse)) as con:  # read-write: replays a write-ahead log left behind
            con.execute("select count(*) from information_schema.tables").fetchone()
    if (home / "mlflow.db").exists():
        for row in registry.list_versions(home):
            if "champion" in row["aliases"]:
                assert registry.load_champion(home, row["name"]) is not None, f"{label}: {row['name']} champion"
    manifest_path = home / "serving" / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        with duckdb.connect(str(home / "serving" / "segments.duckdb"), read_only=True) as con:
            for name, rows in con.execute("select table_name, rows from main.serving_manifest").fetchall():
                assert con.execute(f"select count(*) from {name}").fetchone()[0] == rows, f"{label}: {name}"
        for name, table in manifest["tables"].items():
            assert (home / "serving" / table["parquet"]).exists(), f"{label}: {name} parquet missing"


def test_a_run_killed_at_any_point_recovers_to_the_clean_tables(clean_reference, tmp_path):
    _, reference, reference_versions = clean_reference
    home = tmp_path / "home"
    run_cli(home, "generate", *REFERENCE_SHOP)
    for i, (label, run_args, reached) in enumerate(KILL_POINTS):
        run_and_kill(home, label, run_args, reached, tmp_path / f"killed-{i}.log")
        assert_usable(home, label)

    run_cli(home, "run", "--all")
    assert_usable(home, "after the recovery run")
    assert_same_tables(reference, home_fingerprint(home), "after runs killed at every kill point and one full run")
    assert registry_listing(home) == reference_versions, "the model registry differs from the clean run's"
    statuses = _sqlite_rows(home / "dagster" / "history" / "runs.db", "select status from runs")
    assert statuses and all(s in ("SUCCESS", "FAILURE", "CANCELED") for (s,) in statuses), statuses
    assert not _sqlite_rows(home / "mlflow.db", "select run_uuid from runs where status = 'RUNNING'")
