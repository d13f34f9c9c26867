"""Late data end to end through Dagster and dbt: days 1..10 run, late files land for day 8 (in day 8's folder,
in day 10's folder and, for day 9, in day 11's folder), day 11 runs: every warehouse table equals a clean run
over all the data."""

import math
from datetime import date, timedelta
from pathlib import Path
import shutil

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.partitions import range_tags
from shop.home import Home
from shop.simulator import generate
from tests.orchestration.conftest import table_snapshot

pytestmark = pytest.mark.slow

START = date(2026, 1, 5)
D8, D9, D10, D11 = (START + timedelta(days=k) for k in (7, 8, 9, 10))


def day_file(landing: Path, day: date, name: str = "events.parquet") -> Path:
    return landing / "events" / f"event_date={day.isoformat()}" / name


def split_off(landing: Path, day: date, shares: dict[str, tuple[float, float]]) -> dict[str, pl.DataFrame]:
    """Cut slices of `day`'s generated events out of its file (by row position share), returned by name."""
    path = day_file(landing, day)
    events = pl.read_parquet(path)
    n = events.height
    parts = {name: events[int(a * n): int(b * n)] for name, (a, b) in shares.items()}
    taken = pl.concat(list(parts.values())).get_column("event_id")
    events.filter(~pl.col("event_id").is_in(taken.implode())).write_parquet(path)
    return parts


def build_landing(root: Path) -> dict[Path, pl.DataFrame]:
    """A small shop; returns the late files (path under landing -> rows) kept out of it for now."""
    generate(Home(root), customers=60, days=11, start=START, seed=3)
    landing = root / "landing"
    day8 = split_off(landing, D8, {"in_day8_folder": (0.2, 0.4), "in_day10_folder": (0.6, 0.8)})
    day9 = split_off(landing, D9, {"in_day11_folder": (0.5, 0.7)})
    return {
        day_file(landing, D8, "late_delivery.parquet"): day8["in_day8_folder"],
        day_file(landing, D10, "late_from_day8.parquet"): day8["in_day10_folder"],
        day_file(landing, D11, "late_from_day9.parquet"): day9["in_day11_folder"],
    }


def run(first: date, last: date) -> dg.ExecuteInProcessResult:
    from orchestration.resources import ensure_dbt_manifest

    ensure_dbt_manifest()  # before the dbt assets read it
    from orchestration.defs.dbt.assets import dbt_daily_models, dbt_reference_models
    from orchestration.defs.ingest.assets import lake_dimensions, lake_events
    from orchestration.resources import dbt_cli

    result = dg.materialize(
        [lake_events, lake_dimensions, dbt_reference_models, dbt_daily_models],
        resources={"dbt": dbt_cli()}, tags=range_tags(first, last), raise_on_error=False,
    )
    failures = [e.step_failure_data.error for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success, [(f.message, f.cause.message if f.cause else "") for f in failures]
    return result


def warehouse_tables(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts') order by all").fetchall()]
        quarantine = con.execute("select * exclude (loaded_at) from quarantine.events order by all").fetchall()
    return {"quarantine.events": quarantine} | {name: table_snapshot(warehouse, name) for name in names}


def same_rows(a: list[tuple], b: list[tuple]) -> bool:
    """Equal, floats up to summation order (DuckDB's parallel sums may differ in the last bit)."""
    def close(x, y) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(x) and math.isnan(y))
        return x == y
    return len(a) == len(b) and all(len(r) == len(q) and all(map(close, r, q)) for r, q in zip(a, b))


def day_activity(warehouse: Path, day: date) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select * from marts.customer_daily_activity where activity_date = ? order by all",
                           [day]).fetchall()


def test_late_files_correct_their_days_to_what_a_clean_run_gives(tmp_path, monkeypatch, fresh_definitions):
    monkeypatch.setenv("SEGMENTS_LATE_DAYS", "3")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    late, clean = tmp_path / "late", tmp_path / "clean"
    late_files = build_landing(late)

    shutil.copytree(late, clean)
    for path, rows in late_files.items():
        target = clean / path.relative_to(late)
        target.parent.mkdir(parents=True, exist_ok=True)
        rows.write_parquet(target)

    monkeypatch.setenv("SEGMENTS_HOME", str(late))
    run(START, D10)
    before = day_activity(late / "warehouse.duckdb", D8)
    for path, rows in late_files.items():  # the late deliveries arrive after day 10 was processed
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.write_parquet(path)
    result = run(D11, D11)
    lake_meta = next(m.materialization.metadata for m in result.get_asset_materialization_events()
                     if m.materialization.asset_key == dg.AssetKey(["lake", "events"]))
    assert lake_meta["reloaded_days"].value == [D8.isoformat(), D10.isoformat()]
    assert lake_meta["corrected_days"].value[0] == D8.isoformat()
    assert lake_meta["reconciles"].value is True

    monkeypatch.setenv("SEGMENTS_HOME", str(clean))
    run(START, D11)

    after = day_activity(late / "warehouse.duckdb", D8)
    assert not same_rows(after, before), "the late events did not reach day 8's marts"
    assert same_rows(after, day_activity(clean / "warehouse.duckdb", D8))
    corrected, reference = warehouse_tables(late / "warehouse.duckdb"), warehouse_tables(clean / "warehouse.duckdb")
    assert corrected.keys() == reference.keys() and "marts.customer_daily_activity" in corrected
    differ = [table for table in reference if not same_rows(corrected[table], reference[table])]
    assert differ == [], f"differ from a clean run: {differ}"
