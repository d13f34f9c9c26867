"""Run the daily pipeline for a partition range in this process, on the instance under the home."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import date

import dagster as dg

from orchestration.environment import configure_process
from orchestration.partitions import range_tags
from orchestration import run_plan
from orchestration.recovery import LAUNCHER, LAUNCHER_TAG, exclusive_cli_run, fail_abandoned_runs
from ml.registry import ensure_tracking
from orchestration.resources import ensure_dbt_manifest
from shop.home import Home

JOB_NAME = "daily_pipeline"
# Step starts, successes, failures and asset materializations: progress without the engine's debug chatter.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@dataclass
class RunSummary:
    run_id: str
    success: bool
    seconds: float
    first: date
    last: date
    steps: list[str] = field(default_factory=list)


def run_range(first: date, last: date, home: Home | None = None) -> RunSummary:
    home = configure_process(home)
    ensure_dbt_manifest()
    ensure_tracking(home.root)  # once, before any step: concurrent creation corrupts the MLflow store
    from orchestration.definitions import defs  # after the environment is set: partitions read the home

    job = defs.resolve_job_def(JOB_NAME)
    started = time.monotonic()
    with exclusive_cli_run(home.dagster_home), dg.DagsterInstance.get() as instance:
        for run_id in fail_abandoned_runs(instance):
            print(f"run {run_id} was left unfinished by a process that died: marked failed, its pool slots freed",
                  file=sys.stderr)
        result = job.execute_in_process(
            instance=instance, tags={**range_tags(first, last), LAUNCHER_TAG: LAUNCHER}, run_config=QUIET_LOGS,
            raise_on_error=False,
        )
    steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS" and e.step_key]
    if not result.success:
        failure = next((e for e in result.all_events if e.event_type_value == "STEP_FAILURE"), None)
        message = failure.message if failure else "run failed"
        print(f"run {result.run_id} failed: {message}", file=sys.stderr)
    return RunSummary(result.run_id, result.success, time.monotonic() - started, first, last, steps)


def run_in_windows(first: date, last: date, home: Home | None = None,
                   started: Callable[[date, date], None] | None = None,
                   finished: Callable[[RunSummary], None] | None = None) -> list[RunSummary]:
    """Run [first, last] as consecutive runs sized by orchestration.run_plan; stops at the first failure."""
    home = configure_process(home)
    summaries: list[RunSummary] = []
    for window_first, window_last in run_plan.windows(home.landing / "events", home.warehouse, first, last):
        if started:
            started(window_first, window_last)
        summaries.append(run_range(window_first, window_last, home))
        if finished:
            finished(summaries[-1])
        if not summaries[-1].success:
            break
    return summaries
