"""Discount response (uplift) from randomized treatment/control campaign assignments.

Learners (all pool every campaign's assignments):
- `LinearUplift` (default): a strongly L2-regularised logistic S-learner with treatment x feature
  interactions on a short list of discount-behaviour and activity features; the L2 strength is picked
  by Qini on the validation split, then the model is refit on train + validation.
- T-learner: one XGBoost classifier on treated customers, one on controls; uplift = p_treated - p_control.
- X-learner on top of the T-learner's outcome models.
Boosted learners on a few thousand assignments mostly fit noise in the difference of two
probabilities; the linear learner's effect is one shrunken vector, which is what a small shop supports.
Outcome: a purchase in the N days starting `outcome_offset_days` after the send day; features: the
newest snapshot strictly before the send day, so nothing the campaign caused leaks into the features.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from ml import warehouse
from ml.boosting import BoosterParams, predict, train_booster
from ml.features import DEFAULT_CATEGORICALS, FeatureEncoder
from ml.reasons import booster_reasons, top_reasons

OUTCOME_DAYS = 14


class TLearnerUplift:
    kind = "model"
    output = "discount_uplift"

    def __init__(self, booster_params: BoosterParams | None = None,
                 categorical_columns: tuple[str, ...] = DEFAULT_CATEGORICALS, max_categories: int = 20):
        self.booster_params = booster_params or BoosterParams()
        self.categorical_columns = tuple(categorical_columns)
        self.max_categories = max_categories

    def fit(self, train: pl.DataFrame, treatment, y, valid: pl.DataFrame | None = None, valid_treatment=None,
            valid_y=None) -> "TLearnerUplift":
        t = np.asarray(treatment, dtype=bool)
        y = np.asarray(y, dtype=np.float32)
        for name, mask in (("treated", t), ("control", ~t)):
            if len(np.unique(y[mask])) < 2:
                raise ValueError(f"discount_response: {name} outcomes hold a single class")
        self.encoder_ = FeatureEncoder(self.categorical_columns, self.max_categories).fit(train)
        X = self.encoder_.transform(train)
        has_valid = valid is not None and valid.height > 0
        Xv = self.encoder_.transform(valid) if has_valid else None
        tv = np.asarray(valid_treatment, dtype=bool) if has_valid else None
        yv = np.asarray(valid_y, dtype=np.float32) if has_valid else None
        self.records_ = {}
        self.boosters_ = {}
        for arm, mask, vmask in (("treated", t, tv), ("control", ~t, None if tv is None else ~tv)):
            use_valid = has_valid and vmask.sum() > 0
            booster, record = train_booster(
                X[mask], y[mask], "binary:logistic", self.booster_params,
                Xv[vmask] if use_valid else None, yv[vmask] if use_valid else None,
                extra={"eval_metric": "logloss", "base_score": float(np.clip(y[mask].mean(), 1e-4, 1 - 1e-4))},
            )
            self.boosters_[arm], self.records_[arm] = booster, record
        return self

    @property
    def feature_names(self) -> list[str]:
        return self.encoder_.feature_names

    def predict_arms(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        X = self.encoder_.transform(frame)
        return (predict(self.boosters_["treated"], X).astype(np.float64),
                predict(self.boosters_["control"], X).astype(np.float64))

    def predict_uplift(self, frame: pl.DataFrame) -> np.ndarray:
        treated, control = self.predict_arms(frame)
        return treated - control

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        return {self.output: self.predict_uplift(frame)}

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        """Drivers of the uplift: treated minus control contributions (log-odds scale)."""
        X = self.encoder_.transform(frame)
        parts = [(self.boosters_["treated"], 1.0), (self.boosters_["control"], -1.0)]
        return {self.output: booster_reasons(parts, X, self.feature_names, k, approx)}


class XLearnerUplift(TLearnerUplift):
    """X-learner (Kunzel et al. 2019) on top of the T-learner's two outcome models: impute each
    customer's effect with the other arm's model (treated: y - mu0(x), controls: mu1(x) - y), regress
    the imputed effects per arm, and blend tau = g * tau_control + (1 - g) * tau_treated with g the
    (randomized, so constant) treated share. Helps when one arm is much smaller than the other."""

    def fit(self, train: pl.DataFrame, treatment, y, valid: pl.DataFrame | None = None, valid_treatment=None,
            valid_y=None) -> "XLearnerUplift":
        super().fit(train, treatment, y, valid, valid_treatment, valid_y)
        t = np.asarray(treatment, dtype=bool)
        y = np.asarray(y, dtype=np.float64)
        X = self.encoder_.transform(train)
        mu1 = predict(self.boosters_["treated"], X).astype(np.float64)
        mu0 = predict(self.boosters_["control"], X).astype(np.float64)
        imputed = np.where(t, y - mu0, mu1 - y)
        has_valid = valid is not None and valid.height > 0
        if has_valid:
            tv = np.asarray(valid_treatment, dtype=bool)
            yv = np.asarray(valid_y, dtype=np.float64)
            Xv = self.encoder_.transform(valid)
            imputed_v = np.where(tv, yv - predict(self.boosters_["control"], Xv), predict(self.boosters_["treated"], Xv) - yv)
        # imputed effects are noisy (binary outcome minus a probability): shallower, more regularised trees
        effect_params = replace(self.booster_params, max_depth=max(2, self.booster_params.max_depth - 2),
                                min_child_weight=max(self.booster_params.min_child_weight, 20.0))
        self.effect_boosters_ = {}
        for arm, mask in (("treated", t), ("control", ~t)):
            vmask = (tv if arm == "treated" else ~tv) if has_valid else None
            use_valid = has_valid and vmask.sum() > 0
            booster, record = train_booster(
                X[mask], imputed[mask], "reg:squarederror", effect_params,
                Xv[vmask] if use_valid else None, imputed_v[vmask] if use_valid else None,
                extra={"eval_metric": "rmse"},
            )
            self.effect_boosters_[arm], self.records_[f"effect_{arm}"] = booster, record
        self.treated_share_ = float(t.mean())
        return self

    def predict_uplift(self, frame: pl.DataFrame) -> np.ndarray:
        X = self.encoder_.transform(frame)
        tau1 = predict(self.effect_boosters_["treated"], X).astype(np.float64)
        tau0 = predict(self.effect_boosters_["control"], X).astype(np.float64)
        g = self.treated_share_
        return g * tau0 + (1 - g) * tau1

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        """Drivers of the blended effect: the same blend of the two effect models' contributions."""
        X = self.encoder_.transform(frame)
        g = self.treated_share_
        parts = [(self.effect_boosters_["control"], g), (self.effect_boosters_["treated"], 1 - g)]
        return {self.output: booster_reasons(parts, X, self.feature_names, k, approx)}


