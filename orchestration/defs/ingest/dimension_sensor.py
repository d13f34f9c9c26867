"""Records the arrival of dimension files (customers, products, campaigns, assignments) as materializations
of the external landing/<name> assets, so their weekly FreshnessPolicy evaluates in the UI.

Dagster judges an external asset's freshness by its last materialization; nothing runs when a customers
file lands (the 02:00 pipeline loads it), so this sensor is what says "a new file arrived". It starts no
run. A file counts as an arrival when it is new or rewritten since the last tick and was written within
the freshness fail window: an old file the sensor sees for the first time (a fresh Dagster instance over
an old landing zone) is not a delivery, and must not make a stale dimension look fresh.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import dagster as dg

from orchestration.defs.ingest.assets import DIMENSIONS
from orchestration.defs.ingest.sensors import FileState, changed_files, scan_folder
from orchestration.policies import WEEKLY_FRESHNESS_FAIL
from orchestration.resources import current_home

TICK_SECONDS = 60


def encode_dimension_cursor(seen: dict[str, dict[str, FileState]]) -> str:
    return json.dumps({name: {f: list(s) for f, s in sorted(files.items())} for name, files in sorted(seen.items())})


def decode_dimension_cursor(cursor: str | None) -> dict[str, dict[str, FileState]]:
    if not cursor:
        return {}
    return {name: {f: (int(size), int(mtime)) for f, (size, mtime) in files.items()}
            for name, files in json.loads(cursor).items()}


def arrivals(seen: dict[str, FileState], current: dict[str, FileState], now: datetime,
             max_age: timedelta) -> list[str]:
    """Files new or rewritten since `seen` whose modification time is within `max_age` of `now`."""
    oldest_ns = int((now - max_age).timestamp() * 1e9)
    return [name for name in changed_files(seen, current) if current[name][1] >= oldest_ns]


def arrival_event(name: str, files: list[str], current: dict[str, FileState]) -> dg.AssetMaterialization:
    newest_ns = max(current[f][1] for f in files)
    return dg.AssetMaterialization(["landing", name], metadata={
        "new_files": dg.MetadataValue.json(files),
        "newest_file_written": dg.MetadataValue.timestamp(newest_ns / 1e9),
    })


@dg.sensor(
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records new dimension files under landing/<customers|products|campaigns|campaign_assignments>/ "
    "as materializations of landing/<name>, which their weekly freshness policy is judged by. Starts no run.",
)
def landing_dimensions_sensor(context: dg.SensorEvaluationContext):
    home, now = current_home(), datetime.now(timezone.utc)
    seen = decode_dimension_cursor(context.cursor)
    current = {name: scan_folder(home.landing / name) for name in DIMENSIONS}
    events = []
    for name in DIMENSIONS:
        new = arrivals(seen.get(name, {}), current[name], now, WEEKLY_FRESHNESS_FAIL)
        if new:
            events.append(arrival_event(name, new, current[name]))
    context.update_cursor(encode_dimension_cursor(current))
    if not events:
        return dg.SkipReason("no new dimension files")
    return dg.SensorResult(asset_events=events)
