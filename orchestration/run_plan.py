"""How a long CLI run is cut into consecutive runs, so a year of a big shop backfills in bounded memory.

A run's memory and time grow with the rows its window holds: the window's events, and a point-in-time
feature snapshot (and a score row) for every known customer on every day of the window. One run
therefore takes consecutive days while `events + known customers x days` stays within a row budget
(always at least one day). The known-customer count is re-read after each run, as the shop grows.
A 90-day backfill of the demo shop stays one run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from shop.loader import landing_files
from shop.readers import CSV_SUFFIXES, PARQUET_SUFFIXES

ROW_BUDGET_ENV = "SEGMENTS_RUN_ROW_BUDGET"
DEFAULT_ROW_BUDGET = 10_000_000
_READ_CHUNK = 1 << 24


def window_days(day_events: Sequence[int], known_customers: int, budget: int) -> int:
    """How many of the next days (their event counts, in order) one run takes: as many as keep
    events + known_customers x days within `budget`, at least one; 0 when no day is left."""
    if budget < 1:
        raise ValueError(f"row budget must be >= 1, got {budget}")
    if known_customers < 0 or any(events < 0 for events in day_events):
        raise ValueError("event and customer counts cannot be negative")
    taken, weight = 0, 0
    for events in day_events:
        weight += events + known_customers
        if taken and weight > budget:
            break
        taken += 1
    return taken


def windows(landing_events: Path, warehouse: Path, first: date, last: date,
            budget: int | None = None) -> Iterator[tuple[date, date]]:
    """The consecutive runs [first, last] is cut into, as (window_first, window_last). Lazy: each
    window is sized when asked for, after the caller has run the one before it, so it counts the
    customers that run added; a caller stops early by not asking for more."""
    budget = row_budget() if budget is None else budget
    events = events_by_day(landing_events, first, last)
    offset = 0
    while offset < len(events):
        taken = window_days(events[offset:], known_customers(warehouse), budget)
        window_first = first + timedelta(days=offset)
        yield window_first, window_first + timedelta(days=taken - 1)
        offset += taken


def row_budget(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    raw = env.get(ROW_BUDGET_ENV, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_ROW_BUDGET
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ROW_BUDGET_ENV} must be a positive whole number of rows, got {env[ROW_BUDGET_ENV]!r}")
    return int(raw)


def landed_events(day_folder: Path) -> int:
    """Rows delivered in one landing day folder: exact for Parquet (file metadata), an estimate from
    line counts for CSV (less the header) and JSON lines; 0 when the day has no folder."""
    total = 0
    for path in landing_files(day_folder):
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            try:
                total += pl.scan_parquet(path).select(pl.len()).collect().item()
            except (OSError, pl.exceptions.PolarsError):
                continue  # unreadable: the loader quarantines it with its reason
        else:
            lines = _line_count(path)
            total += max(0, lines - 1) if suffix in CSV_SUFFIXES else lines
    return total


def _line_count(path: Path) -> int:
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def events_by_day(landing_events: Path, first: date, last: date) -> list[int]:
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return [landed_events(landing_events / f"event_date={day.isoformat()}") for day in days]


def known_customers(warehouse: Path) -> int:
    """Customers (and still-anonymous visitors) in the warehouse's latest feature snapshot; 0 before
    the first run, or while another process writes the warehouse (the budget then counts events only)."""
    return latest_snapshot(warehouse)[1]


def latest_snapshot(warehouse: Path) -> tuple[date | None, int]:
    """(day, rows) of the latest `customer_features` snapshot; (None, 0) before the first run, or while
    another process writes the warehouse."""
    if not warehouse.exists():
        return None, 0
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException:
        return None, 0
    with con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'customer_features'"
        ).fetchone()[0]
        if not exists:
            return None, 0
        day, rows = con.execute(
            "select max(as_of_date), count(*) from marts.customer_features "
            "where as_of_date = (select max(as_of_date) from marts.customer_features)"
        ).fetchone()
        return day, rows
