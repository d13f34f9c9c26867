"""Long CLI runs are cut into consecutive runs by a row budget (orchestration/run_plan.py)."""

from datetime import date

import duckdb
import polars as pl
import pytest

from orchestration.run_plan import (
    DEFAULT_ROW_BUDGET,
    ROW_BUDGET_ENV,
    events_by_day,
    known_customers,
    latest_snapshot,
    landed_events,
    row_budget,
    window_days,
    windows,
)


def test_a_window_takes_days_while_events_and_customer_snapshots_fit_the_budget():
    assert window_days([100, 100, 100], known_customers=0, budget=250) == 2
    assert window_days([100, 100, 100], known_customers=50, budget=300) == 2  # 150 + 150 = 300 fits, a third day not
    assert window_days([100, 100, 100], known_customers=1_000, budget=250) == 1  # a day over budget still runs, alone
    assert window_days([5, 5], known_customers=0, budget=1_000) == 2
    assert window_days([], known_customers=10, budget=100) == 0


def test_days_without_events_still_count_their_customer_snapshots():
    assert window_days([0] * 10, known_customers=100, budget=500) == 5


@pytest.mark.parametrize("bad", [{"budget": 0}, {"known_customers": -1}])
def test_impossible_counts_are_refused(bad):
    kwargs = {"day_events": [1], "known_customers": 0, "budget": 10, **bad}
    with pytest.raises(ValueError):
        window_days(**kwargs)


def test_the_budget_comes_from_the_environment_with_a_clear_error():
    assert row_budget({}) == DEFAULT_ROW_BUDGET
    assert row_budget({ROW_BUDGET_ENV: "2_000_000"}) == 2_000_000
    for bad in ("ten", "-5", "0", "1.5"):
        with pytest.raises(ValueError, match=ROW_BUDGET_ENV):
            row_budget({ROW_BUDGET_ENV: bad})


def test_landed_events_counts_every_supported_format(tmp_path):
    day = tmp_path / "event_date=2026-01-02"
    day.mkdir()
    pl.DataFrame({"event_id": ["a", "b", "c"]}).write_parquet(day / "a.parquet")
    (day / "b.csv").write_text("event_id\nd\ne")  # no newline after the last row
    (day / "c.jsonl").write_text('{"event_id": "f"}\n')
    (day / ".hidden.csv").write_text("event_id\nx\n")
    (day / "broken.parquet").write_bytes(b"not parquet")  # the loader quarantines it; not counted here
    assert landed_events(day) == 3 + 2 + 1
    assert landed_events(tmp_path / "event_date=2026-01-03") == 0
    assert events_by_day(tmp_path, date(2026, 1, 1), date(2026, 1, 3)) == [0, 6, 0]


def test_known_customers_are_the_latest_snapshot(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    assert known_customers(warehouse) == 0
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
    assert known_customers(warehouse) == 0  # no feature table yet
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table marts.customer_features (customer_id varchar, as_of_date date)")
        con.execute("insert into marts.customer_features values ('a', '2026-01-01'), ('a', '2026-01-02'), "
                    "('b', '2026-01-02'), ('c', '2026-01-02'), ('d', '2026-01-01')")
    assert known_customers(warehouse) == 3
    assert latest_snapshot(warehouse) == (date(2026, 1, 2), 3)


def test_windows_are_sized_one_after_the_other_with_the_customers_each_run_added(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    for day, rows in (("2026-01-01", 40), ("2026-01-02", 40), ("2026-01-03", 40), ("2026-01-05", 10)):
        (landing / f"event_date={day}").mkdir(parents=True)
        pl.DataFrame({"event_id": [str(i) for i in range(rows)]}).write_parquet(landing / f"event_date={day}" / "e.parquet")
    plan = windows(landing, warehouse, date(2026, 1, 1), date(2026, 1, 5), budget=100)
    assert next(plan) == (date(2026, 1, 1), date(2026, 1, 2))  # no customers yet: 40 + 40 fit, 120 not
    with duckdb.connect(str(warehouse)) as con:  # the first run knows 30 customers
        con.execute("create schema marts")
        con.execute("create table marts.customer_features as "
                    "select 'c' || range as customer_id, date '2026-01-02' as as_of_date from range(30)")
    assert list(plan) == [(date(2026, 1, 3), date(2026, 1, 4)),  # (40 + 30) + (0 + 30) = 100 fits
                          (date(2026, 1, 5), date(2026, 1, 5))]
    assert list(windows(landing, warehouse, date(2026, 1, 6), date(2026, 1, 5), budget=100)) == []


@pytest.mark.slow
def test_a_range_split_into_several_runs_builds_the_same_tables_as_one_run(clean_reference, tmp_path, monkeypatch):
    from tests.fingerprint import assert_same_tables, home_fingerprint
    from tests.orchestration.conftest import REFERENCE_SHOP, registry_listing, run_cli

    _, reference, versions = clean_reference
    home = tmp_path / "home"
    run_cli(home, "generate", *REFERENCE_SHOP)
    monkeypatch.setenv(ROW_BUDGET_ENV, "7000")  # ~620 events a day of 300 customers: 11 days, then 3
    result = run_cli(home, "run", "--all")
    runs = [line for line in result.stdout.splitlines() if line.startswith("run ")]
    assert len(runs) >= 2, result.stdout
    assert_same_tables(reference, home_fingerprint(home), "a range run as several runs")
    assert registry_listing(home) == versions
