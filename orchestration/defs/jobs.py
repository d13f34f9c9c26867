"""The daily pipeline job over every asset and its 02:00 schedule; the micro-batch job for today."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import daily_partitions, last_closed_day
from orchestration.retries import RETRY_POLICY

RUNNABLE = dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(["landing"])

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=RUNNABLE,
    partitions_def=daily_partitions(),
    op_retry_policy=RETRY_POLICY,
    description="Landing -> lake -> dbt staging/intermediate/marts for a daily partition range, as one run.",
)


# Not build_schedule_from_partitioned_job: it runs the partitions definition's last partition, which
# with end_offset=1 (today exists for the micro-batch) is today's open day, not yesterday's.
@dg.schedule(
    job=daily_pipeline,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    name="daily_pipeline_schedule",
    description="Closes yesterday (UTC) at 02:00: every asset for its partition. Models retrain on weekly "
    "anchor days (Thursdays, orchestration/cadence.py), so Friday's run retrains.",
)
def daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = last_closed_day(context.scheduled_execution_time).isoformat()
    return dg.RunRequest(run_key=day, partition_key=day)


MICRO_BATCH_JOB = "micro_batch"
SERVING_COPY = dg.AssetSelection.assets(dg.AssetKey(["serving", "bi_copy"]))
# Partitioned marts the micro-batch leaves to the daily run: neither features, scores nor segments
# read them, and they are the slowest models of a day (a 90-day co-purchase lookback; campaign windows).
DAILY_RUN_ONLY = dg.AssetSelection.assets(
    dg.AssetKey(["marts", "customer_recommendations"]),
    dg.AssetKey(["marts", "campaign_results"]),
    dg.AssetKey(["intermediate", "int_product_pairs_daily"]),
)
# The day's path from landing to the serving copy: no training, no dimension (reference) models.
DAILY_PATH = (
    dg.AssetSelection.assets(dg.AssetKey(["lake", "events"]))
    | (dg.AssetSelection.tag("partitioned", "") - DAILY_RUN_ONLY)
    | dg.AssetSelection.groups("scores", "segments")
    | SERVING_COPY
)

micro_batch = dg.define_asset_job(
    name=MICRO_BATCH_JOB,
    selection=DAILY_PATH,
    op_retry_policy=RETRY_POLICY,
    description="Today's partition from the landing files to the serving copy, started by the landing sensor: "
    "lake, partitioned dbt models (recommendations and campaign results wait for the daily run), scores "
    "with the served models, segments, serving copy.",
)

# Retrain every model family as of the chosen partition, whether or not it is a retrain day
# (the "retrain now" button: launch it from the UI for the last closed day; the newest partition is today, still open).
retrain_models = dg.define_asset_job(
    name="retrain_models",
    selection=dg.AssetSelection.groups("models"),
    partitions_def=daily_partitions(),
    op_retry_policy=RETRY_POLICY,
    config={
        "ops": {
            f"models__{family}": {"config": {"force": True}}
            for family in ("purchase_propensity", "churn_risk", "customer_lifetime_value", "discount_response",
                           "next_category", "behavioral_clusters")
        }
    },
    description="Retrain all model families as of the selected day (force), then the gate decides promotion.",
)
