"""Evaluation metrics, each a pure function of numpy arrays returning plain floats / lists (JSON-able)."""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as skm


def _clean_binary(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_score, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_score differ in length: {y.shape} vs {p.shape}")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("y_true must be binary 0/1")
    return y, p


def expected_calibration_error(y_true, y_prob, n_bins: int = 10) -> float:
    """Mean |observed rate - mean predicted| over equal-width probability bins, weighted by bin size."""
    y, p = _clean_binary(y_true, y_prob)
    if len(y) == 0:
        return float("nan")
    bins = np.clip((np.clip(p, 0.0, 1.0) * n_bins).astype(int), 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    sum_pred = np.bincount(bins, weights=p, minlength=n_bins)
    sum_true = np.bincount(bins, weights=y, minlength=n_bins)
    filled = counts > 0
    gap = np.abs(sum_true[filled] - sum_pred[filled]) / counts[filled]
    return float(np.sum(gap * counts[filled]) / len(y))


def top_fraction_lift(y_true, y_score, fraction: float = 0.1) -> float:
    """Positive rate among the top `fraction` by score divided by the overall positive rate."""
    y, p = _clean_binary(y_true, y_score)
    base = y.mean() if len(y) else 0.0
    if base == 0:
        return float("nan")
    n_top = max(1, int(math.ceil(fraction * len(y))))
    top = np.argsort(-p, kind="stable")[:n_top]
    return float(y[top].mean() / base)


def binary_metrics(y_true, y_prob) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), log loss, Brier, ECE, top-decile lift, base rate."""
    y, p = _clean_binary(y_true, y_prob)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    out = {"n": float(len(y)), "positive_rate": float(y.mean()) if len(y) else float("nan")}
    both = len(np.unique(y)) == 2
    out["roc_auc"] = float(skm.roc_auc_score(y, p)) if both else float("nan")
    out["pr_auc"] = float(skm.average_precision_score(y, p)) if both else float("nan")
    out["log_loss"] = float(skm.log_loss(y, p, labels=[0, 1])) if len(y) else float("nan")
    out["brier"] = float(np.mean((p - y) ** 2)) if len(y) else float("nan")
    out["ece"] = expected_calibration_error(y, p)
    out["top_decile_lift"] = top_fraction_lift(y, p, 0.1)
    return out


def normalized_gini(y_true, y_pred) -> float:
    """Gini of the predicted ordering divided by the Gini of the perfect ordering (1 = perfect)."""
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()

    def gini(actual, score):
        order = np.lexsort((np.arange(len(actual)), -score))
        cum = np.cumsum(actual[order])
        total = cum[-1]
        if total == 0:
            return float("nan")
        n = len(actual)
        return float((cum / total).sum() / n - (n + 1) / (2 * n))

    if len(y) == 0:
        return float("nan")
    perfect = gini(y, y)
    if not perfect or math.isnan(perfect):
        return float("nan")
    return gini(y, p) / perfect


def decile_calibration(y_true, y_pred, n_bins: int = 10) -> list[dict]:
    """Per prediction decile (1 = highest predictions): mean predicted vs mean actual and row count."""
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if len(y) == 0:
        return []
    order = np.argsort(-p, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, min(n_bins, len(y)))):
        rows.append({"decile": i + 1, "n": int(len(idx)), "mean_pred": float(p[idx].mean()), "mean_actual": float(y[idx].mean())})
    return rows


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Value/count forecasts: normalized Gini, MAE, RMSE, total bias, top-decile share, decile calibration error."""
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if len(y) == 0:
        return {"n": 0.0}
    deciles = decile_calibration(y, p)
    total = y.sum()
    out = {
        "n": float(len(y)),
        "normalized_gini": normalized_gini(y, p),
        "mae": float(np.mean(np.abs(y - p))),
        "rmse": float(np.sqrt(np.mean((y - p) ** 2))),
        "mean_actual": float(y.mean()),
        "mean_pred": float(p.mean()),
        "total_bias": float((p.sum() - total) / total) if total else float("nan"),
        "decile_mae": float(np.mean([abs(d["mean_pred"] - d["mean_actual"]) for d in deciles])),
    }
    top = np.argsort(-p, kind="stable")[: max(1, len(y) // 10)]
    out["top_decile_share"] = float(y[top].sum() / total) if total else float("nan")
    out["spearman"] = _spearman(y, p)
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def qini_curve(y, treatment, uplift, n_points: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative incremental responders when targeting by descending uplift:
    Q(k) = R_t(k) - R_c(k) * N_t(k) / N_c(k), at `n_points` evenly spaced fractions (plus 0)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    t = np.asarray(treatment, dtype=np.float64).ravel()
    order = np.argsort(-np.asarray(uplift, dtype=np.float64).ravel(), kind="stable")
    return _qini_curve_in_order(y[order], t[order], n_points)


def _qini_curve_in_order(y: np.ndarray, t: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """qini_curve of rows already in targeting order."""
    n_t = np.cumsum(t)
    n_c = np.cumsum(1 - t)
    r_t = np.cumsum(y * t)
    r_c = np.cumsum(y * (1 - t))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_c > 0, r_t - r_c * n_t / np.maximum(n_c, 1), r_t)
    if n_points >= len(y):
        idx = np.arange(len(y))  # every row: what the evenly spaced points give, without sorting them
    else:
        idx = np.unique(np.linspace(0, len(y) - 1, n_points).round().astype(int))
    fractions = np.concatenate([[0.0], (idx + 1) / len(y)])
    values = np.concatenate([[0.0], q[idx]])
    return fractions, values


def _qini_area_in_order(y: np.ndarray, t: np.ndarray) -> float:
    fractions, values = _qini_curve_in_order(y, t, len(y))
    random_line = values[-1] * fractions
    return float(np.trapezoid(values - random_line, fractions) / len(y))


def qini_coefficient(y, treatment, uplift) -> float:
    """Area between the Qini curve and the random-targeting line, per customer (0 = random)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(y) == 0:
        return float("nan")
    u = np.asarray(uplift, dtype=np.float64).ravel()
    if np.all(u == u[0]):
        return 0.0  # a constant score ranks nobody: the random line
    order = np.argsort(-u, kind="stable")
    return _qini_area_in_order(y[order], np.asarray(treatment, dtype=np.float64).ravel()[order])


def qini_noise_level(y, treatment, uplift, n_permutations: int = 50, quantile: float = 0.95, seed: int = 0) -> float:
    """The Qini the same scores reach against randomly permuted treatment labels (no real effect
    left): a candidate whose Qini does not exceed this quantile found nothing beyond chance."""
    y = np.asarray(y, dtype=np.float64).ravel()
    t = np.asarray(treatment, dtype=np.float64).ravel()
    if len(y) == 0:
        return float("nan")
    u = np.asarray(uplift, dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    if np.all(u == u[0]):
        return 0.0
    # the targeting order depends on the scores alone: sorted once, not once per permutation
    order = np.argsort(-u, kind="stable")
    y_in_order = y[order]
    values = [_qini_area_in_order(y_in_order, rng.permutation(t)[order]) for _ in range(n_permutations)]
    return float(np.quantile(values, quantile))


def uplift_at_top(y, treatment, uplift, fraction: float = 0.1) -> float:
    """Observed treatment-minus-control response rate among the top `fraction` by predicted uplift."""
    y = np.asarray(y, dtype=np.float64).ravel()
    t = np.asarray(treatment, dtype=np.float64).ravel()
    u = np.asarray(uplift, dtype=np.float64).ravel()
    n_top = max(1, int(math.ceil(fraction * len(y))))
    top = np.argsort(-u, kind="stable")[:n_top]
    yt, tt = y[top], t[top]
    if tt.sum() == 0 or (1 - tt).sum() == 0:
        return float("nan")
    return float(yt[tt == 1].mean() - yt[tt == 0].mean())


def uplift_metrics(y, treatment, uplift) -> dict[str, float]:
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(treatment, dtype=np.float64)
    ate = float(y[t == 1].mean() - y[t == 0].mean()) if t.sum() and (1 - t).sum() else float("nan")
    return {
        "n": float(len(y)),
        "treated_share": float(t.mean()) if len(t) else float("nan"),
        "ate": ate,
        "qini": qini_coefficient(y, t, uplift),
        "uplift_top_decile": uplift_at_top(y, t, uplift, 0.1),
        "uplift_top_3_deciles": uplift_at_top(y, t, uplift, 0.3),
    }


def multiclass_metrics(y_true, proba: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Accuracy, top-3 accuracy, macro F1 and log loss for class-probability predictions."""
    y = np.asarray(y_true, dtype=object)
    index = {c: i for i, c in enumerate(classes)}
    y_idx = np.array([index.get(v, -1) for v in y], dtype=np.int64)
    if np.any(y_idx < 0):
        raise ValueError("y_true holds classes the predictions do not cover")
    if len(y) == 0:
        return {"n": 0.0}
    pred = proba.argmax(axis=1)
    k = min(3, proba.shape[1])
    top3 = np.argsort(-proba, axis=1)[:, :k]
    p = np.clip(proba[np.arange(len(y)), y_idx], 1e-7, 1.0)
    return {
        "n": float(len(y)),
        "accuracy": float(np.mean(pred == y_idx)),
        "top3_accuracy": float(np.mean(np.any(top3 == y_idx[:, None], axis=1))),
        "macro_f1": float(skm.f1_score(y_idx, pred, average="macro", labels=np.arange(len(classes)), zero_division=0)),
        "log_loss": float(-np.mean(np.log(p))),
    }


def clustering_metrics(X: np.ndarray, labels: np.ndarray, sample_size: int = 5000, seed: int = 0) -> dict:
    """Silhouette on a sample (outliers labelled -1 excluded) and segment sizes."""
    labels = np.asarray(labels)
    sizes = {int(k): int(v) for k, v in zip(*np.unique(labels, return_counts=True))}
    inliers = labels >= 0
    n_clusters = len({int(v) for v in labels[inliers]})
    out: dict = {
        "n": float(len(labels)),
        "n_clusters": float(n_clusters),
        "outlier_share": float(1 - inliers.mean()) if len(labels) else float("nan"),
        "sizes": sizes,
        "smallest_share": float(min(v for k, v in sizes.items() if k >= 0) / len(labels)) if n_clusters else float("nan"),
    }
    if n_clusters < 2 or inliers.sum() <= n_clusters:
        out["silhouette"] = float("nan")
        return out
    Xi, li = X[inliers], labels[inliers]
    size = min(sample_size, len(li))
    out["silhouette"] = float(skm.silhouette_score(Xi, li, sample_size=size if size < len(li) else None, random_state=seed))
    return out


def finite_or_none(metrics: dict) -> dict:
    """Replace NaN/inf with None so the dict is valid JSON."""
    clean = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            clean[key] = None
        elif isinstance(value, dict):
            clean[key] = finite_or_none(value)
        else:
            clean[key] = value
    return clean
