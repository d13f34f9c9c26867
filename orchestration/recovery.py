"""What a killed `segments run` leaves in the Dagster instance, and clearing it before the next one.

A process killed mid-run never records the end of its run: the run stays STARTED and keeps the
pool slots its steps claimed (pool "duckdb_warehouse" has one), so the next run's steps would wait
for that slot forever. Runs started by `segments run` carry LAUNCHER_TAG, and each CLI run holds an
exclusive lock on a file in the instance folder for as long as its process lives (the OS drops the
lock when the process dies, however it dies). So a CLI run that holds the lock knows every other
unfinished CLI run is abandoned: it marks them failed and frees their slots.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg

LAUNCHER_TAG = "segments/launched_by"
LAUNCHER = "cli"
LOCK_FILE = "cli-run.lock"
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
              dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.QUEUED]


class RunInProgress(RuntimeError):
    pass


@contextmanager
def exclusive_cli_run(dagster_home: Path) -> Iterator[None]:
    """Hold the home's CLI run lock for the duration; refuse when another live process holds it."""
    path = Path(dagster_home) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunInProgress(f"another `segments run` is running on this home (lock {path} is held); "
                                "wait for it to finish") from exc
        yield
    finally:
        os.close(fd)  # releases the lock


def fail_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark unfinished CLI runs failed and free their pool slots; call only while holding the CLI lock."""
    records = instance.get_runs(filters=dg.RunsFilter(tags={LAUNCHER_TAG: LAUNCHER}, statuses=UNFINISHED))
    abandoned = []
    for run in records:
        instance.report_run_failed(
            run, message="abandoned: the process running it ended without finishing (killed or crashed); "
                         "marked failed by the next `segments run`")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        abandoned.append(run.run_id)
    return abandoned
