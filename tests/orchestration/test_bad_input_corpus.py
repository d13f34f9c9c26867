"""The bad-input corpus through the lake/events Dagster asset: bad rows are quarantined and the blocking
reconciliation check passes; malformed files fail the run at once (no retry) naming the file and the fix."""

import importlib.util
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.partitions import range_tags
from orchestration.retries import RETRY_POLICY

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"
ASSETS = Path(__file__).resolve().parents[2] / "orchestration" / "defs" / "ingest" / "assets.py"
DAY, EMPTY_DAY, NO_FOLDER_DAY = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)
MALFORMED = ("missing_required_column.csv", "empty.csv", "truncated.parquet", "latin1.csv", "bad_json.jsonl",
             "no_columns.jsonl", "unsupported.txt")
ROW_LEVEL = sorted(p.name for p in BAD.iterdir() if p.suffix in {".csv", ".jsonl"} and p.name not in MALFORMED)
# what the issue lists, as the reasons the row-level files must produce (malformed files: see MALFORMED)
EXPECTED_REASONS = {
    "bad_price", "bad_quantity", "bad_event_ts", "future_event_ts", "unknown_event_type", "missing_event_type",
    "negative_price", "absurd_price", "absurd_quantity", "duplicate_event_id", "missing_identity",
    "missing_event_id", "event_ts_outside_partition", "too_late",
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_HOME", str(tmp_path))
    monkeypatch.setenv("SEGMENTS_PARTITIONS_START", "2024-02-01")
    monkeypatch.setenv("SEGMENTS_LATE_DAYS", "3")
    return tmp_path


def corpus_job() -> dg.JobDefinition:
    """lake/events as defined in the code location, built now (its partitions read this home's settings)."""
    spec = importlib.util.spec_from_file_location("ingest_assets_for_corpus", ASSETS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    job = dg.define_asset_job("corpus", selection=[module.lake_events.key], op_retry_policy=RETRY_POLICY)
    return dg.Definitions(assets=[module.lake_events], jobs=[job]).resolve_job_def("corpus")


def land(home: Path, names, day: date = DAY) -> None:
    folder = home / "landing" / "events" / f"event_date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(BAD / name, folder / name)


def run(job: dg.JobDefinition, first: date, last: date) -> dg.ExecuteInProcessResult:
    return job.execute_in_process(tags=range_tags(first, last), raise_on_error=False)


def test_the_corpus_is_quarantined_with_every_listed_reason_and_the_blocking_check_passes(home):
    land(home, ROW_LEVEL)
    (home / "landing" / "events" / f"event_date={EMPTY_DAY.isoformat()}").mkdir()  # a day with no files
    result = run(corpus_job(), DAY, NO_FOLDER_DAY)  # ... and a day with no folder at all
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "rows_reconcile" and check.passed

    [lake] = [e.materialization for e in result.get_asset_materialization_events()
              if e.materialization.asset_key == dg.AssetKey(["lake", "events"]) and e.materialization.partition == "2024-03-01"]
    meta = {k: v.value for k, v in lake.metadata.items()}
    assert meta["rows_read"] == meta["rows_accepted"] + meta["rows_quarantined"] > 0
    assert meta["files"] == len(ROW_LEVEL)
    assert set(meta["quarantine_reasons"]) >= EXPECTED_REASONS
    assert meta["late_rows"] == 2 and meta["corrected_days"] == ["2024-02-27", "2024-02-29"]

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        stored = con.execute("select count(*) from quarantine.events").fetchone()[0]
    lake = pl.read_parquet(home / "lake" / "events" / "*" / "*.parquet", hive_partitioning=False)
    assert stored == meta["rows_quarantined"] and lake.height == meta["rows_accepted"]
    assert lake.get_column("event_id").is_duplicated().sum() == 0  # nothing accepted twice
    for day in (EMPTY_DAY, NO_FOLDER_DAY):
        assert pl.read_parquet(home / "lake" / "events" / f"event_date={day}" / "part-0.parquet").height == 0


def test_a_malformed_file_fails_the_run_once_naming_the_file_and_what_to_fix(home):
    job = corpus_job()
    for name in MALFORMED:
        folder = home / "landing" / "events" / f"event_date={DAY.isoformat()}"
        shutil.rmtree(folder, ignore_errors=True)
        land(home, ["extra_columns.csv", name])
        result = run(job, DAY, DAY)
        assert not result.success, name
        events = [e.event_type_value for e in result.all_events]
        assert "STEP_UP_FOR_RETRY" not in events, f"{name}: a permanent failure was retried"
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        message = failure.step_failure_data.error.message
        assert f"event_date=2024-03-01/{name}" in message and "What to fix" in message, message
