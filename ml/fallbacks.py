"""The baselines (ml/baselines) as servable scorers on a customer feature frame.

Every family's baseline has the same face as its model: `score(frame) -> {output column: array}`
and `reason_codes(frame, k) -> {output column: strings}`, with `kind = "baseline"`. They are what is
compared against on every split and what is served when a model is not trained or loses its gate,
so they must fit and score on a brand-new tiny shop: each degrades to an explicit constant
(recorded in `description`) when even the baseline has nothing to learn from.

BG/NBD inputs are derived from the feature snapshot (days): frequency = orders - 1 (repeat
purchases), T = tenure_days (days since first seen, an upper bound of days since first purchase),
recency = T - recency_days (time from first to last purchase), monetary = avg_order_value.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ml.baselines.bgnbd import BGNBD
from ml.baselines.gamma_gamma import GammaGamma
from ml.baselines.rfm import RFMPropensity, rfm_bin_edges, rfm_propensity
from ml.features import column_or, string_column


def buyers_mask(frame: pl.DataFrame) -> np.ndarray:
    """Customers with at least one purchase as of the snapshot."""
    if "frequency" in frame.columns:
        return column_or(frame, "frequency", 0.0) > 0
    if "recency_days" in frame.columns:
        return frame.get_column("recency_days").is_not_null().to_numpy()
    return np.zeros(frame.height, dtype=bool)


def rfm_matrix(frame: pl.DataFrame) -> np.ndarray:
    """(recency_days with NaN = never bought, frequency, monetary) as RFMPropensity expects."""
    bought = buyers_mask(frame)
    recency = np.where(bought, np.maximum(column_or(frame, "recency_days", np.nan), 0.0), np.nan)
    recency = np.where(bought & np.isnan(recency), 0.0, recency)
    frequency = np.maximum(column_or(frame, "frequency", 0.0), 0.0)
    monetary = column_or(frame, "monetary", 0.0)
    return np.column_stack([recency, frequency, monetary])


def bgnbd_inputs(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(repeat frequency, recency, T, mean order value) in days from a feature snapshot."""
    orders = np.maximum(np.round(column_or(frame, "frequency", 0.0)), 0.0)
    x = np.maximum(orders - 1.0, 0.0)
    big_t = np.maximum(column_or(frame, "tenure_days", 0.0), 0.0)
    since_last = column_or(frame, "recency_days", np.nan)
    since_last = np.where(np.isnan(since_last), big_t, since_last)
    t_x = np.clip(big_t - since_last, 0.0, big_t)
    t_x = np.where(x > 0, t_x, 0.0)
    aov = column_or(frame, "avg_order_value", np.nan)
    fallback = np.divide(column_or(frame, "monetary", 0.0), np.maximum(orders, 1.0))
    monetary = np.where(np.isfinite(aov) & (aov > 0), aov, fallback)
    return x, t_x, big_t, monetary


class RFMScore:
    """RFM propensity (isotonic on the RFM score) for purchase or churn; constant rate if RFM cannot fit."""

    kind = "baseline"

    def __init__(self, output: str, churn: bool = False, n_bins: int = 5):
        self.output = output
        self.churn = churn
        self.n_bins = n_bins

    def fit(self, frame: pl.DataFrame, y: np.ndarray | None = None) -> "RFMScore":
        """With labels: isotonic calibration of the RFM score. Without (a shop too young for any
        label window): the uncalibrated RFM rank score (R + F + M) / (3 n_bins)."""
        X = rfm_matrix(frame)
        self.model_ = None
        self.edges_ = None
        if y is None:
            self.base_rate_ = 0.0
            self.description = "uncalibrated RFM rank score (no labelled history yet)"
            if np.any(~np.isnan(X[:, 0])):
                self.edges_ = rfm_bin_edges(X[:, 0], X[:, 1], X[:, 2], self.n_bins)
            return self
        y = np.asarray(y, dtype=np.float64)
        self.base_rate_ = float(y.mean()) if len(y) else 0.0
        self.description = f"constant rate {self.base_rate_:.4f} (RFM not fittable)"
        target = (1.0 - y) if self.churn else y  # churn: learn P(purchase) and report 1 - p
        if len(y) and np.any(~np.isnan(X[:, 0])):
            try:
                self.model_ = RFMPropensity(n_bins=self.n_bins).fit(X, target)
                self.description = f"RFM score ({self.n_bins} bins) with isotonic calibration"
            except ValueError as exc:
                self.description += f": {exc}"
        return self

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        if self.model_ is None and self.edges_ is not None:
            X = rfm_matrix(frame)
            p = rfm_propensity(X[:, 0], X[:, 1], X[:, 2], self.n_bins, self.edges_)
            return 1.0 - p if self.churn else p
        if self.model_ is None:
            return np.full(frame.height, self.base_rate_)
        p = self.model_.predict_proba(rfm_matrix(frame))[:, 1]
        return 1.0 - p if self.churn else p

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        p = self.predict_proba(frame)
        if self.churn:
            p = np.where(buyers_mask(frame), p, np.nan)
        return {self.output: p}

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        return {self.output: _rfm_reasons(frame, self.model_ is not None or self.edges_ is not None)}


