"""How fast this machine runs the issue's reference workloads, against the figures the issue gives.

Issue 6 states its targets for "this kind of machine" with reference figures: XGBoost (hist, 200
trees, depth 6) fits 144,000 rows in 0.9 s and predicts about 775,000 rows/s; K-Means (k = 8) fits
180,000 customers in 0.7 s. Machines of the same kind (2 cores, 24 GiB) differ by several times on
these, so every model figure is printed next to this machine's own calibration: the ratio says how
much slower (> 1) or faster than the reference machine the same work runs here.

The issue does not say how many columns its matrices had: these use 20 float32 columns, about the
size of the feature table it describes (RFM, sessions, cart abandonment, discount share, email rates,
device mix, top category, last-7/30-day counts), with a planted signal. The fit time grows with the
column count (2.1 s at 10 columns, 3.5 s at 20, 5.3 s at 40 on one machine), so the ratios are
indicative, not exact; between our own runs they compare like with like. Each workload runs twice and
the faster run counts.

    .venv/bin/python bench/calibration.py
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

REFERENCE_FIT_ROWS = 144_000
REFERENCE_TREES = 200  # depth 6, in the fit and in the predictions
REFERENCE_FIT_SECONDS = 0.9
REFERENCE_PREDICT_ROWS_PER_S = 775_000
REFERENCE_KMEANS_ROWS = 180_000
REFERENCE_KMEANS_SECONDS = 0.7
FEATURES = 20
REPEATS = 2


@dataclass(frozen=True)
class Calibration:
    fit_seconds: float
    predict_rows_per_s: float
    kmeans_seconds: float
    scale: float = 1.0  # rows used / the reference rows (1 outside tests)

    @property
    def fit_ratio(self) -> float:
        """This machine's XGBoost fit time over the reference's (2.0 = twice as slow)."""
        return self.fit_seconds / (REFERENCE_FIT_SECONDS * self.scale)

    @property
    def predict_ratio(self) -> float:
        """The reference's prediction rate over this machine's (2.0 = half as fast)."""
        return REFERENCE_PREDICT_ROWS_PER_S / self.predict_rows_per_s

    @property
    def kmeans_ratio(self) -> float:
        return self.kmeans_seconds / (REFERENCE_KMEANS_SECONDS * self.scale)

    def prediction_ceiling(self, trees: int) -> float:
        """Customers/s that predictions alone could reach with `trees` trees in all, at the tree-row rate
        this machine showed (rows/s x REFERENCE_TREES). Approximate: deeper trees take longer to walk."""
        if trees < 1:
            raise ValueError(f"trees must be >= 1, got {trees}")
        return self.predict_rows_per_s * REFERENCE_TREES / trees

    def lines(self) -> list[str]:
        return [
            "calibration (issue 6's reference workloads; ratio = this machine's time / the reference's):",
            f"  XGBoost fit, {round(REFERENCE_FIT_ROWS * self.scale):,} rows, {REFERENCE_TREES} trees, depth 6: "
            f"{self.fit_seconds:.2f} s (reference {REFERENCE_FIT_SECONDS * self.scale:.2f} s) -> x{self.fit_ratio:.1f}",
            f"  XGBoost predict: {self.predict_rows_per_s:,.0f} rows/s (reference {REFERENCE_PREDICT_ROWS_PER_S:,}) "
            f"-> x{self.predict_ratio:.1f}",
            f"  K-Means k=8, {round(REFERENCE_KMEANS_ROWS * self.scale):,} rows: {self.kmeans_seconds:.2f} s "
            f"(reference {REFERENCE_KMEANS_SECONDS * self.scale:.2f} s) -> x{self.kmeans_ratio:.1f}",
        ]


def planted_matrix(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A float32 matrix of FEATURES columns and a binary label that depends on a few of them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    logit = X[:, 0] - 0.5 * X[:, 1] + 0.25 * X[:, 2] * X[:, 3]
    y = (logit + rng.logistic(size=rows) > 0).astype(np.float32)
    return X, y


def _best(work) -> tuple[float, object]:
    """(the fastest of REPEATS runs of `work()` in seconds, what the last run returned)"""
    seconds, out = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        out = work()
        seconds.append(time.perf_counter() - started)
    return min(seconds), out


def calibrate(scale: float = 1.0) -> Calibration:
    """Time the three reference workloads (at `scale` x the reference rows; 1 outside tests)."""
    import xgboost as xgb
    from sklearn.cluster import KMeans

    X, y = planted_matrix(max(1_000, round(REFERENCE_FIT_ROWS * scale)))
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "verbosity": 0, "seed": 0}
    fit_seconds, booster = _best(lambda: xgb.train(params, xgb.QuantileDMatrix(X, label=y), num_boost_round=REFERENCE_TREES))
    booster.inplace_predict(X[:1_000])  # the first call sets up the predictor
    predict_seconds, _ = _best(lambda: booster.inplace_predict(X))
    customers, _ = planted_matrix(max(1_000, round(REFERENCE_KMEANS_ROWS * scale)), seed=1)
    kmeans_seconds, _ = _best(lambda: KMeans(n_clusters=8, n_init=1, random_state=0).fit(customers))
    return Calibration(fit_seconds, len(X) / predict_seconds, kmeans_seconds, scale)


if __name__ == "__main__":
    print("\n".join(calibrate().lines()))
