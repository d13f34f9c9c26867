"""Supervised models on planted signals: each must find what was planted and beat its baseline."""

import numpy as np
import polars as pl
import pytest

from ml import metrics as M
from ml.boosting import BoosterParams
from ml.fallbacks import BGNBDValue, ConstantUplift, RFMScore, TopCategory
from ml.features import FeatureEncoder
from ml.lifetime_value import HurdleLifetimeValue
from ml.next_category import OTHER, NextCategoryModel, top_classes
from ml.propensity import ChurnRisk, PurchasePropensity
from ml.synthetic import planted_purchase_probability, synthetic_features
from ml.uplift import TLearnerUplift, XLearnerUplift

FAST = BoosterParams(n_estimators=80, learning_rate=0.15, max_depth=4, early_stopping_rounds=10, nthread=2)


def planted(n, seed):
    frame = synthetic_features(n, seed)
    y = (np.random.default_rng(seed + 100).random(n) < planted_purchase_probability(frame)).astype(float)
    return frame.drop("persona"), y


def test_propensity_beats_random_and_rfm_on_a_planted_signal():
    train, y = planted(4000, 0)
    valid, yv = planted(1000, 1)
    test, yt = planted(2000, 2)
    model = PurchasePropensity(30, FAST).fit(train, y, valid, yv)
    p = model.predict_proba(test)
    rfm = RFMScore("p_purchase_30d").fit(train, y).predict_proba(test)
    auc, auc_rfm = M.binary_metrics(yt, p)["roc_auc"], M.binary_metrics(yt, rfm)["roc_auc"]
    oracle = M.binary_metrics(yt, planted_purchase_probability(test))["roc_auc"]
    assert auc > 0.75 and auc > auc_rfm + 0.05 and auc > oracle - 0.05
    assert model.training_record_["best_iteration"] < FAST.n_estimators


def test_churn_is_nan_for_customers_who_never_bought():
    train, y = planted(3000, 3)
    model = ChurnRisk(90, FAST).fit(train, 1 - y)
    out = model.score(train)["p_churn"]
    never = train["frequency"].to_numpy() == 0
    assert np.isnan(out[never]).all() and np.isfinite(out[~never]).all()


def test_models_score_frames_missing_columns_and_with_unseen_categories():
    train, y = planted(2000, 4)
    model = PurchasePropensity(7, FAST).fit(train, y)
    poorer = train.drop("cart_adds_30d", "country").with_columns(pl.lit("mars").alias("top_category"))
    p = model.predict_proba(poorer)
    assert p.shape == (poorer.height,) and np.isfinite(p).all()
    encoder = FeatureEncoder().fit(train)
    X = encoder.transform(poorer)
    col = encoder.feature_names.index("cart_adds_30d")
    assert np.isnan(X[:, col]).all()
    assert X[:, [i for i, n in enumerate(encoder.feature_names) if n.startswith("top_category=")]].sum() == 0


