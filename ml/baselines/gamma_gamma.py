"""Gamma-Gamma model of the spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
Journal of Marketing Research 42(4); Fader & Hardie (2013), "The Gamma-Gamma model of monetary
value". A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers;
spend is assumed independent of the purchase process. Fitted on repeat buyers only (frequency x > 0,
monetary_value = mean of their x repeat transaction values, all > 0).

``penalizer`` adds ``penalizer * sum(params ** 2)`` to the mean negative log-likelihood (as in
Lifetimes). The likelihood is flat along a ridge (p and v trade off), so parameters can move a
little between optimisers while the fitted means barely change.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from ._inputs import as_float_array, positive_params, same_length
from ._optimize import maximise

PARAM_NAMES = ("p", "q", "v")


def _log_likelihood(params, x, m):
    """Log density of the mean m of x transaction values, per customer."""
    p, q, v = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )


def _log_likelihood_gradient(params, x, m):
    p, q, v = params
    px = p * x
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - np.log(x * m + v))
    d_q = digamma(px + q) - digamma(q) + np.log(v) - np.log(x * m + v)
    d_v = q / v - (px + q) / (x * m + v)
    return np.column_stack([d_p, d_q, d_v])


class GammaGamma:
    """Gamma-Gamma spend model; ``fit`` sets ``params_`` (p, q, v) and ``log_likelihood_``."""

    def __init__(self, penalizer: float = 0.0):
        if not np.isfinite(penalizer) or penalizer < 0:
            raise ValueError(f"penalizer must be a finite number >= 0, got {penalizer}")
        self.penalizer = float(penalizer)

    @classmethod
    def from_params(cls, params: dict) -> "GammaGamma":
        """A model with given parameters (e.g. saved from an earlier fit); no likelihood known."""
        model = cls()
        model.params_ = positive_params(params, PARAM_NAMES, "Gamma-Gamma")
        model.log_likelihood_ = float("nan")
        return model

    def fit(self, frequency, monetary_value) -> "GammaGamma":
        """Fit on customers with frequency > 0; the others are ignored (their mean is undefined)."""
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        same_length(frequency=x, monetary_value=m)
        if np.any(~np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
            raise ValueError("frequency must hold finite whole numbers >= 0")
        repeat = x > 0
        x, m = x[repeat], m[repeat]
        if len(x) < 2:
            raise ValueError(f"Gamma-Gamma needs at least 2 repeat buyers, got {len(x)}")
        bad = ~np.isfinite(m) | (m <= 0)
        if np.any(bad):
            raise ValueError(
                f"{int(np.sum(bad))} repeat buyer(s) have a missing, zero or negative "
                "monetary_value; the Gamma-Gamma model needs positive spend (drop or fix them)"
            )
        n = len(x)
        penalizer = self.penalizer

        def objective(log_params):
            params = np.exp(log_params)
            value = -_log_likelihood(params, x, m).sum() / n + penalizer * np.sum(params**2)
            grad = _log_likelihood_gradient(params, x, m).sum(0)
            return value, -(grad * params) / n + 2 * penalizer * params**2

        result_x = maximise(objective, np.zeros(3), "Gamma-Gamma")
        params = np.exp(result_x)
        self.params_ = dict(zip(PARAM_NAMES, (float(v) for v in params)))
        self.log_likelihood_ = float(_log_likelihood(params, x, m).sum())
        self.n_customers_ = n
        return self

    def _fitted(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise RuntimeError("GammaGamma is not fitted; call fit() first")
        return tuple(self.params_[k] for k in PARAM_NAMES)

    def population_mean(self) -> float:
        """Mean spend per transaction across customers, p v / (q - 1) (infinite if q <= 1)."""
        p, q, v = self._fitted()
        return p * v / (q - 1) if q > 1 else np.inf

    def conditional_expected_value(self, frequency, monetary_value) -> np.ndarray:
        """E[spend per transaction | x, mean m]; the population mean where x = 0.

        Weighted average of the population mean and the customer's own mean:
        (q - 1) / (p x + q - 1) * p v / (q - 1) + p x / (p x + q - 1) * m. For x = 0 the
        monetary_value is ignored (may be NaN).
        """
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        same_length(frequency=x, monetary_value=m)
        p, q, v = self._fitted()
        if q <= 1:
            raise ValueError(f"q = {q:.3g} <= 1: the population mean spend is infinite")
        if np.any(~np.isfinite(x)) or np.any(x < 0):
            raise ValueError("frequency must be finite and >= 0")
        repeat = x > 0
        bad = repeat & (~np.isfinite(m) | (m < 0))
        if np.any(bad):
            raise ValueError(
                f"{int(np.sum(bad))} repeat buyer(s) have a missing or negative monetary_value"
            )
        m_safe = np.where(repeat, m, 0.0)
        return (p * (v + x * m_safe)) / (p * x + q - 1)

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            shown = ", ".join(f"{k}={val:.4g}" for k, val in self.params_.items())
            return f"GammaGamma({shown}, log_likelihood={self.log_likelihood_:.2f})"
        return f"GammaGamma(penalizer={self.penalizer})"
