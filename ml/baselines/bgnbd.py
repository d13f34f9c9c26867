"""BG/NBD ("beta-geometric / negative binomial distribution") model of repeat purchasing.

Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2), 275-284. While alive a customer buys at Poisson rate
lambda ~ Gamma(r, alpha); after each purchase they drop out with probability p ~ Beta(a, b).
Inputs per customer: frequency x (repeat purchases), recency t_x (first to last purchase) and
T (first purchase to the end of the calibration period), all in one time unit (e.g. weeks);
predictions use that unit too.

The fit maximises the log-likelihood (eq. 6 of the paper) over log-parameters with an analytic
gradient, parameters kept in [1e-8, 1e8]; ``penalizer`` adds ``penalizer * sum(params ** 2)`` to
the mean negative log-likelihood (the Lifetimes convention), shrinking the parameters on small
data. The penalty depends on the time unit: alpha is 7 times larger in days than in weeks (CDNOW:
30.9 vs 4.41), so the same penalizer shrinks a fit in days much harder. Data that do not identify
the model (no heterogeneity, a handful of customers) can drive the maximum to the edge of the
parameter space; when the resulting forecasts are not finite, ``fit`` raises ConvergenceError
(a ValueError), and a penalizer > 0 usually cures it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from ._inputs import as_float_array, check_frequency_recency_T, positive_params
from ._optimize import ConvergenceError, maximise

PARAM_NAMES = ("r", "alpha", "a", "b")


def _log_likelihood_parts(params, x, t_x, big_t):
    """Per-customer log-likelihood and the pieces its gradient needs."""
    r, alpha, a, b = params
    repeat = x > 0
    x_safe = np.where(repeat, x, 1.0)  # keeps log(b + x - 1) finite where it is masked out
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + big_t)
    a4 = np.where(
        repeat,
        np.log(a) - np.log(b + x_safe - 1) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    mix = np.logaddexp(a3, a4)
    return a1 + a2 + mix, np.exp(a4 - mix), x_safe, repeat


def _log_likelihood_gradient(params, x, t_x, big_t, w4, x_safe, repeat):
    """Per-customer d LL / d params (columns r, alpha, a, b)."""
    r, alpha, a, b = params
    w3 = 1.0 - w4
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - w3 * np.log(alpha + big_t)
        - w4 * np.where(repeat, np.log(alpha + t_x), 0.0)
    )
    d_alpha = r / alpha - w3 * (r + x) / (alpha + big_t) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = (
        digamma(b + x)
        - digamma(a + b + x)
        - digamma(b)
        + digamma(a + b)
        - w4 / np.where(repeat, b + x_safe - 1, 1.0)
    )
    return np.column_stack([d_r, d_alpha, d_a, d_b])


def _scaled_hyp2f1_term(r, alpha, a, b, x, big_t, t):
    """((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t)).

    Computed through Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A,C-B;C;z), which
    turns it into (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): bounded and well-conditioned even for
    large x and long horizons, where the direct series is huge and cancels.
    """
    one_minus_z = (alpha + big_t) / (alpha + big_t + t)
    z = t / (alpha + big_t + t)
    return one_minus_z ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)


class BGNBD:
    """BG/NBD model; ``fit`` sets ``params_`` (r, alpha, a, b) and ``log_likelihood_`` (sum)."""

    def __init__(self, penalizer: float = 0.0):
        if not np.isfinite(penalizer) or penalizer < 0:
            raise ValueError(f"penalizer must be a finite number >= 0, got {penalizer}")
        self.penalizer = float(penalizer)

    @classmethod
    def from_params(cls, params: dict) -> "BGNBD":
        """A model with given parameters (e.g. saved from an earlier fit); no likelihood known."""
        values = positive_params(params, PARAM_NAMES, "BG/NBD")
        model = cls()
        model.params_ = values
        model.log_likelihood_ = float("nan")
        return model

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, frequency, recency, T, initial_params: dict | None = None) -> "BGNBD":
        x, t_x, big_t = check_frequency_recency_T(frequency, recency, T)
        if len(x) == 0:
            raise ValueError("cannot fit BG/NBD on zero customers")
        if not np.any(x > 0):
            raise ValueError(
                "cannot fit BG/NBD: no customer has a repeat purchase, so the dropout "
                "parameters a and b are not identified"
            )
        n = len(x)
        penalizer = self.penalizer

        def objective(log_params):
            params = np.exp(log_params)
            ll, w4, x_safe, repeat = _log_likelihood_parts(params, x, t_x, big_t)
            grad = _log_likelihood_gradient(params, x, t_x, big_t, w4, x_safe, repeat).sum(0)
            value = -ll.sum() / n + penalizer * np.sum(params**2)
            return value, -(grad * params) / n + 2 * penalizer * params**2

        if initial_params is not None:
            start = np.log(list(positive_params(initial_params, PARAM_NAMES, "BG/NBD").values()))
        else:
            # r = 1 and alpha matching the observed repeat rate; a = b = 1 (uniform dropout).
            rate = max(x.sum(), 1.0) / max(big_t.sum(), 1e-8)
            start = np.log([1.0, 1.0 / rate, 1.0, 1.0])
        result_x = maximise(objective, start, "BG/NBD")
        params = dict(zip(PARAM_NAMES, (float(p) for p in np.exp(result_x))))
        with np.errstate(all="ignore"):
            check = BGNBD.from_params(params).expected_purchases(big_t.max(), x, t_x, big_t)
        if not np.all(np.isfinite(check)):
            shown = ", ".join(f"{k}={v:.3g}" for k, v in params.items())
            raise ConvergenceError(
                f"BG/NBD fit is degenerate ({shown}): its forecasts are not finite; "
                "use a penalizer > 0"
            )
        self.params_ = params
        self.log_likelihood_ = float(
            _log_likelihood_parts(np.exp(result_x), x, t_x, big_t)[0].sum()
        )
        self.n_customers_ = n
        return self

    def _fitted(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise RuntimeError("BGNBD is not fitted; call fit() first")
        return tuple(self.params_[k] for k in PARAM_NAMES)

    # -- scoring -----------------------------------------------------------------------------

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood under the fitted parameters."""
        x, t_x, big_t = check_frequency_recency_T(frequency, recency, T)
        return _log_likelihood_parts(np.array(self._fitted()), x, t_x, big_t)[0]

    def _log_odds_dead(self, x, t_x, big_t):
        r, alpha, a, b = self._fitted()
        repeat = x > 0
        x_safe = np.where(repeat, x, 1.0)
        log_odds = (
            np.log(a)
            - np.log(b + x_safe - 1)
            + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        )
        return np.where(repeat, log_odds, -np.inf)

    def prob_alive(self, frequency, recency, T) -> np.ndarray:
        """P(customer still alive at T | x, t_x, T); 1 for customers without repeat purchases."""
        x, t_x, big_t = check_frequency_recency_T(frequency, recency, T)
        return expit(-self._log_odds_dead(x, t_x, big_t))

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[repeat purchases in (T, T + t] | x, t_x, T] (eq. 10 of the paper)."""
        x, t_x, big_t = check_frequency_recency_T(frequency, recency, T)
        t = self._check_horizon(t)
        r, alpha, a, b = self._fitted()
        a = _away_from_one(a)
        scaled = _scaled_hyp2f1_term(r, alpha, a, b, x, big_t, t)
        alive = expit(-self._log_odds_dead(x, t_x, big_t))
        return (a + b + x - 1) / (a - 1) * (1.0 - scaled) * alive

    def prob_any_purchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(at least one repeat purchase in (T, T + t] | x, t_x, T).

        Alive at T, the rate has posterior Gamma(r + x, alpha + T) and a customer cannot drop out
        before buying again, so P = P(alive) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)).
        """
        x, t_x, big_t = check_frequency_recency_T(frequency, recency, T)
        t = self._check_horizon(t)
        r, alpha, _, _ = self._fitted()
        no_purchase_if_alive = np.exp((r + x) * np.log((alpha + big_t) / (alpha + big_t + t)))
        return expit(-self._log_odds_dead(x, t_x, big_t)) * (1.0 - no_purchase_if_alive)

    def expected_purchases_new(self, t) -> np.ndarray:
        """Unconditional E[X(t)]: repeat purchases in (0, t] of a customer who first bought at 0."""
        t = self._check_horizon(t)
        r, alpha, a, b = self._fitted()
        a = _away_from_one(a)
        scaled = _scaled_hyp2f1_term(r, alpha, a, b, 0.0, 0.0, t)
        return (a + b - 1) / (a - 1) * (1.0 - scaled)

    @staticmethod
    def _check_horizon(t) -> np.ndarray | float:
        horizon = as_float_array(t, "t") if np.ndim(t) else float(t)
        if not np.all(np.isfinite(horizon)) or np.any(np.asarray(horizon) < 0):
            raise ValueError("horizon t must be finite and >= 0")
        return horizon

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"BGNBD({shown}, log_likelihood={self.log_likelihood_:.2f})"
        return f"BGNBD(penalizer={self.penalizer})"


def _away_from_one(a: float) -> float:
    # E[X(t)] has a removable 0/0 singularity at a = 1; evaluating next to it gives the limit.
    return a if abs(a - 1.0) > 1e-7 else 1.0 + 1e-7
