"""Customer lifetime value over a finite horizon from BG/NBD (orders) x Gamma-Gamma (value).

CLV_i = sum over periods k = 1..K of E[repeat purchases in period k] * E[value per purchase]
/ (1 + discount_rate) ** k, with K = ceil(horizon_periods) and the last period ending at the
horizon. Periods are the BG/NBD's time unit (weeks if fitted on weeks), so ``discount_rate`` is
per period (a 10 % annual rate is about 0.00183 per week). Spend and purchasing are independent
(the Gamma-Gamma assumption), which is what makes the product valid.
"""

from __future__ import annotations

import numpy as np

from .bgnbd import BGNBD
from .gamma_gamma import GammaGamma


def _check_horizon(horizon_periods) -> float:
    horizon = float(horizon_periods)
    if not np.isfinite(horizon) or horizon < 0:
        raise ValueError(f"horizon_periods must be finite and >= 0, got {horizon_periods}")
    return horizon


def expected_orders(bgnbd: BGNBD, frequency, recency, T, horizon_periods) -> np.ndarray:
    """Expected repeat purchases in (T, T + horizon_periods] per customer."""
    return bgnbd.expected_purchases(_check_horizon(horizon_periods), frequency, recency, T)


def expected_clv(
    bgnbd: BGNBD,
    gg: GammaGamma,
    frequency,
    recency,
    T,
    monetary,
    horizon_periods,
    discount_rate: float = 0.0,
) -> np.ndarray:
    """Expected (discounted) revenue from repeat purchases over the next ``horizon_periods``.

    ``monetary`` is the mean repeat-purchase value (ignored, may be NaN, where frequency is 0: the
    Gamma-Gamma population mean is used there).
    """
    horizon = _check_horizon(horizon_periods)
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError(f"discount_rate must be finite and > -1, got {discount_rate}")
    value = gg.conditional_expected_value(frequency, monetary)
    if discount_rate == 0 or horizon == 0:
        return bgnbd.expected_purchases(horizon, frequency, recency, T) * value
    ends = np.minimum(np.arange(1, int(np.ceil(horizon)) + 1, dtype=float), horizon)
    cumulative = np.stack([bgnbd.expected_purchases(e, frequency, recency, T) for e in ends])
    per_period = np.diff(cumulative, axis=0, prepend=0.0)
    discount = (1.0 + discount_rate) ** -np.arange(1, len(ends) + 1, dtype=float)
    return (per_period * discount[:, None]).sum(axis=0) * value