@pytest.mark.parametrize("learner", [TLearnerUplift, XLearnerUplift])
def test_uplift_ranks_planted_sensitive_customers_on_top(learner):
    rng = np.random.default_rng(5)
    n = 8000
    frame = synthetic_features(n, 5).drop("persona")
    sensitive = frame["discount_revenue_share"].to_numpy() > 0.6
    t = rng.random(n) < 0.5
    base = 0.15 + 0.1 * (frame["email_open_rate"].to_numpy() > 0.4)
    y = (rng.random(n) < base + 0.35 * (sensitive & t)).astype(float)
    tr, va, te = np.arange(n) < 5000, (np.arange(n) >= 5000) & (np.arange(n) < 6000), np.arange(n) >= 6000
    model = learner(FAST).fit(frame.filter(pl.Series(tr)), t[tr], y[tr], frame.filter(pl.Series(va)), t[va], y[va])
    u = model.predict_uplift(frame.filter(pl.Series(te)))
    top = np.argsort(-u)[: len(u) // 5]
    assert sensitive[te][top].mean() > 0.85  # population share of sensitive customers is ~0.3
    const = ConstantUplift().fit(frame, t, y).predict_uplift(frame.filter(pl.Series(te)))
    assert M.qini_coefficient(y[te], t[te], u) > M.qini_coefficient(y[te], t[te], const) + 0.01
    reasons = model.reason_codes(frame.head(50), k=2)["discount_uplift"]
    assert reasons.shape == (50,)


def test_hurdle_ltv_handles_many_zero_spenders_and_scales_the_horizon():
    frame = synthetic_features(5000, 6).drop("persona")
    rng = np.random.default_rng(6)
    p = planted_purchase_probability(frame) * 0.5
    buys = rng.random(5000) < p
    orders = np.where(buys, 1 + rng.poisson(frame["frequency"].to_numpy() / 10), 0).astype(float)
    revenue = orders * np.nan_to_num(frame["avg_order_value"].to_numpy(), nan=50.0)
    tr, te = slice(0, 4000), slice(4000, 5000)
    baseline = BGNBDValue().fit(frame[tr], orders[tr], revenue[tr], label_days=90)
    model = HurdleLifetimeValue(90, 365, FAST).fit(frame[tr], orders[tr], revenue[tr], horizon_scaler=baseline)
    assert model.horizon_scaling.startswith("bgnbd ratio")
    _, o_hat, r_hat = model.predict_label_window(frame[te])
    assert M.normalized_gini(revenue[te], r_hat) > 0.5
    orders_365, value_365 = model.predict(frame[te])
    factor = model.horizon_factor(frame[te])
    assert np.all(factor >= 1.0) and np.all(factor <= 365 / 90 + 1e-9)
    assert np.allclose(value_365, r_hat * factor)
    assert (value_365 >= 0).all() and abs(r_hat.mean() - revenue[te].mean()) / revenue[te].mean() < 0.3


def test_next_category_uses_top_classes_plus_other_and_beats_chance():
    rng = np.random.default_rng(7)
    frame = synthetic_features(4000, 7).drop("persona")
    top = frame["top_category"].to_numpy()
    same = rng.random(4000) < 0.8
    labels = np.where(same, top, np.array(["garden", "toys"], dtype=object)[rng.integers(0, 2, 4000)])
    assert top_classes(labels, 3)[-1] == OTHER and len(top_classes(labels, 3)) == 4
    model = NextCategoryModel(top_k=8, booster_params=FAST).fit(frame[:3000], labels[:3000])
    pred = model.predict(frame[3000:])
    assert np.mean(pred == labels[3000:]) > 0.7
    baseline = TopCategory().fit(frame[:3000], labels[:3000], model.classes_)
    assert np.mean(baseline.predict(frame[3000:]) == labels[3000:]) > 0.7
    reasons = model.reason_codes(frame[:20], k=2)["next_category"]
    assert reasons.shape == (20,) and all(r for r in reasons)


def test_baselines_work_on_a_brand_new_shop_without_labels():
    frame = synthetic_features(30, 8).drop("persona")
    p = RFMScore("p_purchase_7d").fit(frame).predict_proba(frame)
    assert p.shape == (30,) and np.all((p >= 0) & (p <= 1))
    orders, value = BGNBDValue().fit(frame).predict(frame)
    assert np.isfinite(orders).all() and np.isfinite(value).all()
    never = pl.DataFrame({"customer_id": ["a", "b"], "frequency": [0, 0], "tenure_days": [1.0, 2.0]})
    assert RFMScore("p").fit(never).predict_proba(never).tolist() == [0.0, 0.0]
    assert BGNBDValue().fit(never).predict(never)[0].tolist() == [0.0, 0.0]


def test_encoding_cache_reuses_matrices_only_inside_the_block():
    from ml.features import encoding_cache

    frame, _ = planted(200, 9)
    encoder = FeatureEncoder().fit(frame)
    outside = encoder.transform(frame)
    with encoding_cache():
        first = encoder.transform(frame)
        assert encoder.transform(frame) is first
        assert FeatureEncoder().fit(frame).transform(frame) is first  # identical encoder, same frame
        other = frame.head(100)
        assert encoder.transform(other).shape[0] == 100
    assert encoder.transform(frame) is not first
    assert np.array_equal(np.nan_to_num(outside, nan=-1), np.nan_to_num(first, nan=-1))
