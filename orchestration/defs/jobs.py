"""The daily pipeline job over every asset, and its schedule."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import daily_partitions

RUNNABLE = dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(["landing"])

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=RUNNABLE,
    partitions_def=daily_partitions(),
    description="Landing -> lake -> dbt staging/intermediate/marts for a daily partition range, as one run.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(daily_pipeline, hour_of_day=2, minute_of_hour=0)

# Retrain every model family as of the chosen partition, whether or not it is a retrain day
# (the "retrain now" button: launch it for the latest partition from the UI).
retrain_models = dg.define_asset_job(
    name="retrain_models",
    selection=dg.AssetSelection.groups("models"),
    partitions_def=daily_partitions(),
    config={
        "ops": {
            f"models__{family}": {"config": {"force": True}}
            for family in ("purchase_propensity", "churn_risk", "customer_lifetime_value", "discount_response",
                           "next_category", "behavioral_clusters")
        }
    },
    description="Retrain all model families as of the selected day (force), then the gate decides promotion.",
)
