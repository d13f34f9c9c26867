"""Transparent RFM heuristic: recency / frequency / monetary quantile scores and a propensity.

Scores. Each dimension is cut into ``n_bins`` quantile bins of the customers who purchased
(``recency_days`` finite): 1 = worst, n_bins = best. Recency is days since the last purchase, so
*fewer* days score higher. Quantile edges come from a reference population (by default the
customers being scored; pass ``edges`` from :func:`rfm_bin_edges` to score new customers on the
training population's scale). A value equal to an edge falls into the lower bin, so tied values
always share a score (e.g. all one-time buyers share the lowest frequency score).
Missing data: a customer who never purchased (``recency_days`` NaN) scores 0 on all three
dimensions, below every purchaser; a purchaser with an unknown frequency or monetary value (NaN)
scores 0 on that dimension.

Propensity. ``rfm_propensity`` = (R + F + M) / (3 * n_bins), in [0, 1]: a rank scaling, a
ranking score and *not* a calibrated probability; churn = 1 - propensity. ``RFMPropensity`` turns
the same score into a probability: it keeps the training population's bin edges and fits an
isotonic (monotone non-decreasing) regression of the observed outcome on the score, i.e. the
purchase rate per score level, pooled where needed to stay monotone. ``RFMExpectedCount`` does the
same for a count outcome (mean count per score level).
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression

from ._inputs import as_float_array, same_length

DIMENSIONS = ("recency", "frequency", "monetary")


def _check_rfm(recency_days, frequency, monetary):
    recency = as_float_array(recency_days, "recency_days")
    freq = as_float_array(frequency, "frequency")
    money = as_float_array(monetary, "monetary")
    same_length(recency_days=recency, frequency=freq, monetary=money)
    for name, a in (("recency_days", recency), ("frequency", freq)):
        if np.any(np.isinf(a)):
            raise ValueError(f"{name} has infinite value(s); use NaN for 'never purchased'")
        if np.any(a < 0):
            raise ValueError(f"{name} has {int(np.sum(a < 0))} negative value(s)")
    if np.any(np.isinf(money)):
        raise ValueError("monetary has infinite value(s)")
    return recency, freq, money


def _oriented(recency, freq, money):
    """Values per dimension, oriented so that larger is better, NaN where unknown."""
    purchased = ~np.isnan(recency)
    nan = np.full_like(recency, np.nan)
    return purchased, {
        "recency": np.where(purchased, -recency, nan),
        "frequency": np.where(purchased, freq, nan),
        "monetary": np.where(purchased, money, nan),
    }


def rfm_bin_edges(recency_days, frequency, monetary, n_bins: int = 5) -> dict[str, np.ndarray]:
    """Quantile edges (n_bins - 1 per dimension, recency negated) of the purchasers given."""
    if int(n_bins) != n_bins or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins}")
    _, oriented = _oriented(*_check_rfm(recency_days, frequency, monetary))
    levels = np.linspace(0.0, 1.0, int(n_bins) + 1)[1:-1]
    edges = {}
    for name, values in oriented.items():
        known = values[~np.isnan(values)]
        edges[name] = np.quantile(known, levels) if len(known) else np.array([])
    return edges


def rfm_scores(
    recency_days, frequency, monetary, n_bins: int = 5, edges: dict | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R, F, M integer scores: 1..n_bins for purchasers, 0 for never purchased / unknown."""
    recency, freq, money = _check_rfm(recency_days, frequency, monetary)
    if edges is None:
        edges = rfm_bin_edges(recency, freq, money, n_bins)
    elif set(edges) != set(DIMENSIONS) or any(len(edges[d]) != n_bins - 1 for d in DIMENSIONS):
        raise ValueError(f"edges must hold {n_bins - 1} edges for each of {DIMENSIONS}")
    _, oriented = _oriented(recency, freq, money)
    scores = []
    for name in DIMENSIONS:
        values = oriented[name]
        known = ~np.isnan(values)
        score = np.zeros(len(values), dtype=np.int64)
        score[known] = 1 + np.searchsorted(edges[name], values[known], side="left")
        scores.append(score)
    return tuple(scores)


def rfm_propensity(
    recency_days, frequency, monetary, n_bins: int = 5, edges: dict | None = None
) -> np.ndarray:
    """(R + F + M) / (3 n_bins) in [0, 1]: a ranking score (rank scaling, not calibrated)."""
    r, f, m = rfm_scores(recency_days, frequency, monetary, n_bins, edges)
    return (r + f + m) / (3.0 * n_bins)


def rfm_churn(
    recency_days, frequency, monetary, n_bins: int = 5, edges: dict | None = None
) -> np.ndarray:
    """1 - rfm_propensity."""
    return 1.0 - rfm_propensity(recency_days, frequency, monetary, n_bins, edges)


def _split_columns(X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    array = np.asarray(X, dtype=float)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(
            f"X must have 3 columns (recency_days, frequency, monetary), got shape {array.shape}"
        )
    return array[:, 0], array[:, 1], array[:, 2]


class _RFMIsotonic:
    def __init__(self, n_bins: int = 5):
        self.n_bins = n_bins

    def _check_target(self, y: np.ndarray) -> None:
        raise NotImplementedError

    def fit(self, X, y):
        """X columns: recency_days, frequency, monetary; y: the outcome observed afterwards."""
        recency, freq, money = _split_columns(X)
        target = as_float_array(y, "y")
        same_length(X=recency, y=target)
        if np.any(~np.isfinite(target)):
            raise ValueError("y has missing or infinite values")
        self._check_target(target)
        if not np.any(~np.isnan(recency)):
            raise ValueError("no purchaser in X (recency_days all NaN): nothing to learn edges on")
        self.edges_ = rfm_bin_edges(recency, freq, money, self.n_bins)
        score = rfm_propensity(recency, freq, money, self.n_bins, self.edges_)
        self.isotonic_ = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(
            score, target
        )
        levels = np.unique(score)
        fitted = self.isotonic_.predict(levels)
        self.score_table_ = {float(s): float(v) for s, v in zip(levels, fitted)}
        return self

    def _predict_mean(self, X) -> np.ndarray:
        if not hasattr(self, "isotonic_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        recency, freq, money = _split_columns(X)
        score = rfm_propensity(recency, freq, money, self.n_bins, self.edges_)
        return self.isotonic_.predict(score)


class RFMPropensity(_RFMIsotonic):
    """P(outcome | RFM score), calibrated by isotonic regression on a training split.

    ``score_table_`` maps each RFM score level seen in training to its fitted probability.
    """

    def _check_target(self, y):
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("y must be binary (0/1)")

    def predict_proba(self, X) -> np.ndarray:
        """Array (n, 2): columns P(y = 0), P(y = 1), as scikit-learn classifiers return."""
        p = np.clip(self._predict_mean(X), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict_churn(self, X) -> np.ndarray:
        """1 - P(y = 1)."""
        return self.predict_proba(X)[:, 0]


class RFMExpectedCount(_RFMIsotonic):
    """E[count | RFM score] (isotonic on a training split), e.g. purchases in the next period."""

    def _check_target(self, y):
        if np.any(y < 0):
            raise ValueError("y must be a non-negative count")

    def predict(self, X) -> np.ndarray:
        return self._predict_mean(X)
