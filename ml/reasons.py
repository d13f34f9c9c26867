"""Per-customer reason codes: the top-k drivers of a score from XGBoost's own SHAP contributions.

`top_reasons` is vectorised: one argsort over the contribution matrix, then column-wise string
concatenation; no loop over customers.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def drop_bias(contribs: np.ndarray, n_features: int) -> np.ndarray:
    """XGBoost appends the bias as the last column; keep only the feature columns."""
    if contribs.ndim != 2 or contribs.shape[1] not in (n_features, n_features + 1):
        raise ValueError(f"expected (n, {n_features}[+1]) contributions, got shape {contribs.shape}")
    return contribs[:, :n_features]


def select_class(contribs: np.ndarray, class_index: np.ndarray) -> np.ndarray:
    """For multi-class contributions (n, classes, f+1): each row's contributions to its own class."""
    if contribs.ndim != 3:
        raise ValueError(f"expected (n, classes, features) contributions, got shape {contribs.shape}")
    return contribs[np.arange(contribs.shape[0]), np.asarray(class_index, dtype=np.int64)]


def top_reasons(contribs: np.ndarray, feature_names: list[str], k: int = 3, min_abs: float = 0.0) -> np.ndarray:
    """Strings like "+recency_days, +cart_adds_30d, -email_open_rate": the k features with the
    largest absolute contribution, signed by direction; features with |contribution| <= min_abs are
    left out (a row with no driver gets ""). Returns an object array of length n."""
    names = list(feature_names)
    values = drop_bias(np.asarray(contribs), len(names))
    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=object)
    k = max(0, min(k, len(names)))
    if k == 0:
        return np.full(n, "", dtype=object)
    magnitude = np.abs(values)
    if k < len(names):
        part = np.argpartition(-magnitude, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(len(names)), (n, 1))
    order = np.take_along_axis(magnitude, part, axis=1).argsort(axis=1)[:, ::-1]
    top = np.take_along_axis(part, order, axis=1)
    top_values = np.take_along_axis(values, top, axis=1)
    plus = np.array(["+" + name for name in names], dtype=object)
    minus = np.array(["-" + name for name in names], dtype=object)
    tokens = np.where(top_values > 0, plus[top], minus[top])
    keep = np.abs(top_values) > min_abs
    columns = [
        pl.Series(f"r{j}", np.where(keep[:, j], tokens[:, j], None), dtype=pl.String) for j in range(k)
    ]
    joined = pl.DataFrame(columns).select(pl.concat_str(pl.all(), separator=", ", ignore_nulls=True).alias("r"))
    return joined.get_column("r").fill_null("").to_numpy().astype(object)


def format_top(index: np.ndarray, value: np.ndarray, feature_names: list[str], min_abs: float = 0.0) -> pl.Series:
    """Reason strings from each row's top-k (feature index, contribution), largest first: the same
    text as `top_reasons`, built column-wise in polars (no Python string per row)."""
    names = list(feature_names)
    index = np.asarray(index)
    n = index.shape[0]
    if n == 0 or index.shape[1] == 0:
        return pl.Series("r", [""] * n, dtype=pl.String)
    tokens = pl.Series("t", ["+" + name for name in names] + ["-" + name for name in names], dtype=pl.String)
    value = np.asarray(value)
    codes = index + np.where(value > 0, 0, len(names))
    columns = []
    for j in range(index.shape[1]):
        token = tokens.gather(codes[:, j].astype(np.int64))
        keep = pl.Series(np.abs(value[:, j]) > min_abs)
        columns.append(pl.select(pl.when(keep).then(token).otherwise(None)).to_series().alias(f"r{j}"))
    joined = pl.DataFrame(columns).select(pl.concat_str(pl.all(), separator=", ", ignore_nulls=True).alias("r"))
    return joined.get_column("r").fill_null("")


def booster_reasons(parts: list[tuple], X: np.ndarray, feature_names: list[str], k: int = 3, approx: bool = True,
                    row_group: np.ndarray | None = None) -> pl.Series:
    """Reason strings of sum(weight x contributions of booster) over `parts` [(booster, weight)].
    approx=True: Saabas contributions, the numbers of XGBoost's `approx_contribs=True`, from
    ml.saabas (tree walks, top-k only). approx=False: exact TreeSHAP from XGBoost (~100x slower).
    `row_group`: per row, the output group (class) whose contributions count (multi-class models)."""
    if approx:
        from ml import saabas

        index, value = saabas.top_k_contributions(saabas.combine(parts), X, k, row_group)
        return format_top(index, value, feature_names)
    from ml.boosting import contributions

    total = None
    for booster, weight in parts:
        contribs = contributions(booster, X, False)
        if contribs.ndim == 3:
            contribs = select_class(contribs, np.zeros(len(X), dtype=np.int64) if row_group is None else row_group)
        total = weight * contribs if total is None else total + weight * contribs
    return pl.Series("r", top_reasons(total, feature_names, k), dtype=pl.String)


def shared_booster_reasons(shared: list[tuple], outputs: dict[str, list[tuple]], X: np.ndarray,
                           feature_names: list[str], k: int = 3, approx: bool = True) -> dict[str, pl.Series]:
    """{output: booster_reasons(shared + outputs[output], ...)}, with the shared boosters walked once
    for all outputs when approx (Saabas)."""
    if not approx:
        return {name: booster_reasons(shared + parts, X, feature_names, k, approx) for name, parts in outputs.items()}
    from ml import saabas

    forests = [saabas.combine(parts) if parts else None for parts in outputs.values()]
    results = saabas.shared_top_k_contributions(saabas.combine(shared), forests, X, k)
    return {name: format_top(index, value, feature_names) for name, (index, value) in zip(outputs, results)}
