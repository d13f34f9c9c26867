"""Audience exports listed in exports.yml, and the read-only serving copy BI tools read."""

import dagster as dg

from activation import export_audience, publish_serving_copy
from orchestration.export_config import AudienceExport, load_exports
from orchestration.partitions import daily_partitions, window_dates
from orchestration.resources import REPO_ROOT, WAREHOUSE_POOL, current_home
from orchestration.retries import permanent_failures

SERVED_MARTS = [
    ["marts", name]
    for name in ("customer_segments", "segment_membership_history", "segment_transitions", "segment_summary",
                 "customer_scores", "customer_clusters", "cluster_profiles", "customer_features")
]


def _export_asset(export: AudienceExport) -> dg.AssetsDefinition:
    @dg.asset(
        name=export.asset_name,
        key_prefix=["exports"],
        deps=[["marts", "customer_segments"], ["marts", "customer_scores"]],
        partitions_def=daily_partitions(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="activation",
        pool=WAREHOUSE_POOL,
        description=f"Audience {export.segment!r} for {export.channel} ({export.format}), consent-filtered, with a control group.",
    )
    def _export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        _first, last = window_dates(*context.partition_time_window)
        with permanent_failures(f"exporting audience {export.asset_name}"):
            manifest = export_audience(current_home(), export.segment, last, export.format, channel=export.channel,
                                       control_share=export.control_share)
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(manifest.path)), "dagster/row_count": manifest.rows,
            "control_rows": manifest.control_rows, "excluded_no_consent": manifest.excluded_no_consent,
            "consent_filter": manifest.consent_filter, "sha256": manifest.sha256,
        })

    return _export


export_assets = [_export_asset(export) for export in load_exports(REPO_ROOT / "exports.yml")]


@dg.asset(
    key=["serving", "bi_copy"],
    deps=SERVED_MARTS,
    partitions_def=daily_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="activation",
    pool=WAREHOUSE_POOL,
    description="Atomically published read-only copy of the BI marts: serving/segments.duckdb (DuckDB 1.x readable) + Parquet.",
)
def bi_copy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    with permanent_failures("publishing the BI serving copy"):
        manifest = publish_serving_copy(current_home(), run_id=context.run_id)
    return dg.MaterializeResult(metadata={
        "tables": dg.MetadataValue.json({name: t.get("rows") for name, t in manifest["tables"].items()}),
        "missing": dg.MetadataValue.json(manifest.get("missing", [])),
        "bytes": manifest.get("bytes", 0), "seconds": round(manifest.get("seconds", 0.0), 3),
        "path": dg.MetadataValue.path(manifest["paths"]["duckdb"] if "paths" in manifest else ""),
    })
