"""Landing files (external, written by the shop, importers or other systems) and their validated lake copy."""

import dagster as dg

from orchestration.partitions import daily_partitions, window_dates
from orchestration.resources import WAREHOUSE_POOL, current_home
from orchestration.retries import permanent_failures
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


def landed_files_by_day(report) -> dict[str, list[str]]:
    """Landing files a load read, per landing day. landing/events is external: Dagster judges its
    freshness policy by its last materialization only (observations do not count), so each loaded day
    is reported as one; a day whose files never arrived is not, and shows stale in the UI."""
    days: dict[str, list[str]] = {}
    for f in report.files:
        if f.partition and not f.partition.startswith("_"):  # "_quarantine": re-read importer files, no day
            days.setdefault(f.partition, []).append(f.source_file)
    return days


def _late_data_metadata(report) -> dict:
    """Late data of an events load; downstream steps of the window rebuild back to the corrected days."""
    return {
        "late_rows": report.late_rows,
        "reloaded_days": dg.MetadataValue.json(report.reloaded_days),
        "corrected_days": dg.MetadataValue.json(report.corrected_days),
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
    description="Validated events (contract v1), one folder per day; refused rows go to quarantine.events. "
                "Late events (up to SEGMENTS_LATE_DAYS) go to their own day; `corrected_days` are rebuilt downstream.",
)
def lake_events(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    first, last = window_dates(*context.partition_time_window)
    with permanent_failures(f"loading landing events {first}..{last}"):
        report = loader.load_events(current_home(), first, last)
    for day, files in landed_files_by_day(report).items():  # landing/* freshness is judged by these
        context.log_event(dg.AssetMaterialization(["landing", "events"], partition=day,
                                                  metadata={"files": dg.MetadataValue.json(files)}))
    unreconciled = [f.source_file for f in report.files if not f.reconciles]
    check = dg.AssetCheckResult(check_name="rows_reconcile", passed=report.reconciles,
                                metadata={"files_not_reconciling": dg.MetadataValue.json(unreconciled)})
    return dg.MaterializeResult(metadata={**_report_metadata(report), **_late_data_metadata(report)},
                                check_results=[check])

@dg.multi_asset(
    specs=[dg.AssetSpec(key=["lake", name], deps=[["landing", name]], group_name="ingest") for name in DIMENSIONS],
    pool=WAREHOUSE_POOL,
    description="Validated dimension files (customers, products, campaigns, assignments).",
)
def lake_dimensions(context: dg.AssetExecutionContext):
    with permanent_failures("loading landing dimensions"):
        report = loader.load_dimensions(current_home())
    for name in DIMENSIONS:
        yield dg.MaterializeResult(asset_key=["lake", name], metadata=_report_metadata(report.for_table(name)))