# Discount-behaviour and activity columns of marts.customer_features the linear learner prefers; a shop
# lacking most of them gets every numeric column instead.
DISCOUNT_RESPONSE_FEATURES = (
    "discount_revenue_share", "discounted_order_share", "discounted_orders_total", "on_sale_filter_uses_90d",
    "price_filter_uses_90d", "filter_uses_90d", "filter_use_rate", "searches_90d", "frequency", "recency_days",
    "orders_90d", "sessions_90d", "events_90d", "email_open_rate", "push_open_rate",
)
L2_GRID = (0.003, 0.01, 0.03, 0.1)  # inverse L2 strengths (C) tried on the validation split


class LinearUplift:
    """Logistic S-learner: logit P(buy) = a + b.x + t * (c + d.x) on standardised signed-log features,
    uplift = P(buy | x, t=1) - P(buy | x, t=0). One strength C for the whole vector, picked by the
    validation Qini; the final fit uses train + validation (the test split stays untouched)."""

    kind = "model"
    output = "discount_uplift"

    def __init__(self, features: tuple[str, ...] | None = DISCOUNT_RESPONSE_FEATURES, l2_grid: tuple[float, ...] = L2_GRID,
                 min_preferred: int = 4):
        self.features = tuple(features) if features else None
        self.l2_grid = tuple(l2_grid)
        self.min_preferred = min_preferred

    # ---- preprocessing: signed log1p, median fill, standardise, clip to +-5 sd ----
    def _columns(self, frame: pl.DataFrame) -> list[str]:
        numeric = FeatureEncoder(categorical_columns=()).fit(frame).numeric_columns
        if self.features:
            preferred = [c for c in self.features if c in numeric]
            if len(preferred) >= self.min_preferred:
                return preferred
        return numeric

    def _raw(self, frame: pl.DataFrame) -> np.ndarray:
        X = self.encoder_.transform(frame).astype(np.float64)
        return np.sign(X) * np.log1p(np.abs(X))

    def _fit_scaling(self, frame: pl.DataFrame) -> None:
        self.encoder_ = FeatureEncoder(categorical_columns=())
        self.encoder_.numeric_columns = self._columns(frame)
        X = self._raw(frame)
        with np.errstate(all="ignore"):
            median = np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=0)
        self.fill_ = np.where(np.isfinite(median), median, 0.0)
        X = np.where(np.isfinite(X), X, self.fill_)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-9, std, 1.0)

    def _design(self, frame: pl.DataFrame) -> np.ndarray:
        X = self._raw(frame)
        X = np.where(np.isfinite(X), X, self.fill_)
        return np.clip((X - self.mean_) / self.scale_, -5.0, 5.0)

    @staticmethod
    def _with_treatment(Z: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.hstack([Z, t[:, None], Z * t[:, None]])

    def _fit_logistic(self, frame: pl.DataFrame, t: np.ndarray, y: np.ndarray, C: float):
        from sklearn.linear_model import LogisticRegression

        self._fit_scaling(frame)
        Z = self._design(frame)
        return LogisticRegression(C=C, max_iter=5000).fit(self._with_treatment(Z, t.astype(np.float64)), y)

    def fit(self, train: pl.DataFrame, treatment, y, valid: pl.DataFrame | None = None, valid_treatment=None,
            valid_y=None) -> "LinearUplift":
        from ml.metrics import qini_coefficient

        t = np.asarray(treatment, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        for name, mask in (("treated", t == 1), ("control", t == 0)):
            if len(np.unique(y[mask])) < 2:
                raise ValueError(f"discount_response: {name} outcomes hold a single class")
        has_valid = valid is not None and valid.height > 0 and valid_treatment is not None
        self.validation_qini_ = {}
        C = self.l2_grid[len(self.l2_grid) // 2]
        if has_valid and len(self.l2_grid) > 1:
            tv, yv = np.asarray(valid_treatment, dtype=np.float64), np.asarray(valid_y, dtype=np.float64)
            for c in self.l2_grid:
                self.model_ = self._fit_logistic(train, t, y, c)
                q = qini_coefficient(yv, tv, self.predict_uplift(valid))
                self.validation_qini_[c] = q if math.isfinite(q) else -math.inf
            C = max(self.l2_grid, key=lambda c: (self.validation_qini_[c], -c))
        self.C_ = C
        if has_valid:
            both = pl.concat([train, valid], how="diagonal_relaxed")
            t_all = np.concatenate([t, np.asarray(valid_treatment, dtype=np.float64)])
            y_all = np.concatenate([y, np.asarray(valid_y, dtype=np.int64)])
            self.model_ = self._fit_logistic(both, t_all, y_all, C)
        else:
            self.model_ = self._fit_logistic(train, t, y, C)
        self.records_ = {"C": C, "features": len(self.encoder_.numeric_columns),
                         "validation_qini": {str(k): v for k, v in self.validation_qini_.items()}}
        return self

    @property
    def feature_names(self) -> list[str]:
        return self.encoder_.feature_names

    def predict_arms(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        Z = self._design(frame)
        n = len(Z)
        treated = self.model_.predict_proba(self._with_treatment(Z, np.ones(n)))[:, 1]
        control = self.model_.predict_proba(self._with_treatment(Z, np.zeros(n)))[:, 1]
        return treated, control

    def predict_uplift(self, frame: pl.DataFrame) -> np.ndarray:
        if frame.height == 0:
            return np.zeros(0)
        treated, control = self.predict_arms(frame)
        return treated - control

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        return {self.output: self.predict_uplift(frame)}

    def effect_coefficients(self) -> dict[str, float]:
        """The treatment-interaction weights per (standardised) feature: what makes a customer respond."""
        k = len(self.feature_names)
        return dict(zip(self.feature_names, self.model_.coef_[0, k + 1:].tolist()))

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        """Drivers of the uplift: each feature's interaction term (log-odds added by treatment)."""
        Z = self._design(frame)
        n_features = len(self.feature_names)
        contribs = Z * self.model_.coef_[0, n_features + 1:][None, :]
        return {self.output: top_reasons(contribs, self.feature_names, k)}


LEARNERS = {"linear": LinearUplift, "t": TLearnerUplift, "x": XLearnerUplift}


def is_discount_campaign(assignments: pl.DataFrame) -> pl.Expr:
    """Discount offers: a positive discount_pct, or an offer_type mentioning discount/coupon/sale."""
    expr = pl.lit(False)
    if "discount_pct" in assignments.columns:
        expr = expr | (pl.col("discount_pct").fill_null(0) > 0)
    if "offer_type" in assignments.columns:
        expr = expr | pl.col("offer_type").fill_null("").str.to_lowercase().str.contains("discount|coupon|sale|percent")
    return expr


def uplift_training_set(warehouse_path: str | Path, outcome_days: int = OUTCOME_DAYS, discount_only: bool = True,
                        last_data_day=None, outcome_offset_days: int = 0) -> pl.DataFrame:
    """One row per assignment with a complete outcome window: features as of the newest snapshot
    before the send day, `treatment` (1/0), `outcome` (purchase in [send day + offset, send day +
    offset + N - 1]), campaign_id and sent_date. Assignments without a prior snapshot or whose window
    ends after the data are dropped."""
    if outcome_days < 1 or outcome_offset_days < 0:
        raise ValueError(f"outcome_days must be >= 1 and outcome_offset_days >= 0, got {outcome_days}, {outcome_offset_days}")
    last_offset = outcome_offset_days + outcome_days - 1
    assignments = warehouse.campaign_assignments(warehouse_path)
    if assignments.height == 0:
        return assignments
    if discount_only:
        discounted = assignments.filter(is_discount_campaign(assignments))
        if discounted.height:
            assignments = discounted
    assignments = assignments.filter(pl.col("group").is_in(["treatment", "control"]))
    if last_data_day is None:
        bounds = warehouse.activity_bounds(warehouse_path)
        if bounds is None:
            return assignments.head(0)
        last_data_day = bounds[1]
    assignments = assignments.filter(pl.col("sent_date") + timedelta(days=last_offset) <= last_data_day)
    snapshots = warehouse.snapshot_dates(warehouse_path)
    send_days = assignments.get_column("sent_date").unique().to_list()
    feature_day = {d: warehouse.latest_snapshot_before(snapshots, d) for d in send_days}
    assignments = assignments.with_columns(
        pl.col("sent_date").replace_strict(feature_day, default=None, return_dtype=pl.Date).alias("feature_date")
    ).filter(pl.col("feature_date").is_not_null())
    if assignments.height == 0:
        return assignments
    # A customer assigned twice in one campaign keeps the first assignment.
    assignments = assignments.unique(["campaign_id", "customer_id"], keep="first", maintain_order=True)
    assignments = assignments.with_row_index("key")
    windows = assignments.select(
        "key", "customer_id",
        (pl.col("sent_date") + timedelta(days=outcome_offset_days)).alias("window_start"),
        (pl.col("sent_date") + timedelta(days=last_offset)).alias("window_end"),
    )
    outcomes = warehouse.purchases_in_windows(warehouse_path, windows)
    features = warehouse.features_as_of(warehouse_path, sorted({d for d in feature_day.values() if d is not None}))
    assignments = assignments.with_columns(pl.col("customer_id").cast(features.schema["customer_id"]))
    frame = (
        assignments.select("key", "campaign_id", "customer_id", "group", "sent_date", "feature_date", "discount_pct")
        .join(outcomes.with_columns(pl.col("key").cast(pl.UInt32)), on="key", how="left")
        .join(features.rename({"as_of_date": "feature_date"}), on=["customer_id", "feature_date"], how="inner")
        .with_columns(
            (pl.col("group") == "treatment").cast(pl.Int8).alias("treatment"),
            (pl.col("orders").fill_null(0) > 0).cast(pl.Int8).alias("outcome"),
            pl.col("feature_date").alias("as_of_date"),
        )
        .drop("orders", "revenue", "key")
    )
    return frame


def split_by_send_date(frame: pl.DataFrame, valid_share: float = 0.2, test_share: float = 0.2, seed: int = 0) -> pl.DataFrame:
    """Time-based when there are >= 3 send days (oldest train, newer valid, newest test); otherwise
    the campaigns are simultaneous and rows are split by a hash of the customer id (no time crossing)."""
    days = sorted(frame.get_column("sent_date").unique().to_list())
    if len(days) >= 3:
        n_test = max(1, round(len(days) * test_share))
        n_valid = max(1, round(len(days) * valid_share))
        test_days, valid_days = set(days[-n_test:]), set(days[-n_test - n_valid:-n_test])
        return frame.with_columns(
            pl.when(pl.col("sent_date").is_in(list(test_days))).then(pl.lit("test"))
            .when(pl.col("sent_date").is_in(list(valid_days))).then(pl.lit("valid"))
            .otherwise(pl.lit("train")).alias("split")
        )
    bucket = pl.col("customer_id").cast(pl.String).hash(seed) % 1000 / 1000.0
    return frame.with_columns(
        pl.when(bucket < test_share).then(pl.lit("test"))
        .when(bucket < test_share + valid_share).then(pl.lit("valid"))
        .otherwise(pl.lit("train")).alias("split")
    )
