"""Expected orders and revenue over the next 365 days: a hurdle model suited to many zero spenders.

E[revenue] = P(any purchase) x E[revenue | purchase]; E[orders] = P(any purchase) x E[orders | purchase].
Stage one is a binary XGBoost classifier on everyone, stage two two XGBoost regressors on buyers
only (gamma deviance for revenue, Poisson for orders).

Horizon honesty: the model is trained on the longest label window the data allows
(`label_horizon_days` <= 365). When that is shorter than 365 days the forecast is extended to 365
days per customer by the BG/NBD ratio E[orders in 365d] / E[orders in label window] (purchase
decay of each buyer), or linearly when no BG/NBD is available; `horizon_scaling` records which.
Training decides separately whether the window is long enough to train at all (else the
BG/NBD + Gamma-Gamma baseline is served, and says so).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ml.boosting import BoosterParams, predict, train_booster
from ml.fallbacks import BGNBDValue, bgnbd_inputs, buyers_mask
from ml.features import DEFAULT_CATEGORICALS, FeatureEncoder
from ml.reasons import shared_booster_reasons

TARGET_HORIZON_DAYS = 365


class HurdleLifetimeValue:
    kind = "model"
    outputs = ("expected_orders_365d", "expected_value_365d")

    def __init__(
        self,
        label_horizon_days: int = TARGET_HORIZON_DAYS,
        horizon_days: int = TARGET_HORIZON_DAYS,
        booster_params: BoosterParams | None = None,
        categorical_columns: tuple[str, ...] = DEFAULT_CATEGORICALS,
        max_categories: int = 20,
        min_buyers_for_regression: int = 30,
    ):
        if label_horizon_days > horizon_days:
            raise ValueError("label_horizon_days must not exceed horizon_days")
        self.label_horizon_days = label_horizon_days
        self.horizon_days = horizon_days
        self.booster_params = booster_params or BoosterParams()
        self.categorical_columns = tuple(categorical_columns)
        self.max_categories = max_categories
        self.min_buyers_for_regression = min_buyers_for_regression

    def fit(self, train: pl.DataFrame, orders, revenue, valid: pl.DataFrame | None = None, valid_orders=None,
            valid_revenue=None, horizon_scaler: BGNBDValue | None = None) -> "HurdleLifetimeValue":
        orders = np.asarray(orders, dtype=np.float64)
        revenue = np.maximum(np.asarray(revenue, dtype=np.float64), 0.0)
        bought = orders > 0
        if bought.all() or not bought.any():
            raise ValueError("customer_lifetime_value: labels need both buyers and non-buyers")
        self.encoder_ = FeatureEncoder(self.categorical_columns, self.max_categories).fit(train)
        X = self.encoder_.transform(train)
        has_valid = valid is not None and valid.height > 0
        Xv = self.encoder_.transform(valid) if has_valid else None
        vo = np.asarray(valid_orders, dtype=np.float64) if has_valid else None
        vr = np.maximum(np.asarray(valid_revenue, dtype=np.float64), 0.0) if has_valid else None
        self.records_ = {}
        self.buy_, self.records_["buy"] = train_booster(
            X, bought.astype(np.float32), "binary:logistic", self.booster_params,
            Xv, (vo > 0).astype(np.float32) if has_valid else None,
            extra={"eval_metric": "logloss", "base_score": float(np.clip(bought.mean(), 1e-4, 1 - 1e-4))},
        )
        vb = (vo > 0) if has_valid else None
        # Stage two on buyers only; fall back to the buyers' mean when there are too few of them.
        self.orders_if_buy_ = float(orders[bought].mean())
        self.revenue_if_buy_ = float(revenue[bought].mean())
        self.order_model_ = None
        self.revenue_model_ = None
        if bought.sum() >= self.min_buyers_for_regression:
            valid_buyers = has_valid and vb.sum() > 0
            self.order_model_, self.records_["orders"] = train_booster(
                X[bought], orders[bought], "count:poisson", self.booster_params,
                Xv[vb] if valid_buyers else None, vo[vb] if valid_buyers else None,
                extra={"eval_metric": "poisson-nloglik"},
            )
            paid = bought & (revenue > 0)
            if paid.sum() >= self.min_buyers_for_regression:
                valid_paid = has_valid and (vb & (vr > 0)).sum() > 0
                vp = (vb & (vr > 0)) if valid_paid else None
                self.revenue_model_, self.records_["revenue"] = train_booster(
                    X[paid], revenue[paid], "reg:gamma", self.booster_params,
                    Xv[vp] if valid_paid else None, vr[vp] if valid_paid else None,
                    extra={"eval_metric": "gamma-nloglik"},
                )
        self.horizon_scaler_ = horizon_scaler
        if self.label_horizon_days >= self.horizon_days:
            self.horizon_scaling = "none"
        elif horizon_scaler is not None and horizon_scaler.bgnbd_ is not None:
            self.horizon_scaling = f"bgnbd ratio {self.label_horizon_days}d -> {self.horizon_days}d"
        else:
            self.horizon_scaling = f"linear x{self.horizon_days / self.label_horizon_days:.3f}"
        return self

    @property
    def feature_names(self) -> list[str]:
        return self.encoder_.feature_names

    def predict_label_window(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P(buy), expected orders, expected revenue) over the training label window."""
        X = self.encoder_.transform(frame)
        p = predict(self.buy_, X).astype(np.float64)
        n = len(X)
        orders_if = predict(self.order_model_, X).astype(np.float64) if self.order_model_ is not None else np.full(n, self.orders_if_buy_)
        revenue_if = predict(self.revenue_model_, X).astype(np.float64) if self.revenue_model_ is not None else np.full(n, self.revenue_if_buy_)
        return p, p * np.maximum(orders_if, 1.0), p * revenue_if

    def horizon_factor(self, frame: pl.DataFrame) -> np.ndarray:
        """Per-customer factor from the label window to the target horizon (1 when they match)."""
        n = frame.height
        if self.label_horizon_days >= self.horizon_days:
            return np.ones(n)
        linear = self.horizon_days / self.label_horizon_days
        factor = np.full(n, linear)
        scaler = self.horizon_scaler_
        if scaler is not None and scaler.bgnbd_ is not None:
            bought = buyers_mask(frame)
            if bought.any():
                x, t_x, big_t, _ = bgnbd_inputs(frame.filter(pl.Series(bought)))
                long = scaler.bgnbd_.expected_purchases(float(self.horizon_days), x, t_x, big_t)
                short = scaler.bgnbd_.expected_purchases(float(self.label_horizon_days), x, t_x, big_t)
                ratio = np.where(short > 1e-9, long / np.maximum(short, 1e-9), linear)
                factor[bought] = np.clip(ratio, 1.0, linear)
        return factor

    def predict(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        _, orders, revenue = self.predict_label_window(frame)
        factor = self.horizon_factor(frame)
        return orders * factor, revenue * factor

    def score(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        orders, value = self.predict(frame)
        return {"expected_orders_365d": orders, "expected_value_365d": value}

    def reason_codes(self, frame: pl.DataFrame, k: int = 3, approx: bool = False) -> dict[str, np.ndarray]:
        """Drivers of each forecast: the purchase-hurdle contributions (logit) plus the second stage's
        (log link), i.e. approximately log p + log E[y | buy] for small p."""
        X = self.encoder_.transform(frame)
        stages = {"expected_orders_365d": self.order_model_, "expected_value_365d": self.revenue_model_}
        outputs = {output: [(stage, 1.0)] if stage is not None else [] for output, stage in stages.items()}
        return shared_booster_reasons([(self.buy_, 1.0)], outputs, X, self.feature_names, k, approx)
