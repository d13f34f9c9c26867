"""Model training (one asset per family) and daily scoring: thin wrappers around ml/."""

import dagster as dg
import duckdb

from ml import registry, score, train
from orchestration.cadence import training_cutoffs
from orchestration.lookback import partition_rebuild_window
from orchestration.partitions import daily_partitions, window_dates
from orchestration.quality.scores import describe_violations, duplicate_score_keys, score_violations
from orchestration.resources import WAREHOUSE_POOL, current_home
from orchestration.retries import permanent_failures

TRAINING_INPUTS = [
    ["marts", "customer_features"],
    ["marts", "customer_daily_activity"],
    ["marts", "customer_category_daily"],
    ["staging", "stg_campaign_assignments"],
    ["staging", "stg_campaigns"],
]


class TrainingConfig(dg.Config):
    force: bool = False  # retrain as of the window's last day even when it is not a retrain day
    every_days: int = 7  # retrain cadence: anchor days counted from 1970-01-01 (weekly = Thursdays)
    max_trainings: int = 3  # at most this many cutoffs in one backfill window


def _has_champion(home, family: str) -> bool:
    return all(registry.champion_info(home.root, name) for name in registry.FAMILIES[family])


def _untrained_cutoffs(home, family: str, cutoffs: list) -> list:
    """Cutoffs later than every finished training of the family: re-running or backfilling a day
    reuses the versions trained so far instead of training again back in time."""
    done = registry.trained_cutoffs(home.root, family)
    latest = max(done) if done else ""
    return [c for c in cutoffs if c.isoformat() > latest]


def _training_asset(family: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=family,
        key_prefix=["models"],
        deps=TRAINING_INPUTS,
        partitions_def=daily_partitions(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="models",
        pool=WAREHOUSE_POOL,
        description=f"Trains {family} on retrain days (point in time), gates it against its baseline and champion in MLflow.",
    )
    def _train(context: dg.AssetExecutionContext, config: TrainingConfig) -> dg.MaterializeResult:
        home = current_home()
        registry.ensure_tracking(home.root)  # idempotent; `segments run` / `segments ui` create it up front
        discarded = registry.discard_incomplete_training(home.root, family)  # what a killed run left
        first, last = window_dates(*context.partition_time_window)
        cutoffs = training_cutoffs(first, last, every_days=config.every_days, max_trainings=config.max_trainings,
                                   has_champion=_has_champion(home, family), force=config.force)
        if not config.force:
            cutoffs = _untrained_cutoffs(home, family, cutoffs)
        with permanent_failures(f"training {family}"):
            outcomes = [train.train_family(family, home.warehouse, home.root, cutoff) for cutoff in cutoffs]
        return dg.MaterializeResult(metadata={**train_metadata(outcomes, cutoffs), "discarded_versions": discarded})

    return _train


def train_metadata(outcomes: list[dict], cutoffs) -> dict:
    if not outcomes:
        return {"trained": False, "why": "no retrain day in this window; the champion keeps serving"}
    latest = outcomes[-1]
    meta: dict = {"trained": True, "cutoffs": [c.isoformat() for c in cutoffs], "result": dg.MetadataValue.json(latest)}
    for model in latest.get("models", []):
        name = model.get("name", latest["family"])
        meta[f"{name}/version"] = str(model.get("version"))
        meta[f"{name}/promoted"] = bool(model.get("promoted"))
        meta[f"{name}/serve"] = str(model.get("serve"))
        meta[f"{name}/reason"] = str(model.get("reason", ""))
    return meta


training_assets = [_training_asset(family) for family in registry.FAMILIES]

SCORE_TABLES = ("customer_scores", "customer_clusters", "cluster_profiles")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=["marts", table],
            deps=[["marts", "customer_features"], *[a.key for a in training_assets]],
            group_name="scores",
        )
        for table in SCORE_TABLES
    ],
    partitions_def=daily_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[
        dg.AssetCheckSpec("scores_in_range", asset=["marts", "customer_scores"], blocking=True,
                          description="Probabilities in [0, 1], expected values >= 0, one row per customer and day."),
    ],
    pool=WAREHOUSE_POOL,
    name="score_customers",
    description="Scores every known customer for each day with the models served at that day (champion or baseline).",
)
def score_customers(context: dg.AssetExecutionContext):
    home = current_home()
    first, last = partition_rebuild_window(home, context.partition_time_window)  # + days late data corrected
    with permanent_failures(f"scoring {first}..{last}"):
        result = score.score_window(home.warehouse, home.root, first, last)
    served = dg.MetadataValue.json(result.get("served", {}))
    for table in SCORE_TABLES:
        yield dg.MaterializeResult(asset_key=["marts", table], metadata={"rows": result.get("rows", 0), "served": served})
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        violations = score_violations(con, first, last)
        violations["duplicate_customer_days"] = duplicate_score_keys(con, first, last)
    broken = {rule: n for rule, n in violations.items() if n}
    yield dg.AssetCheckResult(
        check_name="scores_in_range", asset_key=["marts", "customer_scores"], passed=not broken,
        description=describe_violations(broken, first, last),
        metadata={"violations": dg.MetadataValue.json(broken or {}), "rules_checked": len(violations)},
    )
