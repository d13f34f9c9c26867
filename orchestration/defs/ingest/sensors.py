"""Landing-zone sensor: new or rewritten event files for today start a micro-batch run of today's partition.

The cursor holds what the last tick saw in today's folder (file name -> size and mtime), so a tick
with nothing new requests nothing and a file rewritten in place is picked up again. Files whose
name starts with "." or "_" are ignored, as the loader ignores them: write under such a name and
rename when complete, or a run may read a half-written file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import dagster as dg

from orchestration.defs.jobs import MICRO_BATCH_JOB
from orchestration.resources import current_home

TICK_SECONDS = 5  # the daemon evaluates sensors at most every 5 s anyway

FileState = tuple[int, int]  # size in bytes, mtime in nanoseconds


def scan_folder(folder: Path) -> dict[str, FileState]:
    """Delivered files of one landing folder (a day of events, or a dimension), by name (hidden and "_" files
    skipped, as the loader does)."""
    if not folder.is_dir():
        return {}
    files = {}
    for path in folder.iterdir():
        if path.name.startswith((".", "_")) or not path.is_file():
            continue
        stat = path.stat()
        files[path.name] = (stat.st_size, stat.st_mtime_ns)
    return files


def encode_cursor(day: date, files: dict[str, FileState]) -> str:
    return json.dumps({"day": day.isoformat(), "files": {name: list(state) for name, state in sorted(files.items())}})


def decode_cursor(cursor: str | None, day: date) -> dict[str, FileState]:
    """Files the cursor saw for `day`; a cursor from another day (or none) saw nothing of it."""
    if not cursor:
        return {}
    data = json.loads(cursor)
    if data.get("day") != day.isoformat():
        return {}
    return {name: (int(size), int(mtime)) for name, (size, mtime) in data.get("files", {}).items()}


def changed_files(seen: dict[str, FileState], current: dict[str, FileState]) -> list[str]:
    """Files that are new, or whose size or mtime differ from what was seen, sorted by name."""
    return sorted(name for name, state in current.items() if seen.get(name) != state)


def run_key(day: date, files: dict[str, FileState]) -> str:
    """One key per state of the day's folder: the same files never start two runs, even if the cursor is lost."""
    digest = hashlib.sha256(encode_cursor(day, files).encode()).hexdigest()[:16]
    return f"{day.isoformat()}:{digest}"


@dataclass(frozen=True)
class TickDecision:
    cursor: str
    changed: list[str]
    run_key: str | None  # None: nothing to run


def decide(cursor: str | None, day: date, current: dict[str, FileState]) -> TickDecision:
    changed = changed_files(decode_cursor(cursor, day), current)
    return TickDecision(encode_cursor(day, current), changed, run_key(day, current) if changed else None)


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


@dg.sensor(
    job_name=MICRO_BATCH_JOB,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New or changed event files under landing/events/event_date=<today UTC>/ -> a micro_batch run "
    "for today's partition (lake -> dbt -> scores -> segments -> serving copy).",
)
def landing_events_sensor(context: dg.SensorEvaluationContext):
    day = utc_today()
    decision = decide(context.cursor, day, scan_folder(current_home().landing_events_day(day.isoformat())))
    context.update_cursor(decision.cursor)
    if decision.run_key is None:
        return dg.SkipReason(f"no new or changed event files for {day}")
    return dg.RunRequest(
        run_key=decision.run_key,
        partition_key=day.isoformat(),
        tags={"segments/changed_files": ",".join(decision.changed)[:1000]},
    )
