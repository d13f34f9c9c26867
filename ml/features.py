"""Turn a customer feature frame (any subset of marts.customer_features columns) into a float matrix.

The feature set is treated generically: every numeric or boolean column is a feature, a few
low-cardinality string columns are one-hot encoded with a vocabulary learnt at fit time and stored
in the encoder, identifiers and dates are never features. A column missing at transform time
becomes NaN (XGBoost routes missing values), so a model trained on a richer shop still scores a
poorer one.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import polars as pl

ID_COLUMNS = ("customer_id", "as_of_date", "email_sha256", "first_seen_date")
# labels and bookkeeping that training sets carry next to the features: never model inputs
NON_FEATURE_COLUMNS = ID_COLUMNS + (
    "split", "label_orders", "label_revenue", "next_category", "treatment", "outcome", "campaign_id", "group",
    "sent_date", "feature_date", "discount_pct", "persona",
)
DEFAULT_CATEGORICALS = ("primary_device", "country", "top_category", "gender")
KEY_COLUMNS = ("customer_id", "as_of_date")


def is_numeric_dtype(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype == pl.Boolean


_CACHE: dict | None = None


@contextmanager
def encoding_cache() -> Iterator[None]:
    """Within the block, encoding the same frame with an identical encoder happens once (scoring
    runs several models and their reason codes over one frame). The cache holds the frames it keys
    on, so their ids cannot be reused while it lives."""
    global _CACHE
    outer = _CACHE
    _CACHE = {} if outer is None else outer
    try:
        yield
    finally:
        if outer is None:
            _CACHE = None


@dataclass
class FeatureEncoder:
    """Numeric columns as float32, categoricals one-hot over a stored vocabulary (unknown -> all zero)."""

    categorical_columns: tuple[str, ...] = DEFAULT_CATEGORICALS
    max_categories: int = 20
    min_category_count: int = 5
    exclude: tuple[str, ...] = ()
    numeric_columns: list[str] = field(default_factory=list)
    vocabulary: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, frame: pl.DataFrame) -> "FeatureEncoder":
        skip = set(NON_FEATURE_COLUMNS) | set(self.exclude) | set(self.categorical_columns)
        self.numeric_columns = [
            name for name, dtype in frame.schema.items() if name not in skip and is_numeric_dtype(dtype)
        ]
        self.vocabulary = {}
        for column in self.categorical_columns:
            if column not in frame.columns or column in self.exclude:
                continue
            counts = (
                frame.select(pl.col(column).cast(pl.String).alias("v"))
                .drop_nulls()
                .group_by("v")
                .len()
                .filter(pl.col("len") >= self.min_category_count)
                .sort(["len", "v"], descending=[True, False])
                .head(self.max_categories)
            )
            values = counts.get_column("v").to_list()
            if values:
                self.vocabulary[column] = values
        if not self.numeric_columns and not self.vocabulary:
            raise ValueError(f"no usable feature columns in frame with columns {frame.columns}")
        return self

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric_columns)
        for column, values in self.vocabulary.items():
            names.extend(f"{column}={value}" for value in values)
        return names

    def expressions(self, frame: pl.DataFrame) -> list[pl.Expr]:
        exprs: list[pl.Expr] = []
        for name in self.numeric_columns:
            if name in frame.columns and is_numeric_dtype(frame.schema[name]):
                exprs.append(pl.col(name).cast(pl.Float32).fill_nan(None).alias(name))
            else:
                exprs.append(pl.lit(None, dtype=pl.Float32).alias(name))
        for column, values in self.vocabulary.items():
            present = column in frame.columns
            for value in values:
                alias = f"{column}={value}"
                if present:
                    exprs.append((pl.col(column).cast(pl.String) == value).fill_null(False).cast(pl.Float32).alias(alias))
                else:
                    exprs.append(pl.lit(0.0, dtype=pl.Float32).alias(alias))
        return exprs

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        """(n_rows, n_features) float32 matrix, NaN where a value is missing."""
        if not self.numeric_columns and not self.vocabulary:
            raise RuntimeError("FeatureEncoder is not fitted")
        if frame.height == 0:
            return np.zeros((0, len(self.feature_names)), dtype=np.float32)
        key = None
        if _CACHE is not None:
            key = (id(frame), tuple(self.numeric_columns), tuple((k, tuple(v)) for k, v in self.vocabulary.items()))
            hit = _CACHE.get(key)
            if hit is not None:
                return hit[1]
        matrix = frame.select(self.expressions(frame)).to_numpy()
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if key is not None:
            _CACHE[key] = (frame, matrix)
        return matrix

    def to_dict(self) -> dict:
        return {
            "categorical_columns": list(self.categorical_columns),
            "max_categories": self.max_categories,
            "min_category_count": self.min_category_count,
            "exclude": list(self.exclude),
            "numeric_columns": list(self.numeric_columns),
            "vocabulary": {k: list(v) for k, v in self.vocabulary.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureEncoder":
        return cls(
            categorical_columns=tuple(data["categorical_columns"]),
            max_categories=int(data["max_categories"]),
            min_category_count=int(data["min_category_count"]),
            exclude=tuple(data.get("exclude", ())),
            numeric_columns=list(data["numeric_columns"]),
            vocabulary={k: list(v) for k, v in data["vocabulary"].items()},
        )


def column_or(frame: pl.DataFrame, name: str, default: float = 0.0) -> np.ndarray:
    """A numeric column as float64 with NaN/null replaced by `default`; all `default` if absent."""
    if name not in frame.columns or not is_numeric_dtype(frame.schema[name]):
        return np.full(frame.height, default, dtype=np.float64)
    values = frame.get_column(name).cast(pl.Float64).to_numpy().astype(np.float64, copy=True)
    values[~np.isfinite(values)] = default
    return values


def string_column(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A column as an object array of str/None; all None if absent."""
    if name not in frame.columns:
        return np.full(frame.height, None, dtype=object)
    return frame.get_column(name).cast(pl.String).to_numpy().astype(object)
