"""Evaluation plots as PNG files (matplotlib Agg, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

from ml.metrics import qini_curve


def _pyplot():
    """pyplot on first use: importing it costs ~0.6 s, and most processes that import this module
    (every run, scoring, the CLI) draw nothing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _subplots(**kwargs):
    return _pyplot().subplots(**kwargs)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    _pyplot().close(fig)
    return path


def roc_plot(y_true, scores: dict[str, np.ndarray], path: Path, title: str = "ROC") -> Path:
    """One ROC curve per named score (e.g. model vs baseline)."""
    fig, ax = _subplots(figsize=(4.5, 4.5))
    y = np.asarray(y_true)
    for label, s in scores.items():
        if len(np.unique(y)) == 2:
            fpr, tpr, _ = roc_curve(y, s)
            ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def calibration_plot(y_true, scores: dict[str, np.ndarray], path: Path, n_bins: int = 10, title: str = "Calibration") -> Path:
    """Observed rate vs mean prediction per equal-frequency bin."""
    fig, ax = _subplots(figsize=(4.5, 4.5))
    y = np.asarray(y_true, dtype=float)
    for label, s in scores.items():
        s = np.asarray(s, dtype=float)
        order = np.argsort(s)
        bins = [b for b in np.array_split(order, min(n_bins, len(s))) if len(b)]
        ax.plot([s[b].mean() for b in bins], [y[b].mean() for b in bins], "o-", label=label)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="mean predicted", ylabel="observed rate", title=title)
    ax.legend(loc="upper left")
    return _save(fig, path)


def lift_plot(y_true, scores: dict[str, np.ndarray], path: Path, title: str = "Lift by decile") -> Path:
    """Mean outcome per score decile (1 = highest scores) relative to the overall mean."""
    fig, ax = _subplots(figsize=(5, 4))
    y = np.asarray(y_true, dtype=float)
    base = y.mean() if len(y) and y.mean() else 1.0
    width = 0.8 / max(len(scores), 1)
    for i, (label, s) in enumerate(scores.items()):
        order = np.argsort(-np.asarray(s, dtype=float), kind="stable")
        parts = np.array_split(order, min(10, len(order)))
        lifts = [y[p].mean() / base for p in parts]
        ax.bar(np.arange(1, len(lifts) + 1) + i * width, lifts, width=width, label=label)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(xlabel="decile (1 = highest score)", ylabel="lift", title=title)
    ax.legend()
    return _save(fig, path)


def qini_plot(y, treatment, scores: dict[str, np.ndarray], path: Path, title: str = "Qini curve") -> Path:
    fig, ax = _subplots(figsize=(4.5, 4.5))
    for label, s in scores.items():
        fractions, values = qini_curve(y, treatment, s)
        ax.plot(fractions, values, label=label)
    ax.set(xlabel="share targeted", ylabel="incremental responders", title=title)
    ax.legend(loc="upper left")
    return _save(fig, path)


def cluster_heatmap(profile_z: np.ndarray, cluster_labels: list[str], feature_names: list[str], path: Path,
                    title: str = "Cluster profiles (z-score vs population)") -> Path:
    z = np.clip(np.nan_to_num(np.asarray(profile_z, dtype=float)), -3, 3)
    fig, ax = _subplots(figsize=(max(6, 0.45 * len(feature_names)), max(2.5, 0.5 * len(cluster_labels) + 1.5)))
    image = ax.imshow(z, cmap="RdBu_r", vmin=-3, vmax=3, aspect="auto")
    ax.set_xticks(range(len(feature_names)), feature_names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(cluster_labels)), cluster_labels, fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.03)
    return _save(fig, path)
