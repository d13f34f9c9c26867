"""Next purchase category: XGBoost multi:softprob over the top categories plus 'other'.

Trained on customers who purchase within the horizon after a cutoff; the label is the category of
their first purchase day (training_sets.category_training_set). Scoring predicts for everyone.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ml.boosting import BoosterParams, predict, train_booster
from ml.features import DEFAULT_CATEGORICALS, FeatureEncoder
from ml.reasons import booster_reasons

OTHER = "other"
HORIZON_DAYS = 30
# One tree per class per round: fewer, larger steps than the binary models keep fit and scoring costs
# in line (measured: 400 rounds x 9 classes took 50 s to fit on 200k rows and scored 156k rows/s).
DEFAULT_BOOSTER = {"n_estimators": 120, "learning_rate": 0.2, "max_depth": 4}


def top_classes(labels, top_k: int) -> list[str]:
    """The `top_k` most frequent categories (ties by name) plus 'other' when anything is left out."""
    values, counts = np.unique(np.asarray(labels, dtype=object).astype(str), return_counts=True)
    order = sorted(range(len(values)), key=lambda i: (-counts[i], values[i]))
    kept = [str(values[i]) for i in order[:top_k] if values[i] != OTHER]
    if len(values) > len(kept) or OTHER in values:
        kept.append(OTHER)
    return kept


def encode_labels(labels, classes: list[str]) -> np.ndarray:
    """Class index per label; unknown categories map to 'other' (or fail if there is no 'other')."""
    mapping = {c: i for i, c in enumerate(classes)}
    default = mapping.get(OTHER)
    series = pl.Series("y", np.asarray(labels, dtype=object).astype(str), dtype=pl.String)
    encoded = series.replace_strict(mapping, default=default, return_dtype=pl.Int32)
    if encoded.null_count():
        raise ValueError("labels hold categories outside the classes and there is no 'other' class")
    return encoded.to_numpy()


class NextCategoryModel:
    kind = "model"
    output = "next_category"

    def __init__(self, top_k: int = 8, booster_params: BoosterParams | None = None,
                 categorical_columns: tuple[str, ...] = DEFAULT_CATEGORICALS, max_categories: int = 20):
        self.top_k = top_k
        self.booster_params = booster_params or BoosterParams(**DEFAULT_BOOSTER)
        self.categorical_columns = tuple(categorical_columns)
        self.max_categories = max_categories

    def fit(self, train: pl.DataFrame, labels, valid: pl.DataFrame | None = None, valid_labels=None) -> "NextCategoryModel":
        self.classes_ = top_classes(labels, self.top_k)
        if len(self.classes_) < 2:
            raise ValueError("next_category: fewer than two categories in the labels")
        y = encode_labels(labels, self.classes_)
        self.encoder_ = FeatureEncoder(self.categorical_columns, self.max_categories).fit(train)
        X = self.encoder_.transform(train)
        has_valid = valid is not None and valid.height > 0
        Xv = self.encoder_.transform(valid) if has_valid else None
        yv = encode_labels(valid_labels, self.classes_) if has_valid else None
        self.booster_, self.training_record_ = train_booster(
            X, y, "multi:softprob", self.booster_params, Xv, yv,
            extra={"num_class": len(self.classes_), "eval_metric": "mlogloss"},
        )
        return self

    @property
    def feature_names(self) -> list[str]:
        return self.encoder_.feature_names

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        X = self.encoder_.transform(frame)
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        return predict(self.booster_, X).reshape(len(X), len(self.classes_)).astype(np.float64)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return np.asarray(self.classes_, dtype=object)[self.predict_proba(frame).argmax(axis=1)]

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        return {self.output: self.predict(frame)}

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        """Drivers of each customer's predicted class."""
        X = self.encoder_.transform(frame)
        if len(X) == 0:
            return {self.output: np.zeros(0, dtype=object)}
        predicted = predict(self.booster_, X).reshape(len(X), len(self.classes_)).argmax(axis=1)
        return {self.output: booster_reasons([(self.booster_, 1.0)], X, self.feature_names, k, approx, predicted)}
