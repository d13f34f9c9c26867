"""The one MLflow flavour every score is stored in: a pyfunc wrapping a pickled scorer.

A scorer is any object with `kind` ("model" or "baseline"), `score(frame) -> {column: array}` and
(optionally) `reason_codes(frame, k)`; models and baselines look the same, so `models:/<name>@champion`
always loads something that scores, whichever won the gate.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import polars as pl

ESTIMATOR_ARTIFACT = "estimator"


def save_estimator(estimator, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "estimator.pkl"
    with path.open("wb") as handle:
        pickle.dump(estimator, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_estimator(path: str | Path):
    with Path(path).open("rb") as handle:
        return pickle.load(handle)


def to_polars(model_input) -> pl.DataFrame:
    if isinstance(model_input, pl.DataFrame):
        return model_input
    if isinstance(model_input, pd.DataFrame):
        return pl.from_pandas(model_input)
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(model_input).__name__}")


def score_frame(estimator, frame: pl.DataFrame) -> pd.DataFrame:
    outputs = estimator.score(frame)
    return pd.DataFrame({k: (v.astype(object) if v.dtype == object else v) for k, v in outputs.items()})


class ScorePyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc face of a scorer: predict(DataFrame of customer features) -> DataFrame of scores."""

    def load_context(self, context) -> None:
        self.estimator = load_estimator(context.artifacts[ESTIMATOR_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return score_frame(self.estimator, to_polars(model_input))


def example_output(estimator, example: pl.DataFrame) -> pd.DataFrame:
    out = score_frame(estimator, example)
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column].dtype):
            out[column] = out[column].astype(np.float64)
        elif not pd.api.types.is_numeric_dtype(out[column].dtype):
            out[column] = out[column].astype(str)
    return out
