"""Feature and score drift of the published day against the served champions' training data (PSI)."""

import dagster as dg
import duckdb

from ml import registry
from ml.drift import FAIL_PSI, WARN_PSI
from orchestration.defs.checks.outcome import check_result
from orchestration.partitions import daily_partitions, window_dates
from orchestration.quality.drift import champion_cutoffs, drift_against_training, drift_verdict
from orchestration.resources import WAREHOUSE_POOL, current_home


@dg.asset_check(
    asset=["marts", "customer_scores"],
    additional_deps=[["marts", "customer_features"]],
    partitions_def=daily_partitions(),
    pool=WAREHOUSE_POOL,
    description=(
        "Population stability index of the window's last day against the point-in-time rows at the served "
        f"champions' training cutoff: windowed features, rates and shares (not lifetime totals or ages, which grow with time) and every score column. PSI >= {FAIL_PSI} fails (ERROR), "
        f"{WARN_PSI}-{FAIL_PSI} warns. Not blocking: drift is a change in the shop, not broken data; the "
        "scores are still the served models' honest output, and weekly retraining answers it."
    ),
)
def drift_against_training_data(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    _first, last = window_dates(*context.partition_time_window)
    home = current_home()
    cutoffs = champion_cutoffs(registry.list_versions(home.root))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        report = drift_against_training(con, cutoffs, last)
    outcome, failing, warning = drift_verdict(report)
    reasons = [f"{len(failing)} column(s) with PSI >= {FAIL_PSI}: {', '.join(sorted(failing))}"] if failing else []
    if warning:
        reasons.append(f"{len(warning)} column(s) with PSI in [{WARN_PSI}, {FAIL_PSI}): {', '.join(sorted(warning))}")
    return check_result(outcome, reasons, {
        "psi_features": dg.MetadataValue.json(report["features"]),
        "psi_scores": dg.MetadataValue.json(report["scores"]),
        "reference_days": dg.MetadataValue.json(report["reference_days"]),
        "day": report["day"],
    })
