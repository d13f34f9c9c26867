"""Freshness policies (daily for landing events, the lake, marts and the serving copy; weekly for landing
dimension files), applied to the whole code location in definitions.py."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

# A daily pipeline that runs at 02:00 UTC: a day late is a warning, a day and a half is a failure.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36), warn_window=timedelta(hours=26))

# Dimension files (customers, products, campaigns) arrive as snapshots when they change, not daily.
WEEKLY_FRESHNESS_FAIL = timedelta(days=14)
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=WEEKLY_FRESHNESS_FAIL, warn_window=timedelta(days=8))

# landing/* are external assets: Dagster judges freshness by their last *materialization* (observations
# do not count). The events loader reports one per landed day; landing_dimensions_sensor one per
# delivery of dimension files.
# marts/* holds every mart the BI serving copy publishes (activation SERVED_MARTS); serving/bi_copy is
# the copy BI tools actually read.
FRESH_DAILY_PREFIXES = (("landing", "events"), ("lake", "events"), ("marts",), ("serving",))
FRESH_WEEKLY_PREFIXES = (("landing",),)


def _matches(key: dg.AssetKey, prefixes) -> bool:
    path = tuple(key.path)
    return any(path[: len(prefix)] == prefix for prefix in prefixes)


def needs_daily_freshness(key: dg.AssetKey) -> bool:
    return _matches(key, FRESH_DAILY_PREFIXES)


def freshness_for(key: dg.AssetKey) -> dg.FreshnessPolicy | None:
    if needs_daily_freshness(key):
        return DAILY_FRESHNESS
    if _matches(key, FRESH_WEEKLY_PREFIXES):
        return WEEKLY_FRESHNESS
    return None


def with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    policy = freshness_for(spec.key)
    if spec.freshness_policy is None and policy is not None:
        return spec.replace_attributes(freshness_policy=policy)
    return spec
