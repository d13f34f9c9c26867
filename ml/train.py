"""Train one model family end to end: build the point-in-time set, fit, evaluate against the baseline
and the current champion on the same test split, log to MLflow, gate, promote.

`train_family(family, warehouse_path, home, as_of, config)` returns JSON-able metadata; call
`ml.registry.ensure_tracking(home)` once before running families in parallel.
"""

from __future__ import annotations

import copy
import math
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

from ml import metrics as M
from ml import plots, registry, warehouse
from ml.boosting import BoosterParams
from ml.clustering import BehavioralClustering, RuleSegments
from ml.fallbacks import BGNBDValue, ConstantUplift, RFMScore, TopCategory
from ml.gates import (Decision, SmallShopThresholds, check_sufficiency, decide_promotion, decide_threshold,
                      small_shop_decision)
from ml.lifetime_value import TARGET_HORIZON_DAYS, HurdleLifetimeValue
from ml.next_category import DEFAULT_BOOSTER as NEXT_CATEGORY_BOOSTER
from ml.next_category import OTHER, NextCategoryModel, encode_labels, top_classes
from ml.propensity import (CHURN_HORIZON_DAYS, ChurnRisk, PurchasePropensity, churn_rows, churn_target,
                           purchase_target)
from ml.training_sets import (InsufficientHistory, SplitPlan, category_training_set, fingerprint,
                              plan_time_split, purchase_training_set, split_frames)
from ml.uplift import LEARNERS, split_by_send_date, uplift_training_set

FAMILIES = tuple(registry.FAMILIES)

DEFAULT_CONFIG: dict[str, Any] = {
    "horizons": [7, 30, 90],
    "booster": {},
    "small_shop": {},
    "split": {"n_train": 6, "n_valid": 1, "n_test": 1, "min_spacing_days": 7, "embargo": "auto"},
    "max_rows_per_cutoff": 250_000,
    # whole training set (train + validation + test cutoffs) of one model: a larger shop gets an equal
    # hash sample of customers per cutoff, so training time stops growing with the shop's size
    "max_training_rows": 400_000,
    "tolerance": 0.005,
    "min_gain_over_baseline": 0.0,
    "gate_metric": {
        "purchase_propensity": ("roc_auc", True),
        "churn_risk": ("roc_auc", True),
        "customer_lifetime_value": ("normalized_gini", True),
        "discount_response": ("qini", True),
        "next_category": ("accuracy", True),
        "behavioral_clusters": ("silhouette", True),
    },
    "lifetime_value": {"label_horizons": [365, 270, 180, 120, 90, 60], "min_label_days": 60},
    # outcome: a purchase in the 7 days after the send day (the day of the send is partly before it);
    # learner: linear, t, x, or auto (the best validation Qini among them)
    "discount_response": {"outcome_days": 7, "outcome_offset_days": 1, "discount_only": True, "learner": "linear"},
    # one tree per class per round: a 9-class model costs ~9 binary ones, so a smaller cap
    "next_category": {"top_k": 8, "horizon_days": 30, "max_training_rows": 150_000},
    "behavioral_clusters": {"method": "kmeans", "k_range": [3, 8], "silhouette_threshold": 0.15,
                            "sample_size": 20_000, "min_rows": 200, "min_history_days": 28},
    "reason_codes_k": 3,
}


