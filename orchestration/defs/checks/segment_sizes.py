"""Segment sizes against the day before (marts.segment_summary.size_change_flag, settings in segments.yml)."""

import dagster as dg
import duckdb

from orchestration.defs.checks.outcome import check_result
from orchestration.partitions import daily_partitions, window_dates
from orchestration.quality.segment_sizes import judge_segment_shifts, segment_history_days, segment_shifts
from orchestration.resources import REPO_ROOT, WAREHOUSE_POOL, current_home
from segmentation.rules import load_segments


@dg.asset_check(
    asset=["marts", "segment_summary"],
    blocking=True,
    partitions_def=daily_partitions(),
    pool=WAREHOUSE_POOL,
    description=(
        "Segments whose size moved beyond size_change_threshold (segments.yml) since the day before. "
        "WARN for any such move. Blocks the serving copy (ERROR) only for the day being published when "
        "inputs look broken: a segment of at least size_change_min_size members dropped to zero, or more "
        "than half of the segments big enough to be flagged (at least 4) moved at once, once the shop has "
        "7 days of segments (before that, WARN)."
    ),
)
def segment_sizes_stable(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    first, last = window_dates(*context.partition_time_window)
    settings = load_segments(REPO_ROOT / "segments.yml").settings
    with duckdb.connect(str(current_home().warehouse), read_only=True) as con:
        shifts, eligible = segment_shifts(con, first, last, settings.size_change_min_size)
        history_days = segment_history_days(con, last)
    verdict = judge_segment_shifts(shifts, eligible, last, min_size=settings.size_change_min_size,
                                   history_days=history_days)
    return check_result(verdict.outcome, verdict.reasons, {
        "shifted": dg.MetadataValue.json([s.as_dict() for s in verdict.shifts[-200:]]),
        "shifted_count": len(verdict.shifts),
        "threshold": settings.size_change_threshold, "min_size": settings.size_change_min_size,
        "history_days": history_days,
    })
