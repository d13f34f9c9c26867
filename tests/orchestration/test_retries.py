"""Transient failures are retried with backoff (also in-process); permanent ones fail at once, saying what to fix."""

import errno

import dagster as dg
import duckdb
import pytest

from orchestration.retries import RETRY_POLICY, is_transient, permanent_failure, permanent_failures
from shop.readers import MalformedFileError


def lock_error() -> duckdb.IOException:
    return duckdb.IOException('IO Error: Could not set lock on file "/h/warehouse.duckdb": Conflicting lock is held')


@pytest.mark.parametrize(
    "exc",
    [
        lock_error(),
        TimeoutError("read timed out"),
        ConnectionResetError("peer reset"),
        OSError(errno.EBUSY, "Device or resource busy"),
        RuntimeError("sqlite3.OperationalError: database is locked"),
        dg.Failure(description="dbt failed: Runtime Error\n  IO Error: Could not set lock on file"),
    ],
    ids=["duckdb-lock", "timeout", "connection", "ebusy", "mlflow-sqlite-lock", "dbt-lock"],
)
def test_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        MalformedFileError("landing/events/event_date=2024-03-01/x.parquet", "unreadable Parquet"),
        ValueError("SEGMENTS_LATE_DAYS must be a whole number of days >= 0, got 'x'"),
        KeyError("p_purchase_30d"),
        FileNotFoundError(errno.ENOENT, "No such file", "segments.yml"),
        duckdb.BinderException('Binder Error: Referenced column "price" not found'),
        dg.Failure(description="dbt failed: Compilation Error in model stg_events"),
        dg.Failure(description="could not set lock", allow_retries=False),
    ],
    ids=["malformed", "setting", "bug", "missing-config", "missing-column", "dbt-compile", "already-permanent"],
)
def test_permanent(exc):
    assert not is_transient(exc)


def test_the_cause_chain_counts():
    try:
        try:
            raise lock_error()
        except duckdb.IOException as inner:
            raise RuntimeError("publishing the serving copy failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def test_a_permanent_failure_names_the_step_and_what_to_fix():
    failure = permanent_failure("loading landing events 2024-03-01..2024-03-01",
                                MalformedFileError("landing/events/event_date=2024-03-01/x.parquet", "unreadable Parquet"))
    assert failure.allow_retries is False
    assert "loading landing events 2024-03-01..2024-03-01 failed permanently" in failure.description
    assert "What to fix: fix or remove the landing file landing/events/event_date=2024-03-01/x.parquet" in failure.description


def test_permanent_failures_lets_transient_errors_through_for_the_policy():
    with pytest.raises(duckdb.IOException):
        with permanent_failures("step"):
            raise lock_error()
    with pytest.raises(dg.Failure) as err:
        with permanent_failures("step"):
            raise ValueError("bad contract")
    assert err.value.allow_retries is False and "bad contract" in err.value.description


def test_the_policy_backs_off_exponentially_with_jitter():
    assert RETRY_POLICY.max_retries >= 2
    assert RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL and RETRY_POLICY.jitter == dg.Jitter.PLUS_MINUS


def test_every_job_carries_the_policy():
    from orchestration.definitions import defs

    jobs = [job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")]
    assert {"daily_pipeline", "retrain_models"} <= {job.name for job in jobs}
    for job in jobs:
        assert job.op_retry_policy == RETRY_POLICY, job.name


def _job(raise_on: list[BaseException], calls: list[int]) -> dg.JobDefinition:
    """A one-asset job (same policy shape as RETRY_POLICY, short delays) failing with `raise_on` in turn."""

    @dg.asset
    def flaky() -> int:
        calls.append(1)
        if len(calls) <= len(raise_on):
            with permanent_failures("flaky step"):
                raise raise_on[len(calls) - 1]
        return len(calls)

    policy = dg.RetryPolicy(max_retries=3, delay=0.05, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
    defs = dg.Definitions(assets=[flaky], jobs=[dg.define_asset_job("j", selection=[flaky], op_retry_policy=policy)])
    return defs.resolve_job_def("j")


def test_execute_in_process_retries_a_transient_failure_after_a_delay():
    calls: list[int] = []
    result = _job([lock_error(), TimeoutError("timed out")], calls).execute_in_process(raise_on_error=False)
    assert result.success and len(calls) == 3
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 2 and all(e.event_specific_data.seconds_to_wait > 0 for e in retries)


def test_execute_in_process_does_not_retry_a_permanent_failure():
    calls: list[int] = []
    bad = MalformedFileError("landing/events/event_date=2024-03-01/x.csv", "not valid UTF-8")
    result = _job([bad], calls).execute_in_process(raise_on_error=False)
    assert not result.success and len(calls) == 1
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "What to fix: fix or remove the landing file landing/events/event_date=2024-03-01/x.csv" in str(
        failure.step_failure_data.error.message
    )


def test_an_interrupted_step_stops_instead_of_being_retried():
    # without permanent_failures, Dagster retries a step interrupted by Ctrl-C or SIGTERM under a retry policy
    calls: list[int] = []
    result = _job([KeyboardInterrupt()], calls).execute_in_process(raise_on_error=False)
    assert not result.success and len(calls) == 1
    assert "STEP_UP_FOR_RETRY" not in [e.event_type_value for e in result.all_events]
