"""Plain-text table of registered model versions for `segments models`."""

from __future__ import annotations

KEY_METRICS = ("test_roc_auc", "test_normalized_gini", "test_qini", "test_accuracy", "test_silhouette")


def key_metric(metrics: dict) -> str:
    for name in KEY_METRICS:
        if name in metrics:
            return f"{name.removeprefix('test_')}={metrics[name]:.3f}"
    numeric = sorted(k for k, v in metrics.items() if isinstance(v, (int, float)))
    return f"{numeric[0]}={metrics[numeric[0]]:.3f}" if numeric else ""


def format_versions(rows: list[dict]) -> str:
    if not rows:
        return "no registered model versions yet (run `segments run` or `segments demo`)"
    header = f"{'model':<28} {'ver':>4} {'aliases':<10} {'serves':<9} {'gate':<9} {'as of':<11} {'metric':<24} reason"
    lines = [header, "-" * len(header)]
    for row in rows:
        reason = (row.get("gate_reason") or "").replace("\n", " ")
        lines.append(
            f"{row['name']:<28} {row['version']:>4} {','.join(row['aliases']):<10} {row.get('serve') or '':<9} "
            f"{row.get('gate') or '':<9} {row.get('as_of_date') or '':<11} {key_metric(row.get('metrics') or {}):<24} {reason[:90]}"
        )
    return "\n".join(lines)