def _rfm_reasons(frame: pl.DataFrame, fitted: bool) -> np.ndarray:
    if not fitted:
        return np.full(frame.height, "baseline: constant rate", dtype=object)
    return np.full(frame.height, "baseline: recency_days, frequency, monetary (RFM)", dtype=object)


class BGNBDValue:
    """Expected orders and revenue over `horizon_days` from BG/NBD x Gamma-Gamma; customers who
    never bought (outside BG/NBD) get the training population's observed rate per day. When the
    models cannot be fitted (no repeat buyers) buyers also get an observed rate per day."""

    kind = "baseline"
    outputs = ("expected_orders_365d", "expected_value_365d")

    def __init__(self, horizon_days: int = 365, penalizer: float = 0.001):
        self.horizon_days = horizon_days
        self.penalizer = penalizer

    def fit(self, frame: pl.DataFrame, label_orders=None, label_revenue=None, label_days: int | None = None) -> "BGNBDValue":
        x, t_x, big_t, monetary = bgnbd_inputs(frame)
        bought = buyers_mask(frame)
        notes = []
        self.bgnbd_ = None
        self.gg_ = None
        fit_rows = bought & (big_t > 0)
        try:
            self.bgnbd_ = BGNBD(penalizer=self.penalizer).fit(x[fit_rows], t_x[fit_rows], big_t[fit_rows])
        except (ValueError, FloatingPointError) as exc:
            notes.append(f"BG/NBD not fitted: {exc}")
        gg_rows = fit_rows & (x > 0) & np.isfinite(monetary) & (monetary > 0)
        try:
            self.gg_ = GammaGamma(penalizer=self.penalizer).fit(x[gg_rows], monetary[gg_rows])
            if self.gg_.params_["q"] <= 1:
                raise ValueError("q <= 1")
        except (ValueError, FloatingPointError, KeyError) as exc:
            self.gg_ = None
            notes.append(f"Gamma-Gamma not fitted: {exc}")
        # Observed per-day rates for customers outside the models (and for everyone if they failed).
        self.rate_never_ = (0.0, 0.0)
        self.rate_buyer_ = (0.0, 0.0)
        if label_orders is not None and label_days:
            lo = np.asarray(label_orders, dtype=np.float64)
            lr = np.asarray(label_revenue, dtype=np.float64) if label_revenue is not None else np.zeros_like(lo)
            for mask, attr in ((~bought, "rate_never_"), (bought, "rate_buyer_")):
                if mask.any():
                    setattr(self, attr, (float(lo[mask].mean() / label_days), float(lr[mask].mean() / label_days)))
        value = monetary[bought & np.isfinite(monetary) & (monetary > 0)]
        self.mean_order_value_ = float(value.mean()) if len(value) else 0.0
        # BG/NBD fitted on a short calibration window is biased (often by x2 or more); with labels, one
        # scalar per output matches the training buyers' observed mean, keeping BG/NBD's ranking and
        # putting buyers and never-buyers (observed rate) on the same scale.
        self.scale_ = (1.0, 1.0)
        if self.bgnbd_ is not None and label_orders is not None and label_days and bought.any():
            pred_orders, pred_value = self._bgnbd(frame.filter(pl.Series(bought)), float(label_days))
            lo = np.asarray(label_orders, dtype=np.float64)[bought]
            lr = np.asarray(label_revenue, dtype=np.float64)[bought] if label_revenue is not None else None
            scale_orders = lo.mean() / pred_orders.mean() if pred_orders.mean() > 0 else 1.0
            scale_value = lr.mean() / pred_value.mean() if lr is not None and pred_value.mean() > 0 else 1.0
            self.scale_ = (float(scale_orders), float(scale_value))
            notes.append(f"level calibrated on training buyers x{scale_orders:.2f} orders, x{scale_value:.2f} value")
        self.description = "BG/NBD x Gamma-Gamma" + (f" ({'; '.join(notes)})" if notes else "")
        return self

    def _bgnbd(self, buyers: pl.DataFrame, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated BG/NBD (x Gamma-Gamma) forecasts for buyers over t days."""
        x, t_x, big_t, monetary = bgnbd_inputs(buyers)
        orders = self.bgnbd_.expected_purchases(t, x, t_x, big_t)
        if self.gg_ is not None:
            per_order = self.gg_.conditional_expected_value(x, np.where(x > 0, monetary, np.nan))
        else:
            per_order = np.where(np.isfinite(monetary) & (monetary > 0), monetary, self.mean_order_value_)
        return orders, orders * per_order

    def predict(self, frame: pl.DataFrame, horizon_days: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        t = float(horizon_days or self.horizon_days)
        x, t_x, big_t, monetary = bgnbd_inputs(frame)
        bought = buyers_mask(frame)
        orders = np.where(bought, self.rate_buyer_[0] * t, self.rate_never_[0] * t)
        value = np.where(bought, self.rate_buyer_[1] * t, self.rate_never_[1] * t)
        if self.bgnbd_ is not None and bought.any():
            bg_orders, bg_value = self._bgnbd(frame.filter(pl.Series(bought)), t)
            orders[bought] = bg_orders * self.scale_[0]
            value[bought] = bg_value * self.scale_[1]
        return orders, value

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        orders, value = self.predict(frame)
        return {"expected_orders_365d": orders, "expected_value_365d": value}

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        text = np.full(frame.height, "baseline: frequency, recency, tenure (BG/NBD x Gamma-Gamma)", dtype=object)
        return {"expected_orders_365d": text, "expected_value_365d": text}


class ConstantUplift:
    """'Treat everyone': every customer gets the average treatment effect."""

    kind = "baseline"
    output = "discount_uplift"

    def fit(self, frame: pl.DataFrame, treatment: np.ndarray, y: np.ndarray) -> "ConstantUplift":
        t = np.asarray(treatment, dtype=bool)
        y = np.asarray(y, dtype=np.float64)
        self.ate_ = float(y[t].mean() - y[~t].mean()) if t.any() and (~t).any() else 0.0
        self.description = f"average treatment effect {self.ate_:+.4f} for everyone"
        return self

    def predict_uplift(self, frame: pl.DataFrame) -> np.ndarray:
        return np.full(frame.height, self.ate_)

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        return {self.output: self.predict_uplift(frame)}

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        return {self.output: np.full(frame.height, "baseline: average treatment effect", dtype=object)}


class TopCategory:
    """The customer's own top_category when it is a known class, else the most frequent class."""

    kind = "baseline"
    output = "next_category"

    def fit(self, frame: pl.DataFrame, labels: np.ndarray, classes: list[str] | None = None) -> "TopCategory":
        values, counts = np.unique(np.asarray(labels, dtype=object).astype(str), return_counts=True)
        self.most_frequent_ = str(values[np.argmax(counts)]) if len(values) else "other"
        self.classes_ = list(classes) if classes is not None else [str(v) for v in values]
        if self.most_frequent_ not in self.classes_:
            self.classes_.append(self.most_frequent_)
        self.description = f"customer's top_category, else '{self.most_frequent_}'"
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        top = string_column(frame, "top_category")
        known = np.isin(top, np.array(self.classes_, dtype=object))
        return np.where(known, top, self.most_frequent_).astype(object)

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        """One-hot-ish probabilities (0.9 on the predicted class) so log loss stays finite."""
        pred = self.predict(frame)
        n, c = frame.height, len(self.classes_)
        proba = np.full((n, c), 0.1 / max(c - 1, 1))
        index = pl.Series(pred.tolist(), dtype=pl.String).replace_strict(
            {name: i for i, name in enumerate(self.classes_)}, return_dtype=pl.Int64).to_numpy()
        proba[np.arange(n), index] = 0.9 if c > 1 else 1.0
        return proba

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        return {self.output: self.predict(frame)}

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        return {self.output: np.full(frame.height, "baseline: top_category", dtype=object)}
