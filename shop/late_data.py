"""Late data: the allowance setting, the per-day load manifest and the record of corrected days.

A landing day D may hold events dated up to `late_days` days before D (a file in today's folder with
yesterday's events); the loader writes them into the lake partition of their own date, as
lake/events/event_date=E/late-from-D.parquet, so re-loading D replaces exactly D's contribution.

A file may also land in an older day's folder after that day was loaded. Each loaded day keeps a
manifest (lake/events/event_date=D/_manifest.json: landing file names, sizes, SHA-256) so the next
load can tell which of the `late_days` days before its window changed and reload them.

Days before a load's window that the load rewrote are "corrected days"; they are recorded per window
in lake/events/_corrections/<first>_<last>.json (a union over every load of that window, written
before the lake files), so downstream steps of the same window rebuild them, even after a crash.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

LATE_DAYS_ENV = "SEGMENTS_LATE_DAYS"
DEFAULT_LATE_DAYS = 3
MANIFEST_FILE = "_manifest.json"
CORRECTIONS_DIR = "_corrections"
_LATE_FILE = re.compile(r"^late-from-(\d{4}-\d{2}-\d{2})\.parquet$")


def late_days_setting(env: Mapping[str, str] | None = None) -> int:
    """Days late an event may arrive and still be accepted: $SEGMENTS_LATE_DAYS, default 3 (0 = strict)."""
    env = os.environ if env is None else env
    raw = env.get(LATE_DAYS_ENV, "").strip()
    if not raw:
        return DEFAULT_LATE_DAYS
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{LATE_DAYS_ENV} must be a whole number of days >= 0, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{LATE_DAYS_ENV} must be a whole number of days >= 0, got {raw!r}")
    return value


def late_file_name(origin: date) -> str:
    """Lake file holding the events that landed in `origin`'s folder but are dated an earlier day."""
    return f"late-from-{origin.isoformat()}.parquet"


def late_file_origin(path: Path) -> date | None:
    """The landing day a late file came from; None for any other file."""
    match = _LATE_FILE.match(path.name)
    return date.fromisoformat(match.group(1)) if match else None


# -------------------------------------------------------------------------------------- day manifests


def fingerprint(files: Iterable[Path]) -> list[dict]:
    """Name, size and SHA-256 of each landing file, in the order given."""
    out = []
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        out.append({"name": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()})
    return out


def read_manifest(lake_day: Path) -> dict | None:
    path = lake_day / MANIFEST_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def write_json_atomically(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_manifest(lake_day: Path, day: date, files: list[dict], late_rows: Mapping[str, int]) -> None:
    write_json_atomically(
        lake_day / MANIFEST_FILE, {"day": day.isoformat(), "files": files, "late_rows": dict(sorted(late_rows.items()))}
    )


def landing_changed(lake_day: Path, own_file: str, files: list[dict]) -> bool:
    """True when a loaded day's landing files differ from those of its last load. A day never loaded
    (no `own_file` in its lake folder; late files from other days do not count) is not "changed":
    loading it is a backfill, not a correction. A loaded day without a manifest (a load that stopped
    before writing it, or a lake written before manifests) counts as changed, so it is reloaded once."""
    if not (lake_day / own_file).is_file():
        return False
    manifest = read_manifest(lake_day)
    return manifest is None or manifest.get("files") != files


# ------------------------------------------------------------------------------------ corrected days


def corrections_path(lake_events: Path, first: date, last: date) -> Path:
    return lake_events / CORRECTIONS_DIR / f"{first.isoformat()}_{last.isoformat()}.json"


def read_corrected_days(lake_events: Path, first: date, last: date) -> list[date]:
    """Days before `first` that loads of the window [first, last] rewrote (empty if none, or never loaded)."""
    path = corrections_path(lake_events, first, last)
    if not path.is_file():
        return []
    return [date.fromisoformat(d) for d in json.loads(path.read_text())["corrected_days"]]


def record_corrected_days(
    lake_events: Path, first: date, last: date, days: Iterable[date], late_days: int
) -> list[date]:
    """Add `days` to the window's record (a union: a re-run of the window keeps rebuilding them). The
    record keeps the largest allowance any of its loads used, which bounds how far back its days go."""
    path = corrections_path(lake_events, first, last)
    previous = json.loads(path.read_text()) if path.is_file() else {"corrected_days": [], "late_days": 0}
    known = {date.fromisoformat(d) for d in previous["corrected_days"]}
    wanted = known | set(days)
    if wanted != known:
        write_json_atomically(
            path,
            {"first": first.isoformat(), "last": last.isoformat(), "late_days": max(late_days, previous["late_days"]),
             "corrected_days": sorted(d.isoformat() for d in wanted)},
        )
    return sorted(wanted)
