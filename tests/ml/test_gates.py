
import pytest

from ml.gates import (Decision, SmallShopThresholds, check_sufficiency, decide_promotion, decide_threshold,
                      small_shop_decision)


def test_better_candidate_is_promoted_over_baseline_and_champion():
    d = decide_promotion({"roc_auc": 0.80}, {"roc_auc": 0.70}, {"roc_auc": 0.78}, "roc_auc", True, 0.005)
    assert d == Decision(True, "model", d.reason)
    assert "promoted" in d.reason


def test_first_model_without_champion_is_promoted_when_it_beats_baseline():
    d = decide_promotion({"roc_auc": 0.75}, {"roc_auc": 0.70}, None, "roc_auc")
    assert d.promote and d.serve == "model"


def test_deliberately_worse_model_is_refused_and_champion_keeps_serving():
    d = decide_promotion({"roc_auc": 0.72}, {"roc_auc": 0.70}, {"roc_auc": 0.80}, "roc_auc", True, 0.01)
    assert not d.promote
    assert d.serve == "model"
    assert "worse than champion" in d.reason and "keeping the current champion" in d.reason


def test_within_tolerance_of_champion_is_promoted():
    d = decide_promotion({"roc_auc": 0.795}, {"roc_auc": 0.70}, {"roc_auc": 0.80}, "roc_auc", True, 0.01)
    assert d.promote


def test_candidate_losing_to_baseline_without_champion_serves_baseline():
    d = decide_promotion({"roc_auc": 0.69}, {"roc_auc": 0.70}, None, "roc_auc")
    assert (d.promote, d.serve) == (False, "baseline")
    assert "does not beat baseline" in d.reason


def test_champion_that_also_loses_to_baseline_is_replaced_by_baseline():
    d = decide_promotion({"roc_auc": 0.60}, {"roc_auc": 0.70}, {"roc_auc": 0.65}, "roc_auc")
    assert (d.promote, d.serve) == (False, "baseline")


def test_baseline_champion_does_not_count_as_a_model_champion():
    d = decide_promotion({"roc_auc": 0.75}, {"roc_auc": 0.70}, {"roc_auc": 0.90}, "roc_auc", champion_is_model=False)
    assert d.promote


def test_lower_is_better_metrics():
    better = decide_promotion({"log_loss": 0.30}, {"log_loss": 0.40}, {"log_loss": 0.31}, "log_loss", False, 0.0)
    worse = decide_promotion({"log_loss": 0.45}, {"log_loss": 0.40}, None, "log_loss", False)
    assert better.promote and not worse.promote and worse.serve == "baseline"


def test_missing_or_nan_candidate_metric_is_never_promoted():
    for cand in (None, {}, {"roc_auc": float("nan")}):
        d = decide_promotion(cand, {"roc_auc": 0.7}, {"roc_auc": 0.8}, "roc_auc")
        assert not d.promote and d.serve == "model"


def test_min_gain_over_baseline():
    d = decide_promotion({"roc_auc": 0.705}, {"roc_auc": 0.70}, None, "roc_auc", min_gain_over_baseline=0.01)
    assert not d.promote


def test_threshold_gate_for_clustering():
    assert decide_threshold({"silhouette": 0.3}, None, "silhouette", 0.15).promote
    low = decide_threshold({"silhouette": 0.1}, None, "silhouette", 0.15)
    assert (low.promote, low.serve) == (False, "baseline") and "threshold" in low.reason
    kept = decide_threshold({"silhouette": 0.2}, {"silhouette": 0.4}, "silhouette", 0.15, tolerance=0.05)
    assert (kept.promote, kept.serve) == (False, "model")


def test_small_shop_thresholds_list_every_shortfall_and_serve_baseline():
    t = SmallShopThresholds(min_rows=500, min_positives=50, min_history_days=28)
    s = check_sufficiency(t, n_rows=40, history_days=10, n_positives=3, n_negatives=37, n_validation=10, n_test=10)
    assert not s.ok
    for part in ("history 10d", "training rows 40", "positive labels 3", "validation rows 10", "test rows 10"):
        assert part in s.reason
    d = small_shop_decision(s)
    assert (d.promote, d.serve) == (False, "baseline")
    assert check_sufficiency(t, n_rows=5000, history_days=100, n_positives=400, n_negatives=4600).ok


def test_thresholds_from_config_rejects_unknown_keys():
    assert SmallShopThresholds.from_config({"min_rows": 10}).min_rows == 10
    with pytest.raises(ValueError):
        SmallShopThresholds.from_config({"min_rowz": 10})


def test_champion_must_also_clear_the_margin_over_baseline_to_keep_serving():
    d = decide_promotion({"qini": 0.001}, {"qini": 0.0}, {"qini": 0.002}, "qini", min_gain_over_baseline=0.005)
    assert (d.promote, d.serve) == (False, "baseline")
    kept = decide_promotion({"qini": 0.001}, {"qini": 0.0}, {"qini": 0.02}, "qini", min_gain_over_baseline=0.005)
    assert (kept.promote, kept.serve) == (False, "model")
