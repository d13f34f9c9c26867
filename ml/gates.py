"""Promotion gates (pure): when a candidate replaces the champion, and when a shop is too small to train.

Every score always has something served: the candidate model, the previous champion model, or the
family's baseline. `decide_promotion` says which, and why, from metrics measured on the same split.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

Serve = Literal["model", "baseline"]


@dataclass(frozen=True)
class Decision:
    promote: bool  # does the candidate become champion
    serve: Serve  # what is served after this decision: a model (candidate or kept champion) or the baseline
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def _value(metrics: dict | None, metric: str) -> float | None:
    if metrics is None:
        return None
    value = metrics.get(metric)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _better(a: float, b: float, higher_is_better: bool, margin: float = 0.0) -> bool:
    """a beats b by more than margin."""
    return a > b + margin if higher_is_better else a < b - margin


def decide_promotion(
    candidate_metrics: dict | None,
    baseline_metrics: dict | None,
    champion_metrics: dict | None,
    metric: str,
    higher_is_better: bool = True,
    tolerance: float = 0.0,
    *,
    champion_is_model: bool = True,
    min_gain_over_baseline: float = 0.0,
) -> Decision:
    """Promote the candidate iff it beats the baseline (by more than `min_gain_over_baseline`) and is
    not worse than the current model champion by more than `tolerance` (non-inferiority, so a fresh
    model on newer data replaces an equally good old one). Champion metrics must be measured on the
    candidate's test split. When the candidate loses, a model champion that still beats the baseline
    keeps serving; otherwise the baseline is served."""
    cand = _value(candidate_metrics, metric)
    base = _value(baseline_metrics, metric)
    champ = _value(champion_metrics, metric) if champion_is_model else None
    direction = "higher" if higher_is_better else "lower"

    champion_holds = champ is not None and (base is None or _better(champ, base, higher_is_better, min_gain_over_baseline))
    fallback: Serve = "model" if champion_holds else "baseline"
    keep = "keeping the current champion" if champion_holds else "serving the baseline"

    if cand is None:
        return Decision(False, fallback, f"candidate has no finite {metric}; {keep}")
    if base is not None and not _better(cand, base, higher_is_better, min_gain_over_baseline):
        margin = f" by more than {min_gain_over_baseline:.4g}" if min_gain_over_baseline else ""
        return Decision(
            False, fallback,
            f"candidate {metric}={cand:.4f} does not beat baseline {base:.4f}{margin} ({direction} is better); {keep}",
        )
    if champ is not None and _better(champ, cand, higher_is_better, tolerance):
        return Decision(
            False,
            fallback,
            f"candidate {metric}={cand:.4f} is worse than champion {champ:.4f} by more than tolerance {tolerance}; {keep}",
        )
    versus = f"baseline {base:.4f}" if base is not None else "no baseline"
    if champ is not None:
        versus += f", champion {champ:.4f}"
    return Decision(True, "model", f"candidate {metric}={cand:.4f} vs {versus} ({direction} is better): promoted")


def decide_threshold(candidate_metrics: dict | None, champion_metrics: dict | None, metric: str, threshold: float,
                     tolerance: float = 0.0, *, champion_is_model: bool = True) -> Decision:
    """Gate for scores without a baseline model to beat (clustering): the candidate's metric must
    exceed an absolute threshold and be within `tolerance` of a model champion that itself passes."""
    cand = _value(candidate_metrics, metric)
    champ = _value(champion_metrics, metric) if champion_is_model else None
    champion_holds = champ is not None and champ > threshold
    fallback: Serve = "model" if champion_holds else "baseline"
    keep = "keeping the current champion" if champion_holds else "serving the baseline"
    if cand is None:
        return Decision(False, fallback, f"candidate has no finite {metric}; {keep}")
    if cand <= threshold:
        return Decision(False, fallback, f"candidate {metric}={cand:.4f} is not above the threshold {threshold}; {keep}")
    if champ is not None and champ - cand > tolerance:
        return Decision(False, fallback,
                        f"candidate {metric}={cand:.4f} is worse than champion {champ:.4f} by more than tolerance {tolerance}; {keep}")
    versus = f"threshold {threshold}" + (f", champion {champ:.4f}" if champ is not None else "")
    return Decision(True, "model", f"candidate {metric}={cand:.4f} vs {versus}: promoted")


@dataclass(frozen=True)
class SmallShopThresholds:
    """Below these a model is not trained (the baseline is served instead); explicit config."""

    min_rows: int = 500
    min_positives: int = 50
    min_negatives: int = 50
    min_history_days: int = 28
    min_validation_rows: int = 100
    min_test_rows: int = 100

    @classmethod
    def from_config(cls, config: dict | None) -> "SmallShopThresholds":
        if not config:
            return cls()
        unknown = set(config) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown small-shop threshold(s) {sorted(unknown)}")
        return cls(**config)


@dataclass(frozen=True)
class Sufficiency:
    ok: bool
    reason: str


def check_sufficiency(
    thresholds: SmallShopThresholds,
    *,
    n_rows: int,
    history_days: int,
    n_positives: int | None = None,
    n_negatives: int | None = None,
    n_validation: int | None = None,
    n_test: int | None = None,
) -> Sufficiency:
    """Is there enough data to train and fairly evaluate a model? Lists every shortfall."""
    problems = []
    if history_days < thresholds.min_history_days:
        problems.append(f"history {history_days}d < {thresholds.min_history_days}d")
    if n_rows < thresholds.min_rows:
        problems.append(f"training rows {n_rows} < {thresholds.min_rows}")
    if n_positives is not None and n_positives < thresholds.min_positives:
        problems.append(f"positive labels {n_positives} < {thresholds.min_positives}")
    if n_negatives is not None and n_negatives < thresholds.min_negatives:
        problems.append(f"negative labels {n_negatives} < {thresholds.min_negatives}")
    if n_validation is not None and n_validation < thresholds.min_validation_rows:
        problems.append(f"validation rows {n_validation} < {thresholds.min_validation_rows}")
    if n_test is not None and n_test < thresholds.min_test_rows:
        problems.append(f"test rows {n_test} < {thresholds.min_test_rows}")
    if problems:
        return Sufficiency(False, "too little data to train: " + "; ".join(problems))
    return Sufficiency(True, "enough data")


def small_shop_decision(sufficiency: Sufficiency) -> Decision:
    return Decision(False, "baseline", sufficiency.reason + "; serving the baseline")