def merge_config(config: dict | None) -> dict:
    merged = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in (config or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@dataclass
class Context:
    warehouse_path: Path
    home: Path
    as_of: date
    config: dict
    snapshots: list[date]
    first_day: date | None
    last_day: date | None
    workdir: Path
    booster: BoosterParams = field(default_factory=BoosterParams)
    thresholds: SmallShopThresholds = field(default_factory=SmallShopThresholds)

    @property
    def history_days(self) -> int:
        if self.first_day is None or self.last_day is None:
            return 0
        return (self.last_day - self.first_day).days + 1

    @property
    def latest_snapshot(self) -> date | None:
        return self.snapshots[-1] if self.snapshots else None

    def plan(self, horizon_days: int) -> SplitPlan:
        if self.last_day is None:
            raise InsufficientHistory("no activity in the warehouse")
        return plan_time_split(self.snapshots, self.last_day, horizon_days, **self.config["split"])


def _context(warehouse_path, home, as_of: date, config: dict, workdir: Path) -> Context:
    snapshots = [d for d in warehouse.snapshot_dates(warehouse_path) if d <= as_of]
    bounds = warehouse.activity_bounds(warehouse_path)
    first, last = (None, None) if bounds is None else (bounds[0], min(bounds[1], as_of))
    if first is not None and last < first:
        first, last = None, None
    return Context(Path(warehouse_path), Path(home), as_of, config, snapshots, first, last, workdir,
                   BoosterParams.from_config(config["booster"]), SmallShopThresholds.from_config(config["small_shop"]))


def _finite(metrics: dict | None) -> dict | None:
    return None if metrics is None else M.finite_or_none(metrics)


def _champion(ctx: Context, name: str):
    try:
        return registry.load_champion(ctx.home, name)
    except Exception as exc:  # a champion that cannot load must not block training a replacement
        return _Broken(str(exc))


@dataclass
class _Broken:
    error: str
    kind: str = "broken"
    version: str = "?"
    estimator: Any = None


def _publish(ctx: Context, family: str, name: str, *, candidate, baseline, decision: Decision, metric: str,
             cand_metrics: dict | None, base_metrics: dict | None, champ_metrics: dict | None, champion,
             example: pl.DataFrame, tags: dict, params: dict, plots_: dict | None = None,
             extra_json: dict | None = None) -> dict:
    """Log the candidate (if trained) and, when the baseline is to be served, the baseline; move the
    champion alias according to the decision; return the metadata row for this registered model."""
    common = dict(input_example=example, params=params, baseline_metrics=_finite(base_metrics),
                  champion_metrics=_finite(champ_metrics), plots=plots_, extra_json=extra_json)
    candidate_version = None
    if candidate is not None:
        logged = registry.log_version(ctx.home, family, name, candidate, metrics=_finite(cand_metrics),
                                      tags={**tags, "gate_metric": metric}, **common)
        registry.record_decision(ctx.home, logged, decision.promote, decision.reason)
        candidate_version = logged.version
    served_version = candidate_version if decision.promote else None
    if decision.serve == "baseline":
        logged = registry.log_version(ctx.home, family, name, baseline, metrics=_finite(base_metrics),
                                      tags={**tags, "gate_metric": metric, "baseline": getattr(baseline, "description", "")},
                                      **{**common, "baseline_metrics": None})
        registry.record_decision(ctx.home, logged, True, "baseline served: " + decision.reason)
        served_version = logged.version
    elif served_version is None and champion is not None and not isinstance(champion, _Broken):
        served_version = champion.version
    key = {k: v for k, v in {
        "candidate": (cand_metrics or {}).get(metric), "baseline": (base_metrics or {}).get(metric),
        "champion": (champ_metrics or {}).get(metric)}.items()}
    return {
        "model_name": name,
        "name": name,
        "version": served_version,  # the version serving after this run (candidate, kept champion or baseline)
        "candidate_version": candidate_version,
        "served_version": served_version,
        "promoted": decision.promote,
        "serve": decision.serve,
        "reason": decision.reason,
        "gate_metric": metric,
        "key_metrics": M.finite_or_none(key),
        "metrics": _finite(cand_metrics),
        "baseline_metrics": _finite(base_metrics),
        "champion_metrics": _finite(champ_metrics),
        "baseline": getattr(baseline, "description", ""),
    }


def _tags(ctx: Context, frame: pl.DataFrame | None, window: str, extra: dict | None = None) -> dict:
    return {
        "as_of_date": ctx.as_of.isoformat(),
        "training_window": window,
        "code_version": registry.code_version(),
        "data_fingerprint": fingerprint(frame) if frame is not None else "none",
        **(extra or {}),
    }


def _example(frame: pl.DataFrame) -> pl.DataFrame:
    drop = [c for c in ("split", "label_orders", "label_revenue", "next_category", "treatment", "outcome",
                        "campaign_id", "group", "sent_date", "feature_date", "discount_pct") if c in frame.columns]
    return frame.drop(drop).head(5)


def _latest_features(ctx: Context) -> pl.DataFrame:
    if ctx.latest_snapshot is None:
        return pl.DataFrame({"customer_id": pl.Series([], dtype=pl.String), "as_of_date": pl.Series([], dtype=pl.Date)})
    return warehouse.features_as_of(ctx.warehouse_path, ctx.latest_snapshot)


def _rows_per_cutoff(ctx: Context, plan: SplitPlan, family_config: dict | None = None) -> int | None:
    """The per-cutoff row cap: max_rows_per_cutoff, lowered so all of the plan's cutoffs together
    stay within max_training_rows (a family's own max_training_rows wins)."""
    total = (family_config or {}).get("max_training_rows", ctx.config.get("max_training_rows"))
    caps = [int(c) for c in (ctx.config.get("max_rows_per_cutoff"),
                             int(total) // max(1, len(plan.cutoffs)) if total else None) if c]
    return min(caps) if caps else None


def _safe_binary(y, p) -> dict | None:
    if len(y) == 0:
        return None
    return M.binary_metrics(y, np.nan_to_num(p, nan=0.0))


# ---- purchase propensity and churn -------------------------------------------------------------

def _binary_family(ctx: Context, family: str, name: str, output: str, horizon: int, make_model: Callable,
                   population: Callable[[pl.DataFrame], pl.DataFrame], target: Callable[[pl.DataFrame], np.ndarray],
                   churn: bool) -> dict:
    metric, higher = ctx.config["gate_metric"][family]
    champion = _champion(ctx, name)
    try:
        plan = ctx.plan(horizon)
    except InsufficientHistory as exc:
        latest = population(_latest_features(ctx)) if ctx.latest_snapshot else _latest_features(ctx)
        baseline = RFMScore(output, churn=churn).fit(latest)
        decision = _insufficient(exc)
        if champion is not None and not isinstance(champion, _Broken) and champion.kind == "model":
            decision = Decision(False, "model", f"{exc}; keeping the current champion")
        return _publish(ctx, family, name, candidate=None, baseline=baseline, decision=decision, metric=metric,
                        cand_metrics=None, base_metrics=None, champ_metrics=None, champion=champion,
                        example=_example(latest) if latest.height else latest, tags=_tags(ctx, None, "none", {"horizon_days": horizon}),
                        params={"horizon_days": horizon})
    data = population(purchase_training_set(ctx.warehouse_path, plan, _rows_per_cutoff(ctx, plan)))
    train, valid, test = split_frames(data)
    y_train, y_valid, y_test = target(train), target(valid), target(test)
    baseline = RFMScore(output, churn=churn).fit(train, y_train)
    base_metrics = _safe_binary(y_test, baseline.predict_proba(test))
    sufficiency = check_sufficiency(
        ctx.thresholds, n_rows=train.height, history_days=ctx.history_days,
        n_positives=int(y_train.sum()), n_negatives=int(len(y_train) - y_train.sum()),
        n_validation=valid.height, n_test=test.height,
    )
    candidate = cand_metrics = champ_metrics = None
    plot_paths: dict = {}
    champion_is_model = champion is not None and not isinstance(champion, _Broken) and champion.kind == "model"
    if champion is not None and not isinstance(champion, _Broken) and test.height:
        champ_metrics = _safe_binary(y_test, champion.estimator.score(test)[output])
    if sufficiency.ok and len(np.unique(y_test)) == 2:
        candidate = make_model().fit(train, y_train, valid, y_valid)
        p_test = candidate.predict_proba(test)
        cand_metrics = M.binary_metrics(y_test, p_test)
        cand_metrics.update({f"train_{k}": v for k, v in candidate.training_record_.items() if isinstance(v, (int, float))})
        decision = decide_promotion(cand_metrics, base_metrics, champ_metrics, metric, higher,
                                    ctx.config["tolerance"], champion_is_model=champion_is_model,
                                    min_gain_over_baseline=ctx.config["min_gain_over_baseline"])
        scores = {"model": p_test, "baseline (RFM)": baseline.predict_proba(test)}
        folder = ctx.workdir / name
        plot_paths = {
            "roc": plots.roc_plot(y_test, scores, folder / "roc.png", f"{name} ROC"),
            "calibration": plots.calibration_plot(y_test, scores, folder / "calibration.png", title=f"{name} calibration"),
            "lift": plots.lift_plot(y_test, scores, folder / "lift.png", f"{name} lift"),
        }
    else:
        reason = sufficiency.reason if not sufficiency.ok else "test split holds a single class"
        decision = small_shop_decision(type(sufficiency)(False, reason))
        if champion_is_model and champ_metrics is not None:
            decision = Decision(False, "model", f"{reason}; keeping the current champion")
    return _publish(
        ctx, family, name, candidate=candidate, baseline=baseline, decision=decision, metric=metric,
        cand_metrics=cand_metrics, base_metrics=base_metrics, champ_metrics=champ_metrics, champion=champion,
        example=_example(test if test.height else train), plots_=plot_paths,
        tags=_tags(ctx, data, plan.training_window, {"horizon_days": horizon, "embargo": plan.embargo}),
        params={"horizon_days": horizon, **ctx.booster.as_dict(), "split": plan.describe(),
                "rows_train": train.height, "rows_valid": valid.height, "rows_test": test.height},
        extra_json={"split": plan.describe()},
    )


def _insufficient(exc: Exception) -> Decision:
    return Decision(False, "baseline", f"too little history to train: {exc}; serving the baseline")


def train_purchase_propensity(ctx: Context) -> list[dict]:
    out = []
    for horizon in ctx.config["horizons"]:
        horizon = int(horizon)
        out.append(_binary_family(
            ctx, "purchase_propensity", f"purchase_propensity_{horizon}d", f"p_purchase_{horizon}d", horizon,
            lambda h=horizon: PurchasePropensity(h, ctx.booster), lambda f: f, purchase_target, churn=False,
        ))
    return out


def train_churn_risk(ctx: Context) -> list[dict]:
    return [_binary_family(ctx, "churn_risk", "churn_risk", "p_churn", CHURN_HORIZON_DAYS,
                           lambda: ChurnRisk(CHURN_HORIZON_DAYS, ctx.booster), churn_rows, churn_target, churn=True)]


# ---- lifetime value ------------------------------------------------------------------------------

def _value_metrics(orders_true, revenue_true, orders_pred, revenue_pred) -> dict:
    out = M.regression_metrics(revenue_true, revenue_pred)
    out.update({f"orders_{k}": v for k, v in M.regression_metrics(orders_true, orders_pred).items()})
    return out


def train_customer_lifetime_value(ctx: Context) -> list[dict]:
    family = name = "customer_lifetime_value"
    metric, higher = ctx.config["gate_metric"][family]
    cfg = ctx.config["lifetime_value"]
    champion = _champion(ctx, name)
    champion_is_model = champion is not None and not isinstance(champion, _Broken) and champion.kind == "model"
    plan = None
    for h in sorted({int(h) for h in cfg["label_horizons"] if h <= TARGET_HORIZON_DAYS}, reverse=True):
        try:
            plan = ctx.plan(h)
            break
        except InsufficientHistory:
            continue
    if plan is None or plan.horizon_days < cfg["min_label_days"]:
        latest = _latest_features(ctx)
        baseline = BGNBDValue(TARGET_HORIZON_DAYS).fit(latest)
        why = (f"history of {ctx.history_days}d allows no label window of >= {cfg['min_label_days']}d "
               f"with a time split")
        decision = Decision(False, "baseline", f"{why}; serving the BG/NBD + Gamma-Gamma baseline")
        if champion_is_model:
            decision = Decision(False, "model", f"{why}; keeping the current champion")
        return [_publish(ctx, family, name, candidate=None, baseline=baseline, decision=decision, metric=metric,
                         cand_metrics=None, base_metrics=None, champ_metrics=None, champion=champion,
                         example=_example(latest), tags=_tags(ctx, None, "none"), params={})]
    h = plan.horizon_days
    data = purchase_training_set(ctx.warehouse_path, plan, _rows_per_cutoff(ctx, plan))
    train, valid, test = split_frames(data)
    o_tr, r_tr = train["label_orders"].to_numpy(), train["label_revenue"].to_numpy()
    o_te, r_te = test["label_orders"].to_numpy(), test["label_revenue"].to_numpy()
    baseline = BGNBDValue(TARGET_HORIZON_DAYS).fit(train, o_tr, r_tr, label_days=h)
    b_orders, b_value = baseline.predict(test, horizon_days=h)
    base_metrics = _value_metrics(o_te, r_te, b_orders, b_value)
    champ_metrics = None
    if champion is not None and not isinstance(champion, _Broken) and test.height:
        scored = champion.estimator.score(test)
        champ_metrics = _value_metrics(o_te, r_te, scored["expected_orders_365d"] * h / TARGET_HORIZON_DAYS,
                                       scored["expected_value_365d"] * h / TARGET_HORIZON_DAYS)
    buyers = int((o_tr > 0).sum())
    sufficiency = check_sufficiency(ctx.thresholds, n_rows=train.height, history_days=ctx.history_days,
                                    n_positives=buyers, n_negatives=train.height - buyers,
                                    n_validation=valid.height, n_test=test.height)
    candidate = cand_metrics = None
    plot_paths = {}
    if sufficiency.ok:
        candidate = HurdleLifetimeValue(h, TARGET_HORIZON_DAYS, ctx.booster).fit(
            train, o_tr, r_tr, valid, valid["label_orders"].to_numpy(), valid["label_revenue"].to_numpy(),
            horizon_scaler=baseline)
        _, c_orders, c_value = candidate.predict_label_window(test)
        cand_metrics = _value_metrics(o_te, r_te, c_orders, c_value)
        decision = decide_promotion(cand_metrics, base_metrics, champ_metrics, metric, higher, ctx.config["tolerance"],
                                    champion_is_model=champion_is_model,
                                    min_gain_over_baseline=ctx.config["min_gain_over_baseline"])
        plot_paths = {"lift": plots.lift_plot(r_te, {"model": c_value, "baseline (BG/NBD x GG)": b_value},
                                              ctx.workdir / name / "lift.png", f"revenue {h}d by predicted decile")}
    else:
        decision = small_shop_decision(sufficiency)
        if champion_is_model:
            decision = Decision(False, "model", f"{sufficiency.reason}; keeping the current champion")
    scaling = candidate.horizon_scaling if candidate is not None else "n/a"
    return [_publish(
        ctx, family, name, candidate=candidate, baseline=baseline, decision=decision, metric=metric,
        cand_metrics=cand_metrics, base_metrics=base_metrics, champ_metrics=champ_metrics, champion=champion,
        example=_example(test), plots_=plot_paths,
        tags=_tags(ctx, data, plan.training_window, {"label_horizon_days": h, "horizon_scaling": scaling}),
        params={"label_horizon_days": h, "target_horizon_days": TARGET_HORIZON_DAYS, "horizon_scaling": scaling,
                **ctx.booster.as_dict(), "rows_train": train.height},
        extra_json={"split": plan.describe(), "decile_calibration": {
            "model": M.decile_calibration(r_te, c_value) if candidate is not None else None,
            "baseline": M.decile_calibration(r_te, b_value)}},
    ) | {"label_horizon_days": h, "horizon_scaling": scaling}]


# ---- discount response ---------------------------------------------------------------------------

def train_discount_response(ctx: Context) -> list[dict]:
    family = name = "discount_response"
    metric, higher = ctx.config["gate_metric"][family]
    cfg = ctx.config["discount_response"]
    champion = _champion(ctx, name)
    champion_is_model = champion is not None and not isinstance(champion, _Broken) and champion.kind == "model"
    data = pl.DataFrame()
    if ctx.last_day is not None:
        data = uplift_training_set(ctx.warehouse_path, cfg["outcome_days"], cfg["discount_only"], ctx.last_day,
                                   outcome_offset_days=int(cfg.get("outcome_offset_days", 0)))
    if data.height == 0:
        latest = _latest_features(ctx)
        baseline = ConstantUplift().fit(latest, np.zeros(0, bool), np.zeros(0))
        baseline.description = "no randomized campaign with a complete outcome window: uplift 0 for everyone"
        decision = Decision(False, "model" if champion_is_model else "baseline",
                            "no randomized treatment/control assignments with a complete outcome window"
                            + ("; keeping the current champion" if champion_is_model else "; serving the baseline"))
        return [_publish(ctx, family, name, candidate=None, baseline=baseline, decision=decision, metric=metric,
                         cand_metrics=None, base_metrics=None, champ_metrics=None, champion=champion,
                         example=_example(latest), tags=_tags(ctx, None, "none"), params={})]
    data = split_by_send_date(data)
    train, valid, test = split_frames(data)
    t_tr, y_tr = train["treatment"].to_numpy(), train["outcome"].to_numpy()
    t_te, y_te = test["treatment"].to_numpy(), test["outcome"].to_numpy()
    baseline = ConstantUplift().fit(train, t_tr.astype(bool), y_tr)
    base_metrics = M.uplift_metrics(y_te, t_te, baseline.predict_uplift(test)) if test.height else None
    champ_metrics = None
    if champion is not None and not isinstance(champion, _Broken) and test.height:
        champ_metrics = M.uplift_metrics(y_te, t_te, champion.estimator.score(test)["discount_uplift"])
    arm_pos = [int(y_tr[t_tr == arm].sum()) for arm in (0, 1)]
    arm_neg = [int((t_tr == arm).sum()) - p for arm, p in zip((0, 1), arm_pos)]
    sufficiency = check_sufficiency(ctx.thresholds, n_rows=train.height, history_days=ctx.history_days,
                                    n_positives=min(arm_pos), n_negatives=min(arm_neg),
                                    n_validation=valid.height, n_test=test.height)
    candidate = cand_metrics = None
    plot_paths = {}
    learner = "none"
    if sufficiency.ok:
        candidate, learner = _fit_uplift(ctx, cfg, train, t_tr, y_tr, valid)
        u = candidate.predict_uplift(test)
        cand_metrics = M.uplift_metrics(y_te, t_te, u)
        # "treat everyone" has Qini 0 by construction; the candidate must also beat chance
        cand_metrics["qini_noise_95"] = M.qini_noise_level(y_te, t_te, u)
        min_gain = ctx.config["min_gain_over_baseline"]
        if metric == "qini" and math.isfinite(cand_metrics["qini_noise_95"]):
            min_gain = max(min_gain, cand_metrics["qini_noise_95"])
        decision = decide_promotion(cand_metrics, base_metrics, champ_metrics, metric, higher, ctx.config["tolerance"],
                                    champion_is_model=champion_is_model, min_gain_over_baseline=min_gain)
        plot_paths = {"qini": plots.qini_plot(y_te, t_te, {learner: u, "treat everyone": baseline.predict_uplift(test)},
                                              ctx.workdir / name / "qini.png")}
    else:
        decision = small_shop_decision(sufficiency)
        if champion_is_model:
            decision = Decision(False, "model", f"{sufficiency.reason}; keeping the current champion")
    window = f"{train['sent_date'].min()}..{train['sent_date'].max()}"
    return [_publish(ctx, family, name, candidate=candidate, baseline=baseline, decision=decision, metric=metric,
                     cand_metrics=cand_metrics, base_metrics=base_metrics, champ_metrics=champ_metrics,
                     champion=champion, example=_example(test if test.height else train), plots_=plot_paths,
                     tags=_tags(ctx, data, window, {"outcome_days": cfg["outcome_days"]}),
                     params={"outcome_days": cfg["outcome_days"], "outcome_offset_days": cfg.get("outcome_offset_days", 0),
                             "learner": learner, **ctx.booster.as_dict(),
                             "rows_train": train.height, "campaigns": data["campaign_id"].n_unique()})]


def _fit_uplift(ctx: Context, cfg: dict, train: pl.DataFrame, t_tr, y_tr, valid: pl.DataFrame):
    """Fit the configured learner ("linear", "t", "x"), or with "auto" each of them, keeping the one
    with the higher out-of-sample validation Qini (the test split stays untouched for the gate)."""
    choice = str(cfg.get("learner", "linear")).lower()
    names = list(LEARNERS) if choice == "auto" else [choice]
    if any(n not in LEARNERS for n in names):
        raise ValueError(f"discount_response learner must be one of {sorted(LEARNERS)} or auto, got {choice!r}")
    t_va, y_va = valid["treatment"].to_numpy(), valid["outcome"].to_numpy()
    fitted = []
    for n in names:
        model = (LEARNERS[n]() if n == "linear" else LEARNERS[n](ctx.booster)).fit(train, t_tr, y_tr, valid, t_va, y_va)
        if getattr(model, "validation_qini_", None):
            # the linear learner refits on train + validation: use the Qini it reached before that
            score = max(model.validation_qini_.values())
        else:
            score = M.qini_coefficient(y_va, t_va, model.predict_uplift(valid)) if valid.height else 0.0
        fitted.append((score if math.isfinite(score) else -math.inf, n, model))
    best = max(fitted, key=lambda item: item[0])
    return best[2], f"{best[1]}-learner"


# ---- next category -------------------------------------------------------------------------------

def train_next_category(ctx: Context) -> list[dict]:
    family = name = "next_category"
    metric, higher = ctx.config["gate_metric"][family]
    cfg = ctx.config["next_category"]
    champion = _champion(ctx, name)
    champion_is_model = champion is not None and not isinstance(champion, _Broken) and champion.kind == "model"
    try:
        plan = ctx.plan(int(cfg["horizon_days"]))
        data = category_training_set(ctx.warehouse_path, plan, _rows_per_cutoff(ctx, plan, cfg))
    except (InsufficientHistory, warehouse.WarehouseError) as exc:
        latest = _latest_features(ctx)
        fallback_labels = latest["top_category"].drop_nulls().to_numpy() if "top_category" in latest.columns else np.array([OTHER])
        baseline = TopCategory().fit(latest, fallback_labels if len(fallback_labels) else np.array([OTHER]))
        decision = Decision(False, "model" if champion_is_model else "baseline",
                            f"too little history to train: {exc}" + ("; keeping the current champion" if champion_is_model else "; serving the baseline"))
        return [_publish(ctx, family, name, candidate=None, baseline=baseline, decision=decision, metric=metric,
                         cand_metrics=None, base_metrics=None, champ_metrics=None, champion=champion,
                         example=_example(latest), tags=_tags(ctx, None, "none"), params={})]
    train, valid, test = split_frames(data)
    labels_tr = train["next_category"].to_numpy()
    booster = BoosterParams.from_config({**NEXT_CATEGORY_BOOSTER, **ctx.config["booster"]})
    candidate_probe = NextCategoryModel(int(cfg["top_k"]), booster)
    classes = top_classes(labels_tr, int(cfg["top_k"])) if len(labels_tr) else [OTHER]
    baseline = TopCategory().fit(train, labels_tr if len(labels_tr) else np.array([OTHER]), classes)
    if OTHER in classes:
        y_te = np.asarray(classes, dtype=object)[encode_labels(test["next_category"].to_numpy(), classes)] if test.height else np.array([], dtype=object)
        keep_test = np.ones(test.height, dtype=bool)
    else:  # every category is a class: unseen test categories cannot be scored
        keep_test = np.isin(test["next_category"].to_numpy(), np.array(classes, dtype=object))
        y_te = test["next_category"].to_numpy()[keep_test]
    test = test.filter(pl.Series(keep_test))
    base_metrics = M.multiclass_metrics(y_te, baseline.predict_proba(test), baseline.classes_) if test.height else None
    champ_metrics = None
    if champion is not None and not isinstance(champion, _Broken) and test.height:
        pred = champion.estimator.score(test)["next_category"]
        champ_metrics = {"n": float(test.height), "accuracy": float(np.mean(pred.astype(str) == y_te.astype(str)))}
    n_classes_train = len(np.unique(labels_tr))
    sufficiency = check_sufficiency(ctx.thresholds, n_rows=train.height, history_days=ctx.history_days,
                                    n_validation=valid.height, n_test=test.height)
    if sufficiency.ok and n_classes_train < 2:
        sufficiency = type(sufficiency)(False, "fewer than two categories purchased")
    candidate = cand_metrics = None
    if sufficiency.ok:
        candidate = candidate_probe.fit(train, labels_tr, valid, valid["next_category"].to_numpy())
        cand_metrics = M.multiclass_metrics(y_te, candidate.predict_proba(test), candidate.classes_)
        decision = decide_promotion(cand_metrics, base_metrics, champ_metrics, metric, higher, ctx.config["tolerance"],
                                    champion_is_model=champion_is_model,
                                    min_gain_over_baseline=ctx.config["min_gain_over_baseline"])
    else:
        decision = small_shop_decision(sufficiency)
        if champion_is_model:
            decision = Decision(False, "model", f"{sufficiency.reason}; keeping the current champion")
    return [_publish(ctx, family, name, candidate=candidate, baseline=baseline, decision=decision, metric=metric,
                     cand_metrics=cand_metrics, base_metrics=base_metrics, champ_metrics=champ_metrics,
                     champion=champion, example=_example(test if test.height else train),
                     tags=_tags(ctx, data, plan.training_window, {"horizon_days": cfg["horizon_days"]}),
                     params={"top_k": cfg["top_k"], "classes": classes, **booster.as_dict(), "rows_train": train.height},
                     extra_json={"split": plan.describe()})]


# ---- behavioral clusters -------------------------------------------------------------------------

def _cluster_quality(model, frame: pl.DataFrame, sample_size: int) -> dict:
    Z = model.transform(frame)
    labels = model.predict(frame)["cluster_id"]
    return M.clustering_metrics(Z, labels, sample_size=sample_size)


def train_behavioral_clusters(ctx: Context) -> list[dict]:
    family = name = "behavioral_clusters"
    metric, _ = ctx.config["gate_metric"][family]
    cfg = ctx.config["behavioral_clusters"]
    champion = _champion(ctx, name)
    champion_is_model = champion is not None and not isinstance(champion, _Broken) and champion.kind == "model"
    frame = _latest_features(ctx)
    if frame.height > cfg["sample_size"] * 5:
        frame = frame.sample(cfg["sample_size"] * 5, seed=0)
    baseline = RuleSegments().fit(frame)
    candidate = cand_metrics = champ_metrics = None
    plot_paths: dict = {}
    extra: dict = {}
    # behaviour measured over a few days is noise that clusters well: wait for enough history
    too_short = ctx.history_days < cfg.get("min_history_days", 0)
    if frame.height < cfg["min_rows"] or too_short:
        why = (f"history of {ctx.history_days}d < {cfg['min_history_days']}d" if too_short
               else f"{frame.height} customers < {cfg['min_rows']}")
        decision = Decision(False, "model" if champion_is_model else "baseline",
                            f"too little data to cluster: {why}"
                            + ("; keeping the current champion" if champion_is_model else "; serving rule segments"))
    else:
        previous = champion.estimator if champion_is_model else None
        try:
            candidate = BehavioralClustering(method=cfg["method"], k_range=tuple(cfg["k_range"]),
                                             sample_size=cfg["sample_size"]).fit(frame, previous=previous)
            cand_metrics = _cluster_quality(candidate, frame, 5000)
            cand_metrics["k"] = float(candidate.k_)
            cand_metrics.update({f"silhouette_k{k}": v for k, v in candidate.k_scores_.items()})
        except ValueError as exc:
            candidate = None
            cand_metrics = {"error": str(exc)}
        if champion_is_model:
            champ_metrics = _cluster_quality(champion.estimator, frame, 5000)
        decision = decide_threshold(cand_metrics, champ_metrics, metric, float(cfg["silhouette_threshold"]),
                                    ctx.config["tolerance"], champion_is_model=champion_is_model)
        if candidate is not None:
            prof = candidate.profile_frame()
            zcols = [c for c in prof.columns if c.startswith("z_")]
            plot_paths = {"profiles": plots.cluster_heatmap(
                prof.select(zcols).to_numpy(), [f"{i}: {n}" for i, n in zip(prof["cluster_id"], prof["cluster_name"])],
                [c[2:] for c in zcols], ctx.workdir / name / "profiles.png")}
            extra = {"profiles": candidate.profiles_, "k_scores": candidate.k_scores_}
    sizes = (cand_metrics or {}).pop("sizes", None) if cand_metrics else None
    if champ_metrics:
        champ_metrics.pop("sizes", None)
    if sizes is not None:
        extra["segment_sizes"] = sizes
    return [_publish(ctx, family, name, candidate=candidate, baseline=baseline, decision=decision, metric=metric,
                     cand_metrics={k: v for k, v in (cand_metrics or {}).items() if k != "error"} or None,
                     base_metrics={metric: float(cfg["silhouette_threshold"])}, champ_metrics=champ_metrics,
                     champion=champion, example=_example(frame), plots_=plot_paths,
                     tags=_tags(ctx, frame, f"snapshot {ctx.latest_snapshot}", {"method": cfg["method"]}),
                     params={"method": cfg["method"], "k_range": cfg["k_range"], "rows": frame.height},
                     extra_json=extra or None)]


TRAINERS: dict[str, Callable[[Context], list[dict]]] = {
    "purchase_propensity": train_purchase_propensity,
    "churn_risk": train_churn_risk,
    "customer_lifetime_value": train_customer_lifetime_value,
    "discount_response": train_discount_response,
    "next_category": train_next_category,
    "behavioral_clusters": train_behavioral_clusters,
}


def train_family(family: str, warehouse_path, home, as_of: date, config: dict | None = None) -> dict:
    """Build the set, fit, evaluate vs baseline and champion, log, gate and promote one family.
    Returns {"family", "as_of", "models": [per registered model metadata]}."""
    if family not in TRAINERS:
        raise ValueError(f"unknown family {family!r}; known: {sorted(TRAINERS)}")
    merged = merge_config(config)
    with tempfile.TemporaryDirectory(prefix=f"train-{family}-") as tmp:
        ctx = _context(warehouse_path, home, as_of, merged, Path(tmp))
        models = TRAINERS[family](ctx)
    registry.mark_trained(home, family, as_of)
    return {"family": family, "as_of": as_of.isoformat(), "history_days": ctx.history_days, "models": models}
