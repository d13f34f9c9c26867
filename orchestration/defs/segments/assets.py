"""Dynamic segments from segments.yml: daily membership, history, transitions and summary."""

import dagster as dg

from orchestration.lookback import partition_rebuild_window
from orchestration.partitions import daily_partitions
from orchestration.resources import REPO_ROOT, WAREHOUSE_POOL, current_home
from orchestration.retries import permanent_failures
from segmentation.pipeline import build_segments_window

SEGMENT_TABLES = ("customer_segments", "segment_membership_history", "segment_transitions", "segment_summary",
                  "campaign_results_by_segment")
SEGMENTS_FILE = REPO_ROOT / "segments.yml"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=["marts", table],
            deps=[["marts", "customer_features"], ["marts", "customer_category_features"], ["marts", "customer_tag_features"],
                  ["marts", "customer_scores"], ["marts", "customer_clusters"], ["marts", "customer_daily_activity"],
                  ["staging", "stg_campaign_assignments"]],
            group_name="segments",
        )
        for table in SEGMENT_TABLES
    ],
    partitions_def=daily_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    name="segment_marts",
    description="Overlapping daily segment membership from segments.yml (rules and clusters), its history and moves.",
)
def segment_marts(context: dg.AssetExecutionContext):
    first, last = partition_rebuild_window(current_home(), context.partition_time_window)  # + days late data corrected
    with permanent_failures(f"segments {first}..{last}"):
        result = build_segments_window(current_home().warehouse, SEGMENTS_FILE, first, last)
    for table in SEGMENT_TABLES:
        yield dg.MaterializeResult(asset_key=["marts", table], metadata=result.metadata_for(table))
