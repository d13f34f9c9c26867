"""The daily partitioning every time-based asset shares, and pure helpers around it."""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from shop.home import Home

START_ENV = "SEGMENTS_PARTITIONS_START"
FALLBACK_START = date(2025, 1, 1)
_DAY_FOLDER = re.compile(r"^event_date=(\d{4}-\d{2}-\d{2})$")


def landing_days(landing_events: Path) -> list[date]:
    """Days that have a landing folder, sorted."""
    if not landing_events.is_dir():
        return []
    days = []
    for child in landing_events.iterdir():
        match = _DAY_FOLDER.match(child.name)
        if match and child.is_dir():
            days.append(date.fromisoformat(match.group(1)))
    return sorted(days)


def partitions_start(home: Home, env: dict[str, str] | None = None) -> date:
    """First daily partition: explicit setting, else the earliest landed day, else a fixed default."""
    env = os.environ if env is None else env
    if env.get(START_ENV):
        return date.fromisoformat(env[START_ENV])
    days = landing_days(home.landing / "events")
    return days[0] if days else FALLBACK_START


def daily_partitions(home: Home | None = None) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day, up to and including today (end_offset=1): the landing sensor's
    micro-batch builds today's partition while the day is still open."""
    start = partitions_start(home or Home.from_env())
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), end_offset=1)


def last_closed_day(moment: datetime) -> date:
    """The latest UTC day that had ended at `moment` (the day the 02:00 schedule closes)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no timezone")
    return moment.astimezone(timezone.utc).date() - timedelta(days=1)


def window_dates(start: datetime | date, end_exclusive: datetime | date) -> tuple[date, date]:
    """A Dagster time window [start, end) as inclusive dates [first, last]."""
    first = start.date() if isinstance(start, datetime) else start
    stop = end_exclusive.date() if isinstance(end_exclusive, datetime) else end_exclusive
    last = stop - timedelta(days=1)
    if last < first:
        raise ValueError(f"empty partition window {first}..{stop}")
    return first, last


# The dbt models built per daily window; the others are rebuilt whole.
PARTITIONED = "tag:partitioned"
# Unit tests check SQL logic against fixed inputs, not the day's data: CI runs them (tests/dbt), and
# leaving them out of scheduled builds saves seconds on every run.
SKIP_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


def dbt_build_args(first: date | None = None, last: date | None = None) -> list[str]:
    """`dbt build` arguments of a scheduled run: for a daily window first..last, or (no window) for
    the models rebuilt whole."""
    window = [] if first is None or last is None else ["--vars", json.dumps(dbt_window_vars(first, last))]
    return ["build", *SKIP_UNIT_TESTS, *window]


def dbt_window_environment(first: date | None = None, last: date | None = None) -> dict[str, str]:
    """The daily window as the environment dbt reads it from while executing (see the dbt macro
    window_setting): unlike --vars, a new window then keeps the parse of the run before valid.
    Without a window, both are set empty (none inherited from the caller's shell)."""
    window = dbt_window_vars(first, last) if first is not None and last is not None else {"min_date": "", "max_date": ""}
    return {f"SEGMENTS_DBT_{key.upper()}": value for key, value in window.items()}


def dbt_window_vars(first: date, last: date) -> dict[str, str]:
    """dbt --vars for a daily window, both ends inclusive."""
    if last < first:
        raise ValueError(f"max_date {last} is before min_date {first}")
    return {"min_date": first.isoformat(), "max_date": last.isoformat()}


def partition_keys(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def range_tags(first: date, last: date) -> dict[str, str]:
    """The tags Dagster uses for a single-run backfill of a partition range."""
    if last < first:
        raise ValueError(f"end {last} is before start {first}")
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
