import pytest

from bench.calibration import (REFERENCE_FIT_SECONDS, REFERENCE_KMEANS_SECONDS, REFERENCE_PREDICT_ROWS_PER_S,
                               REFERENCE_TREES, Calibration, calibrate, planted_matrix)


def test_ratios_compare_with_the_reference_figures_at_the_same_size():
    same = Calibration(REFERENCE_FIT_SECONDS, REFERENCE_PREDICT_ROWS_PER_S, REFERENCE_KMEANS_SECONDS)
    assert (same.fit_ratio, same.predict_ratio, same.kmeans_ratio) == (1.0, 1.0, 1.0)
    slower = Calibration(2 * REFERENCE_FIT_SECONDS, REFERENCE_PREDICT_ROWS_PER_S / 4, 3 * REFERENCE_KMEANS_SECONDS)
    assert slower.fit_ratio == pytest.approx(2.0) and slower.predict_ratio == pytest.approx(4.0)
    assert slower.kmeans_ratio == pytest.approx(3.0)
    # a tenth of the rows in the same time is ten times slower
    small = Calibration(REFERENCE_FIT_SECONDS, REFERENCE_PREDICT_ROWS_PER_S, REFERENCE_KMEANS_SECONDS, scale=0.1)
    assert small.fit_ratio == pytest.approx(10.0) and small.kmeans_ratio == pytest.approx(10.0)
    assert "x2.0" in "\n".join(slower.lines())


def test_the_prediction_ceiling_divides_the_tree_row_rate_by_the_trees_served():
    reference = Calibration(REFERENCE_FIT_SECONDS, REFERENCE_PREDICT_ROWS_PER_S, REFERENCE_KMEANS_SECONDS)
    assert reference.prediction_ceiling(REFERENCE_TREES) == REFERENCE_PREDICT_ROWS_PER_S
    assert reference.prediction_ceiling(10 * REFERENCE_TREES) == pytest.approx(REFERENCE_PREDICT_ROWS_PER_S / 10)
    with pytest.raises(ValueError):
        reference.prediction_ceiling(0)


def test_the_planted_label_is_learnable_and_reproducible():
    X, y = planted_matrix(2_000)
    again, _ = planted_matrix(2_000)
    assert X.shape == (2_000, 20) and (X == again).all()
    assert 0.3 < y.mean() < 0.7
    assert abs(float(((X[:, 0] > 0) == (y > 0)).mean()) - 0.5) > 0.1


def test_a_small_calibration_measures_every_workload():
    result = calibrate(scale=0.01)
    assert result.fit_seconds > 0 and result.predict_rows_per_s > 0 and result.kmeans_seconds > 0
    assert len(result.lines()) == 4
