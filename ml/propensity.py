"""Purchase propensity over a horizon and churn risk of existing buyers: XGBoost binary classifiers.

Labels (built in training_sets): purchase = at least one order in (cutoff, cutoff + h];
churn = an existing buyer (frequency > 0 at the cutoff) with no order in (cutoff, cutoff + 90].
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ml.boosting import BoosterParams, contributions, predict, train_booster
from ml.fallbacks import buyers_mask
from ml.features import DEFAULT_CATEGORICALS, FeatureEncoder
from ml.reasons import booster_reasons

DEFAULT_HORIZONS = (7, 30, 90)
CHURN_HORIZON_DAYS = 90


class BinaryBoostedScore:
    """Encoder + XGBoost binary:logistic booster; `score` returns {output: probability}."""

    kind = "model"

    def __init__(
        self,
        output: str,
        booster_params: BoosterParams | None = None,
        categorical_columns: tuple[str, ...] = DEFAULT_CATEGORICALS,
        max_categories: int = 20,
        exclude: tuple[str, ...] = (),
    ):
        self.output = output
        self.booster_params = booster_params or BoosterParams()
        self.categorical_columns = tuple(categorical_columns)
        self.max_categories = max_categories
        self.exclude = tuple(exclude)

    def fit(self, train: pl.DataFrame, y, valid: pl.DataFrame | None = None, y_valid=None) -> "BinaryBoostedScore":
        y = np.asarray(y, dtype=np.float32)
        if len(np.unique(y)) < 2:
            raise ValueError(f"{self.output}: training labels hold a single class")
        self.encoder_ = FeatureEncoder(self.categorical_columns, self.max_categories, exclude=self.exclude).fit(train)
        X = self.encoder_.transform(train)
        Xv = self.encoder_.transform(valid) if valid is not None and valid.height else None
        yv = np.asarray(y_valid, dtype=np.float32) if Xv is not None else None
        positive = float(y.mean())
        self.booster_, self.training_record_ = train_booster(
            X, y, "binary:logistic", self.booster_params, Xv, yv,
            extra={"eval_metric": "logloss", "base_score": min(max(positive, 1e-4), 1 - 1e-4)},
        )
        return self

    @property
    def feature_names(self) -> list[str]:
        return self.encoder_.feature_names

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        return predict(self.booster_, self.encoder_.transform(frame)).astype(np.float64)

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        return {self.output: self.predict_proba(frame)}

    def contributions(self, frame: pl.DataFrame, approx: bool = False) -> np.ndarray:
        return contributions(self.booster_, self.encoder_.transform(frame), approx)

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        X = self.encoder_.transform(frame)
        return {self.output: booster_reasons([(self.booster_, 1.0)], X, self.feature_names, k, approx)}


class PurchasePropensity(BinaryBoostedScore):
    """P(at least one purchase in the next `horizon_days`)."""

    def __init__(self, horizon_days: int = 30, booster_params: BoosterParams | None = None,
                 categorical_columns: tuple[str, ...] = DEFAULT_CATEGORICALS, max_categories: int = 20):
        super().__init__(f"p_purchase_{horizon_days}d", booster_params, categorical_columns, max_categories)
        self.horizon_days = horizon_days


class ChurnRisk(BinaryBoostedScore):
    """P(an existing buyer makes no purchase in the next `horizon_days`); NaN for non-buyers."""

    def __init__(self, horizon_days: int = CHURN_HORIZON_DAYS, booster_params: BoosterParams | None = None,
                 categorical_columns: tuple[str, ...] = DEFAULT_CATEGORICALS, max_categories: int = 20):
        super().__init__("p_churn", booster_params, categorical_columns, max_categories)
        self.horizon_days = horizon_days

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        p = self.predict_proba(frame)
        return {self.output: np.where(buyers_mask(frame), p, np.nan)}


def purchase_target(frame: pl.DataFrame) -> np.ndarray:
    return (frame.get_column("label_orders").to_numpy() > 0).astype(np.float32)


def churn_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Only existing buyers can churn."""
    return frame.filter(pl.Series(buyers_mask(frame)))


def churn_target(frame: pl.DataFrame) -> np.ndarray:
    return (frame.get_column("label_orders").to_numpy() <= 0).astype(np.float32)
