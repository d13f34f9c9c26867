"""Maximum-likelihood search over log-parameters, shared by BG/NBD and Gamma-Gamma."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

# Parameters are kept in [1e-8, 1e8]: wide enough for any real data set (in days or weeks), narrow
# enough that the special functions stay finite when the likelihood runs off to a boundary.
LOG_BOUND = np.log(1e8)


class ConvergenceError(ValueError):
    """The likelihood could not be maximised on these data.

    A ValueError so that callers treating unusable training data as bad input catch it too.
    """


def maximise(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    model: str,
) -> np.ndarray:
    """Minimise ``objective`` (value and gradient in log-parameters); returns the log-parameters."""

    def guarded(log_params):
        with np.errstate(all="ignore"):
            value, grad = objective(log_params)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(log_params)
        return value, grad

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    if not np.isfinite(guarded(start)[0]):
        raise ConvergenceError(f"{model}: the log-likelihood is not finite at the starting point")
    result = minimize(
        guarded,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 5000, "ftol": 1e-14, "gtol": 1e-9},
    )
    if not result.success:
        # L-BFGS-B often stops on line-search precision right at the optimum; a derivative-free
        # polish from there settles whether it is one.
        polish = minimize(
            lambda p: guarded(p)[0],
            result.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-8, "fatol": 1e-13, "maxiter": 20000, "maxfev": 40000},
        )
        if not polish.success:
            raise ConvergenceError(
                f"{model} fit did not converge ({polish.message}); "
                "try a penalizer > 0 or check the inputs"
            )
        if polish.fun <= result.fun:
            result = polish
    return result.x
