"""Reason codes from ml.saabas: the same numbers as XGBoost's approximate contributions, and a top
reason that mostly agrees with exact TreeSHAP."""

import numpy as np
import pytest
import xgboost as xgb

from ml import saabas
from ml.reasons import booster_reasons, format_top, shared_booster_reasons, top_reasons


def _data(n=4000, features=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype(np.float32)
    X[::7, 2] = np.nan
    X[::5, 5] = np.nan
    logit = 1.5 * X[:, 0] - np.nan_to_num(X[:, 2]) + X[:, 3] * X[:, 4] + 0.5 * np.nan_to_num(X[:, 5], nan=2.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return X, y, rng


def _booster(X, y, objective="binary:logistic", rounds=60, depth=5, **extra):
    params = {"objective": objective, "max_depth": depth, "tree_method": "hist", "nthread": 2, "eta": 0.2, **extra}
    return xgb.train(params, xgb.DMatrix(X, label=y), rounds)


def _xgb_approx(booster, X):
    return booster.predict(xgb.DMatrix(X), pred_contribs=True, approx_contribs=True)


def test_contributions_equal_xgboost_approx_contribs_with_missing_values():
    X, y, _ = _data()
    booster = _booster(X, y)
    forest = saabas.booster_forest(booster)
    ours = saabas.dense_contributions(forest, X)
    theirs = _xgb_approx(booster, X)
    assert np.allclose(ours, theirs[:, :-1], atol=1e-4)
    # with the bias column they add up to the margin, as XGBoost's do
    margin = booster.predict(xgb.DMatrix(X), output_margin=True)
    assert np.allclose(ours.sum(axis=1) + theirs[:, -1], margin, atol=1e-3)


def test_top_k_is_the_largest_absolute_contributions_in_order():
    X, y, _ = _data()
    booster = _booster(X, y)
    theirs = _xgb_approx(booster, X)[:, :-1]
    index, value = saabas.top_k_contributions(saabas.booster_forest(booster), X, k=3)
    expected = np.argsort(-np.abs(theirs), axis=1, kind="stable")[:, :3]
    gaps = np.abs(np.abs(theirs[np.arange(len(X)), expected[:, 0]]) - np.abs(theirs[np.arange(len(X)), expected[:, 1]]))
    clear = gaps > 1e-4  # near-ties may swap with float rounding
    assert clear.mean() > 0.95
    assert (index[clear, 0] == expected[clear, 0]).all()
    assert (index == expected).all(axis=1).mean() > 0.97
    assert np.allclose(value, np.take_along_axis(theirs, index, axis=1), atol=1e-4)
    assert (np.abs(value[:, 0]) >= np.abs(value[:, 1]) - 1e-12).all()


def test_multiclass_uses_each_rows_own_class_and_weights_combine():
    X, _, rng = _data(seed=1)
    labels = rng.integers(0, 4, len(X))
    labels[X[:, 0] > 1] = 0
    model = _booster(X, labels.astype(np.float32), "multi:softprob", rounds=20, depth=4, num_class=4)
    predicted = model.inplace_predict(X).argmax(axis=1)
    ours = saabas.dense_contributions(saabas.booster_forest(model), X, row_group=predicted)
    theirs = _xgb_approx(model, X)[np.arange(len(X)), predicted, :-1]
    assert np.allclose(ours, theirs, atol=1e-4)

    X2, y2, _ = _data(seed=2)
    a, b = _booster(X2, y2, rounds=30), _booster(X2, 1 - y2, rounds=20, depth=3)
    combined = saabas.dense_contributions(saabas.combine([(a, 1.0), (b, -0.25)]), X2)
    expected = _xgb_approx(a, X2)[:, :-1] - 0.25 * _xgb_approx(b, X2)[:, :-1]
    assert np.allclose(combined, expected, atol=1e-4)


def test_multiclass_top_k_walks_rows_by_class_and_keeps_each_rows_own_numbers():
    X, _, rng = _data(seed=3)
    labels = rng.integers(0, 5, len(X))
    labels[X[:, 0] > 1] = 0
    model = _booster(X, labels.astype(np.float32), "multi:softprob", rounds=15, depth=4, num_class=5)
    forest = saabas.booster_forest(model)
    predicted = model.inplace_predict(X).argmax(axis=1)
    index, value = saabas.top_k_contributions(forest, X, k=3, row_group=predicted)
    dense = saabas.dense_contributions(forest, X, row_group=predicted)  # every row in its own place
    assert np.array_equal(value, np.take_along_axis(dense, index, axis=1))  # the same sums, bit for bit
    expected = np.argsort(-np.abs(dense), axis=1, kind="stable")[:, :3]
    assert (index == expected).all()
    theirs = _xgb_approx(model, X)[np.arange(len(X)), predicted, :-1]
    assert np.allclose(value, np.take_along_axis(theirs, index, axis=1), atol=1e-4)
    shuffled = rng.permutation(len(X))
    again, again_value = saabas.top_k_contributions(forest, X[shuffled], k=3, row_group=predicted[shuffled])
    assert np.array_equal(again, index[shuffled]) and np.array_equal(again_value, value[shuffled])


def test_top_reason_mostly_agrees_with_exact_treeshap():
    X, y, _ = _data(n=3000)
    booster = _booster(X, y, rounds=80)
    names = [f"f{i}" for i in range(X.shape[1])]
    approx = booster_reasons([(booster, 1.0)], X, names, k=3, approx=True).to_list()
    exact = booster_reasons([(booster, 1.0)], X, names, k=3, approx=False).to_list()
    first = np.array([a.split(", ")[0] == e.split(", ")[0] for a, e in zip(approx, exact)])
    assert first.mean() > 0.75  # measured 0.86-0.87 on three seeds of this data
    assert all(a.count(",") == 2 for a in approx)


def test_format_top_matches_top_reasons_text():
    rng = np.random.default_rng(3)
    contribs = rng.normal(size=(300, 7))
    contribs[4] = 0.0
    names = [f"x{i}" for i in range(6)]
    index = np.argsort(-np.abs(contribs[:, :6]), axis=1, kind="stable")[:, :3]
    value = np.take_along_axis(contribs[:, :6], index, axis=1)
    assert format_top(index, value, names).to_list() == list(top_reasons(contribs, names, k=3))
    assert format_top(np.zeros((0, 3), dtype=int), np.zeros((0, 3)), names).len() == 0


def test_shape_errors_are_clear():
    X, y, _ = _data(n=200)
    forest = saabas.booster_forest(_booster(X, y, rounds=3))
    with pytest.raises(ValueError, match="matrix"):
        saabas.top_k_contributions(forest, X[:, :3])
    with pytest.raises(ValueError, match="row_group"):
        saabas.top_k_contributions(forest, X, row_group=np.zeros(3))


def test_shared_trees_walked_once_give_each_outputs_own_top_k():
    X, y, rng = _data()
    base, first, second = (_booster(X, y, rounds=r, seed=s) for r, s in ((40, 1), (25, 2), (30, 3)))
    forests = [saabas.booster_forest(b) for b in (base, first, second)]
    shared = saabas.shared_top_k_contributions(forests[0], [forests[1], None, forests[2]], X, k=3)
    separate = [saabas.top_k_contributions(saabas.combine(parts), X, k=3)
                for parts in ([(base, 1.0), (first, 1.0)], [(base, 1.0)], [(base, 1.0), (second, 1.0)])]
    for (index, value), (want_index, want_value) in zip(shared, separate):
        assert np.array_equal(index, want_index)
        assert np.array_equal(value, want_value)
    names = [f"f{i}" for i in range(X.shape[1])]
    reasons = shared_booster_reasons([(base, 1.0)], {"a": [(first, 1.0)], "b": []}, X, names, k=2)
    assert reasons["a"].to_list() == booster_reasons([(base, 1.0), (first, 1.0)], X, names, k=2).to_list()
    assert reasons["b"].to_list() == booster_reasons([(base, 1.0)], X, names, k=2).to_list()
