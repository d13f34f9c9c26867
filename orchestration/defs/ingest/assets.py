"""Landing files (external, written by the shop, importers or other systems) and their validated lake copy."""

import dagster as dg

from orchestration.partitions import daily_partitions, window_dates
from orchestration.resources import WAREHOUSE_POOL, current_home
from shop import loader

DIMENSIONS = ("customers", "products", "campaigns", "campaign_assignments")

landing_events = dg.AssetSpec(
    key=["landing", "events"],
    description="Raw event files as delivered: landing/events/event_date=YYYY-MM-DD/*.parquet|csv|jsonl.",
    group_name="ingest",
    partitions_def=daily_partitions(),
)
landing_dimensions = [
    dg.AssetSpec(key=["landing", name], description=f"Raw {name} files: landing/{name}/*.", group_name="ingest")
    for name in DIMENSIONS
]

def _report_metadata(report) -> dict:
    return {
        "rows_read": report.read,
        "rows_accepted": report.accepted,
        "rows_quarantined": report.quarantined,
        "reconciles": report.reconciles,
        "quarantine_reasons": dg.MetadataValue.json(dict(report.reasons)),
        "files": len(report.files),
    }

@dg.asset(
    key=["lake", "events"],
    deps=[landing_events],
    partitions_def=daily_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingest",
    pool=WAREHOUSE_POOL,
    check_specs=[dg.AssetCheckSpec("rows_reconcile", asset=["lake", "events"], blocking=True,
                                   description="For every landing file: rows read = accepted + quarantined.")],
    description="Validated events (contract v1), one parquet per day; refused rows go to quarantine.events.",
)
def lake_events(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    first, last = window_dates(*context.partition_time_window)
    report = loader.load_events(current_home(), first, last)
    unreconciled = [f.source_file for f in report.files if not f.reconciles]
    check = dg.AssetCheckResult(check_name="rows_reconcile", passed=report.reconciles,
                                metadata={"files_not_reconciling": dg.MetadataValue.json(unreconciled)})
    return dg.MaterializeResult(metadata=_report_metadata(report), check_results=[check])

@dg.multi_asset(
    specs=[dg.AssetSpec(key=["lake", name], deps=[["landing", name]], group_name="ingest") for name in DIMENSIONS],
    pool=WAREHOUSE_POOL,
    description="Validated dimension files (customers, products, campaigns, assignments).",
)
def lake_dimensions(context: dg.AssetExecutionContext):
    report = loader.load_dimensions(current_home())
    for name in DIMENSIONS:
        yield dg.MaterializeResult(asset_key=["lake", name], metadata=_report_metadata(report.for_table(name)))
