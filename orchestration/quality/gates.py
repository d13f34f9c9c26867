"""The served champion of a model family against the promotion gate ml/train.py applies."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ml.train import merge_config


@dataclass(frozen=True)
class Gate:
    metric: str
    higher_is_better: bool = True
    min_gain_over_baseline: float = 0.0
    threshold: float | None = None  # absolute bar instead of a baseline (clustering)


def gate_for(family: str, config: dict | None = None) -> Gate:
    """The promotion gate ml/train.py applies to `family` (same config keys)."""
    merged = merge_config(config)
    metric, higher = merged["gate_metric"][family]
    threshold = merged["behavioral_clusters"]["silhouette_threshold"] if family == "behavioral_clusters" else None
    return Gate(metric, bool(higher), float(merged["min_gain_over_baseline"]),
                None if threshold is None else float(threshold))


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def served_model_gate(champion: dict | None, gate: Gate) -> tuple[str, str]:
    """(outcome, reason) for the version holding the champion alias, from its registry row
    (ml.registry.list_versions): pass when it is a model whose test metric clears the gate, warn when
    a baseline is served (a model lost or the shop is too small), fail when nothing is served or the
    served model does not clear its gate (e.g. rolled back to a version the gate refused)."""
    if champion is None:
        return "fail", "no champion: nothing is served"
    name, version = champion.get("name"), champion.get("version")
    if champion.get("serve") == "baseline":
        return "warn", f"{name} v{version} is the baseline: {champion.get('gate_reason') or 'no reason recorded'}"
    metrics = champion.get("metrics") or {}
    value = _finite(metrics.get(f"test_{gate.metric}"))
    if value is None:
        return "fail", f"{name} v{version} has no finite test_{gate.metric} to hold against its gate"
    sign = 1 if gate.higher_is_better else -1
    if gate.threshold is not None:
        if sign * (value - gate.threshold) <= 0:
            return "fail", f"{name} v{version} {gate.metric}={value:.4f} does not clear the threshold {gate.threshold}"
        return "pass", f"{name} v{version} {gate.metric}={value:.4f} clears the threshold {gate.threshold}"
    baseline = _finite(metrics.get(f"baseline_{gate.metric}"))
    if baseline is None:
        if champion.get("gate") != "promoted":
            return "fail", f"{name} v{version} was not promoted by its gate ({champion.get('gate_reason')})"
        return "pass", f"{name} v{version} {gate.metric}={value:.4f} was promoted without a baseline to beat"
    # the uplift gate also asks to beat the baseline by more than the metric's own noise
    margin = max(gate.min_gain_over_baseline, _finite(metrics.get(f"test_{gate.metric}_noise_95")) or 0.0)
    if sign * (value - baseline) <= margin:
        return "fail", (f"{name} v{version} {gate.metric}={value:.4f} does not beat its baseline {baseline:.4f}"
                        + (f" by more than {margin:.4g}" if margin else ""))
    return "pass", f"{name} v{version} {gate.metric}={value:.4f} beats its baseline {baseline:.4f}"
