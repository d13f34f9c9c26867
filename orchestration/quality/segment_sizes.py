"""Segment size shifts against the day before (marts.segment_summary) and when they block publishing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb


@dataclass(frozen=True)
class SegmentShift:
    as_of_date: date
    segment: str
    size: int
    previous_size: int
    size_change: float | None  # relative; None when the segment grew from zero

    def as_dict(self) -> dict:
        return {"day": self.as_of_date.isoformat(), "segment": self.segment, "size": self.size,
                "previous_size": self.previous_size,
                "size_change": None if self.size_change is None else round(self.size_change, 4)}


@dataclass(frozen=True)
class ShiftVerdict:
    outcome: str  # pass | warn | fail
    reasons: list[str]
    shifts: list[SegmentShift]


def segment_history_days(con: duckdb.DuckDBPyConnection, before: date) -> int:
    """Days of segment_summary before `before`: how much baseline the size check has."""
    return int(con.execute("select count(distinct as_of_date) from marts.segment_summary where as_of_date < ?",
                           [before]).fetchone()[0])


def segment_shifts(con: duckdb.DuckDBPyConnection, first: date, last: date,
                   min_size: int) -> tuple[list[SegmentShift], dict[date, int]]:
    """Flagged rows of marts.segment_summary in [first, last], and per day how many segments were big
    enough to be flagged (at least `min_size` members on that day or the day before)."""
    flagged = con.execute(
        "select as_of_date, segment, size, previous_size, size_change from marts.segment_summary "
        "where as_of_date between ? and ? and size_change_flag order by as_of_date, segment", [first, last]).fetchall()
    eligible = con.execute(
        "select as_of_date, count(*) from marts.segment_summary where as_of_date between ? and ? "
        "and previous_size is not null and greatest(size, previous_size) >= ? group by 1", [first, last, min_size]).fetchall()
    return [SegmentShift(*row) for row in flagged], {day: int(n) for day, n in eligible}


def judge_segment_shifts(shifts: list[SegmentShift], eligible_by_day: dict[date, int], last: date, *,
                         min_size: int, mass_shift_share: float = 0.5, min_segments: int = 4,
                         history_days: int | None = None, min_history_days: int = 7) -> ShiftVerdict:
    """Blocking (fail) only on the window's last day, the one being published, when the inputs look
    broken: a segment of at least `min_size` members dropped to zero, or more than `mass_shift_share`
    of the segments big enough to be flagged (and at least `min_segments` of them) moved at once.
    Any other flagged move, and every move on an earlier day of a backfill, is a warning. So is every
    move of a shop with fewer than `min_history_days` days of segments before `last`: in its first days
    segments fill up from nothing and move together by nature (a new shop would never publish)."""
    today = [s for s in shifts if s.as_of_date == last]
    reasons = [f"{s.segment} dropped from {s.previous_size} members to 0 on {last}"
               for s in today if s.size == 0 and s.previous_size >= min_size]
    eligible = eligible_by_day.get(last, 0)
    if eligible >= min_segments and len(today) > mass_shift_share * eligible:
        reasons.append(f"{len(today)} of {eligible} segments moved beyond the threshold at once on {last} "
                       f"(more than {mass_shift_share:.0%}): inputs look broken")
    if reasons and history_days is not None and history_days < min_history_days:
        return ShiftVerdict("warn", [f"{r} (not blocking: only {history_days} day(s) of segments before it, "
                                     f"fewer than {min_history_days})" for r in reasons], shifts)
    if reasons:
        return ShiftVerdict("fail", reasons, shifts)
    if shifts:
        days = sorted({s.as_of_date for s in shifts})
        return ShiftVerdict("warn", [f"{len(shifts)} segment-day(s) moved beyond the threshold on "
                                     f"{len(days)} day(s), latest {days[-1]}"], shifts)
    return ShiftVerdict("pass", [], shifts)
