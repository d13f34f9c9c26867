"""When models retrain inside a partition window: pure functions, tested directly.

Retraining happens on anchor days (every `every_days` days counted from 1970-01-01, the same
anchors dbt keeps feature snapshots for), so a backfill over history trains on what was known at
each cutoff. A long backfill trains on at most `max_trainings` of them, evenly spread and always
including the last, to keep a first run affordable.
"""

from __future__ import annotations

from datetime import date, timedelta

EPOCH = date(1970, 1, 1)


def is_anchor(day: date, every_days: int) -> bool:
    if every_days < 1:
        raise ValueError("every_days must be >= 1")
    return (day - EPOCH).days % every_days == 0


def anchor_days(first: date, last: date, every_days: int) -> list[date]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if is_anchor(d, every_days)]


def spread(days: list[date], limit: int) -> list[date]:
    """At most `limit` of `days`, evenly spaced, always keeping the last."""
    if limit < 1:
        raise ValueError("limit must be >= 1")
    if len(days) <= limit:
        return list(days)
    step = (len(days) - 1) / (limit - 1) if limit > 1 else 0
    picked = {days[len(days) - 1 - round(i * step)] for i in range(limit)}
    return sorted(picked)


def training_cutoffs(
    first: date, last: date, *, every_days: int = 7, max_trainings: int = 3, has_champion: bool = True, force: bool = False
) -> list[date]:
    """Days in [first, last] on which to train, oldest first.

    - anchor days in the window (weekly by default), at most `max_trainings` of them;
    - `force` (a retrain asked for from the UI or CLI) trains as of the last day;
    - with no champion yet, the window's first day trains too, so every day of a first backfill is
      scored by something promoted by then (on a new shop that is the recorded baseline).
    """
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    cutoffs = set(spread(anchor_days(first, last, every_days), max_trainings)) if max_trainings else set()
    if not has_champion:
        cutoffs.add(first)
    if force:
        cutoffs.add(last)
    return sorted(cutoffs)
