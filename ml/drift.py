"""Population stability index (PSI): how far a distribution moved from a reference one. Pure numpy.

PSI = sum over bins of (a - e) * ln(a / e), with e and a the reference ("expected") and current
("actual") shares per bin. Bins are quantiles of the reference, so each holds about the same share
of it; missing values are a bin of their own, so a column that starts arriving empty drifts too.
Customary reading: < 0.1 stable, 0.1-0.25 moderate shift, >= 0.25 major shift.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

EPSILON = 1e-4  # share given to an empty bin, so ln(a / e) stays finite
WARN_PSI = 0.1
FAIL_PSI = 0.25


def _as_float(values: Iterable) -> np.ndarray:
    array = np.array([np.nan if v is None else v for v in values] if not isinstance(values, np.ndarray) else values,
                     dtype=np.float64)
    array[np.isinf(array)] = np.nan
    return array


def bin_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner cut points at the reference's quantiles, duplicates removed (a constant column has none)."""
    present = reference[~np.isnan(reference)]
    if present.size == 0:
        return np.array([])
    cuts = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(cuts)


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values per bin: len(edges) + 1 value bins (right-closed), then the missing-value bin."""
    present = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    counts = np.append(counts, np.isnan(values).sum())
    return counts / max(len(values), 1)


def population_stability_index(expected: Iterable, actual: Iterable, bins: int = 10) -> float:
    """PSI of `actual` against the reference `expected` (numbers; None / NaN count as missing)."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    reference, current = _as_float(expected), _as_float(actual)
    if reference.size == 0 or current.size == 0:
        raise ValueError("population_stability_index needs values on both sides "
                         f"(reference {reference.size}, current {current.size})")
    edges = bin_edges(reference, bins)
    e = np.clip(bin_shares(reference, edges), EPSILON, None)
    a = np.clip(bin_shares(current, edges), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_level(psi: float) -> str:
    """'fail' at or above FAIL_PSI, 'warn' from WARN_PSI, else 'ok'."""
    if psi >= FAIL_PSI:
        return "fail"
    if psi >= WARN_PSI:
        return "warn"
    return "ok"
