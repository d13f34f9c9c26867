"""One freshness policy for what BI users read, applied to the whole code location in definitions.py."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

# A daily pipeline that runs at 02:00 UTC: a day late is a warning, a day and a half is a failure.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36), warn_window=timedelta(hours=26))

FRESH_DAILY_PREFIXES = (("lake", "events"), ("marts",))


def needs_daily_freshness(key: dg.AssetKey) -> bool:
    path = tuple(key.path)
    return any(path[: len(prefix)] == prefix for prefix in FRESH_DAILY_PREFIXES)


def with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.freshness_policy is None and needs_daily_freshness(spec.key):
        return spec.replace_attributes(freshness_policy=DAILY_FRESHNESS)
    return spec
