"""Validation of the per-customer arrays shared by the baseline models."""

from __future__ import annotations

import numpy as np


def as_float_array(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def same_length(**arrays: np.ndarray) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs differ in length: {lengths}")
    return next(iter(lengths.values()))


def check_frequency_recency_T(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the BG/NBD summary triple; returns float arrays (x, t_x, T)."""
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    big_t = as_float_array(T, "T")
    same_length(frequency=x, recency=t_x, T=big_t)
    for name, a in (("frequency", x), ("recency", t_x), ("T", big_t)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} has {int(np.sum(~np.isfinite(a)))} non-finite value(s)")
        if np.any(a < 0):
            raise ValueError(f"{name} has {int(np.sum(a < 0))} negative value(s)")
    if np.any(x != np.round(x)):
        raise ValueError("frequency must hold whole numbers of repeat purchases")
    # Summaries round recency and T to a few decimals; allow that much slack before refusing.
    too_late = t_x > big_t + 1e-6
    if np.any(too_late):
        raise ValueError(f"{int(np.sum(too_late))} customer(s) have recency > T")
    zero_but_recent = (x == 0) & (t_x > 0)
    if np.any(zero_but_recent):
        raise ValueError(
            f"{int(np.sum(zero_but_recent))} customer(s) have frequency 0 but recency > 0 "
            "(recency is the time from the first to the last repeat purchase; 0 without repeats)"
        )
    return x, np.minimum(t_x, big_t), big_t


def positive_params(params: dict, names: tuple[str, ...], model: str) -> dict[str, float]:
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"{model} parameters lack {missing}")
    values = {k: float(params[k]) for k in names}
    if not all(np.isfinite(v) and v > 0 for v in values.values()):
        raise ValueError(f"{model} parameters must be finite and > 0, got {values}")
    return values
