"""XGBoost training with explicit parameters and early stopping, shared by every boosted model."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import xgboost as xgb


@dataclass(frozen=True)
class BoosterParams:
    """The hyper-parameters every boosted model exposes; `tree_method` is always hist."""

    n_estimators: int = 400
    learning_rate: float = 0.08
    max_depth: int = 5
    min_child_weight: float = 2.0
    subsample: float = 0.9
    colsample_bytree: float = 0.9
    reg_lambda: float = 1.0
    max_bin: int = 256
    early_stopping_rounds: int = 30
    nthread: int = 0
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict | None) -> "BoosterParams":
        if not config:
            return cls()
        known = set(cls.__dataclass_fields__)
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown booster parameter(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**config)


def train_booster(
    X: np.ndarray,
    y: np.ndarray,
    objective: str,
    params: BoosterParams,
    X_valid: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    extra: dict | None = None,
    weight: np.ndarray | None = None,
) -> tuple[xgb.Booster, dict]:
    """Fit with early stopping on the validation set when given; returns the booster cut at its best
    iteration and a small record (best iteration, rounds trained, validation score)."""
    if len(X) == 0:
        raise ValueError("cannot train on an empty matrix")
    booster_params = {
        "objective": objective,
        "tree_method": "hist",
        "eta": params.learning_rate,
        "max_depth": params.max_depth,
        "min_child_weight": params.min_child_weight,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "lambda": params.reg_lambda,
        "max_bin": params.max_bin,
        "seed": params.seed,
        "verbosity": 0,
    }
    if params.nthread:
        booster_params["nthread"] = params.nthread
    booster_params.update(extra or {})
    dtrain = xgb.QuantileDMatrix(X, label=y, weight=weight, max_bin=params.max_bin)
    evals = []
    has_valid = X_valid is not None and y_valid is not None and len(X_valid) > 0
    if has_valid:
        dvalid = xgb.DMatrix(X_valid, label=y_valid)
        evals = [(dvalid, "valid")]
    history: dict = {}
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=params.n_estimators,
        evals=evals,
        evals_result=history,
        early_stopping_rounds=params.early_stopping_rounds if has_valid else None,
        verbose_eval=False,
    )
    rounds = booster.num_boosted_rounds()
    best = getattr(booster, "best_iteration", None) if has_valid else None
    if best is not None and best + 1 < rounds:
        booster = booster[: best + 1]
    record = {"rounds_trained": rounds, "best_iteration": int(best) if best is not None else rounds - 1}
    if has_valid and history.get("valid"):
        metric, values = next(iter(history["valid"].items()))
        record["valid_metric"] = metric
        record["valid_score"] = float(values[record["best_iteration"]])
    return booster, record


def predict(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    """Fast prediction straight from a float32 numpy matrix (no DMatrix copy)."""
    if len(X) == 0:
        return np.zeros(0, dtype=np.float32)
    return booster.inplace_predict(X)


def contributions(booster: xgb.Booster, X: np.ndarray, approx: bool = False) -> np.ndarray:
    """SHAP contributions from XGBoost itself: (n, n_features + 1) or (n, n_classes, n_features + 1);
    the last column is the bias."""
    if len(X) == 0:
        n_features = X.shape[1] if X.ndim == 2 else 0
        return np.zeros((0, n_features + 1), dtype=np.float32)
    return booster.predict(xgb.DMatrix(X), pred_contribs=True, approx_contribs=approx)
