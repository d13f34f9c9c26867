import numpy as np

from ml import metrics as M


def test_binary_metrics_on_perfect_and_random_scores():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.2).astype(float)
    perfect = M.binary_metrics(y, y * 0.98 + 0.01)
    random = M.binary_metrics(y, rng.random(4000))
    assert perfect["roc_auc"] == 1.0 and perfect["pr_auc"] == 1.0
    assert abs(random["roc_auc"] - 0.5) < 0.05
    assert perfect["top_decile_lift"] > 4.5 and abs(random["top_decile_lift"] - 1) < 0.35


def test_ece_is_small_for_calibrated_and_large_for_miscalibrated():
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(float)
    assert M.expected_calibration_error(y, p) < 0.02
    assert M.expected_calibration_error(y, np.clip(p + 0.3, 0, 1)) > 0.2


def test_normalized_gini_and_decile_calibration():
    y = np.array([0, 0, 0, 10, 0, 50, 0, 0, 5, 0], dtype=float)
    assert M.normalized_gini(y, y) == 1.0
    assert M.normalized_gini(y, -y) < 0
    deciles = M.decile_calibration(y, y)
    assert deciles[0]["mean_actual"] == 50 and len(deciles) == 10


def test_qini_prefers_a_ranking_that_finds_responders_and_constant_is_zero():
    rng = np.random.default_rng(2)
    n = 4000
    sensitive = rng.random(n) < 0.3
    t = rng.random(n) < 0.5
    y = (rng.random(n) < 0.1 + 0.4 * (sensitive & t)).astype(float)
    good = M.qini_coefficient(y, t, sensitive + rng.random(n) * 0.1)
    assert good > 0.02
    assert M.qini_coefficient(y, t, np.full(n, 0.3)) == 0.0
    assert M.uplift_at_top(y, t, sensitive + rng.random(n) * 0.1) > 0.3


def test_multiclass_and_clustering_metrics():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    out = M.multiclass_metrics(np.array(["a", "b", "a"], dtype=object), proba, ["a", "b", "c"])
    assert abs(out["accuracy"] - 2 / 3) < 1e-9 and out["top3_accuracy"] == 1.0
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    labels = np.repeat([0, 1], 50)
    cm = M.clustering_metrics(X, labels)
    assert cm["silhouette"] > 0.9 and cm["sizes"] == {0: 50, 1: 50}


def test_qini_noise_level_separates_real_uplift_from_chance():
    rng = np.random.default_rng(4)
    n = 4000
    sensitive = rng.random(n) < 0.3
    t = rng.random(n) < 0.5
    y_real = (rng.random(n) < 0.1 + 0.4 * (sensitive & t)).astype(float)
    y_none = (rng.random(n) < 0.1 + 0.4 * sensitive).astype(float)  # sensitive buy anyway: no uplift
    score = sensitive + rng.random(n) * 0.1
    assert M.qini_coefficient(y_real, t, score) > M.qini_noise_level(y_real, t, score)
    assert M.qini_coefficient(y_none, t, score) < M.qini_noise_level(y_none, t, score, n_permutations=100, quantile=0.99)


def test_qini_noise_level_is_the_quantile_of_the_permuted_qinis():
    rng = np.random.default_rng(5)
    n = 3000
    y = (rng.random(n) < 0.2).astype(float)
    t = (rng.random(n) < 0.5).astype(float)
    score = rng.normal(size=n).round(1)  # ties: the targeting order must stay the stable one
    permutations = np.random.default_rng(0)
    direct = [M.qini_coefficient(y, permutations.permutation(t), score) for _ in range(20)]
    assert M.qini_noise_level(y, t, score, n_permutations=20, quantile=0.9) == np.quantile(direct, 0.9)
    assert M.qini_noise_level(y, t, np.full(n, 0.5)) == 0.0


def test_a_qini_curve_with_more_points_than_rows_has_one_point_per_row():
    y, t, u = np.array([1.0, 0, 1, 0]), np.array([1.0, 1, 0, 0]), np.array([0.4, 0.3, 0.2, 0.1])
    fractions, values = M.qini_curve(y, t, u, n_points=10)
    assert fractions.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert values.tolist() == [0.0, 1.0, 1.0, -1.0, 0.0]  # Q(3) = 1 - 1 x 2 / 1
