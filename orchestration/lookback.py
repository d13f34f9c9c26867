"""The window a daily step rebuilds: its partitions, widened back to the earliest day late data corrected.

lake/events records, per loaded window, the earlier days it rewrote (shop/late_data.py); dbt, scores and
segments of the same window read that record here, so they rebuild those days too. Nothing else is
remembered between steps: the record is a file in the lake, and a re-run of the window reads it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from orchestration.partitions import window_dates
from shop.home import Home
from shop.late_data import corrections_path


def affected_window(first: date, last: date, corrected_days: Iterable[date], lookback_days: int) -> tuple[date, date]:
    """[first, last] extended back to the earliest corrected day. A load reaches back at most
    2 x lookback_days (a reloaded day up to lookback_days back may itself hold late events up to
    lookback_days older); a corrected day beyond that, or after `last`, is an error."""
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    if lookback_days < 0:
        raise ValueError(f"lookback_days must be >= 0, got {lookback_days}")
    earliest_possible = first - timedelta(days=2 * lookback_days)
    start = first
    for day in corrected_days:
        if day < earliest_possible or day > last:
            raise ValueError(
                f"corrected day {day} is outside {earliest_possible}..{last} "
                f"(window {first}..{last}, lookback {lookback_days} days)"
            )
        start = min(start, day)
    return start, last


def rebuild_window(home: Home, first: date, last: date) -> tuple[date, date]:
    """The days a downstream step of the partition window [first, last] must rebuild."""
    path = corrections_path(home.lake / "events", first, last)
    if not path.is_file():
        return first, last
    record = json.loads(path.read_text())
    days = [date.fromisoformat(d) for d in record["corrected_days"]]
    return affected_window(first, last, days, int(record["late_days"]))


def partition_rebuild_window(home: Home, time_window: tuple[datetime, datetime]) -> tuple[date, date]:
    """rebuild_window for a Dagster partition time window [start, end)."""
    return rebuild_window(home, *window_dates(*time_window))
