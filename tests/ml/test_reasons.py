import numpy as np
import polars as pl
import pytest

from ml.reasons import select_class, top_reasons


def test_top_reasons_orders_by_magnitude_and_signs_direction():
    names = ["recency_days", "cart_adds_30d", "email_open_rate", "sessions_30d"]
    contribs = np.array([
        [0.5, 0.2, -0.9, 0.0, 1.0],   # last column = bias, ignored
        [0.0, 0.0, 0.0, 0.0, 3.0],
        [-0.1, 0.3, 0.05, -0.2, 0.0],
    ])
    out = top_reasons(contribs, names, k=3)
    assert out.shape == (3,)
    assert out[0] == "-email_open_rate, +recency_days, +cart_adds_30d"
    assert out[1] == ""
    assert out[2] == "+cart_adds_30d, -sessions_30d, -recency_days"


def test_top_reasons_matches_a_per_row_reference_on_random_data():
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(12)]
    contribs = rng.normal(size=(500, 13))
    out = top_reasons(contribs, names, k=4)
    for i in (0, 17, 499):
        order = np.argsort(-np.abs(contribs[i, :12]))[:4]
        expected = ", ".join(("+" if contribs[i, j] > 0 else "-") + names[j] for j in order)
        assert out[i] == expected


def test_k_larger_than_features_and_empty_input():
    out = top_reasons(np.array([[1.0, -2.0, 0.0]]), ["a", "b"], k=5)
    assert out[0] == "-b, +a"
    assert top_reasons(np.zeros((0, 3)), ["a", "b"], k=2).shape == (0,)


def test_multiclass_selection_and_shape_check():
    contribs = np.zeros((2, 3, 3))
    contribs[0, 1, 0] = 1.0
    contribs[1, 2, 1] = -1.0
    picked = select_class(contribs, np.array([1, 2]))
    assert list(top_reasons(picked, ["a", "b"], k=1)) == ["+a", "-b"]
    with pytest.raises(ValueError):
        top_reasons(np.zeros((2, 7)), ["a", "b"], k=1)


def test_reason_codes_from_a_real_booster_explain_the_planted_driver():
    from ml.propensity import PurchasePropensity
    from ml.boosting import BoosterParams

    rng = np.random.default_rng(1)
    n = 3000
    frame = pl.DataFrame({"customer_id": [str(i) for i in range(n)], "signal": rng.normal(size=n),
                          "noise": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-3 * frame["signal"].to_numpy()))).astype(float)
    model = PurchasePropensity(7, BoosterParams(n_estimators=40, nthread=2)).fit(frame, y)
    reasons = np.asarray(list(model.reason_codes(frame, k=1)["p_purchase_7d"]), dtype=object)
    assert reasons.shape == (n,)
    strong = np.abs(frame["signal"].to_numpy()) > 1.5
    assert np.mean([r.lstrip("+-") == "signal" for r in reasons[strong]]) > 0.95
    assert all(r.startswith("+") for r in reasons[strong & (frame["signal"].to_numpy() > 0)])
