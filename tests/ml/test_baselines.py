"""Statistical baselines: BG/NBD, Gamma-Gamma, CLV, RFM and the RFM summary.

CDNOW reference figures: Fader, Hardie & Lee (2005) for BG/NBD; the Lifetimes documentation's
Gamma-Gamma fit on the same 946 repeat buyers (p 6.25, q 3.74, v 15.45).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy.special import hyp2f1

from ml.baselines import (
    BGNBD,
    ConvergenceError,
    GammaGamma,
    RFMExpectedCount,
    RFMPropensity,
    cdnow,
    expected_clv,
    expected_orders,
    rfm_bin_edges,
    rfm_churn,
    rfm_propensity,
    rfm_scores,
    rfm_summary,
)
from ml.baselines import bgnbd as bgnbd_module
from ml.baselines import gamma_gamma as gg_module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cdnow"


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_transactions() -> pl.DataFrame:
    return cdnow.load_transactions(FIXTURES / "CDNOW_sample.txt")


@pytest.fixture(scope="module")
def published_summary() -> pl.DataFrame:
    return cdnow.load_summary(FIXTURES / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_transactions) -> pl.DataFrame:
    return rfm_summary(
        cdnow_transactions, cdnow.CALIBRATION_END, "W", observation_end=cdnow.OBSERVATION_END
    )


@pytest.fixture(scope="module")
def cdnow_bgnbd(published_summary) -> BGNBD:
    s = published_summary
    return BGNBD().fit(s["frequency"], s["recency"], s["T"])


def simulate_bgnbd(n, r, alpha, a, b, T, horizon, rng):
    """Draw BG/NBD customers: repeat purchases in (0, T] (count, last time), in (T, T + horizon]."""
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    x = np.zeros(n, dtype=int)
    t_x = np.zeros(n)
    holdout = np.zeros(n, dtype=int)
    end = T + horizon
    while True:
        active = alive & (now <= end)
        if not active.any():
            return x, t_x, holdout
        now = np.where(active, now + rng.exponential(1.0 / lam), now)
        bought = active & (now <= end)
        in_calibration = bought & (now <= T)
        x += in_calibration
        t_x = np.where(in_calibration, now, t_x)
        holdout += bought & (now > T)
        # dropout happens only right after a repeat purchase; no purchase before `end` ends the run
        alive &= bought & (rng.random(n) >= p)


# -- rfm_summary -----------------------------------------------------------------------------


def test_rfm_summary_reproduces_published_cdnow_summary(cdnow_summary, published_summary):
    joined = published_summary.join(cdnow_summary, on="customer_id", how="full", suffix="_ours")
    assert joined.height == 2357
    assert joined.null_count()["frequency_ours"][0] == 0
    assert joined.null_count()["frequency"][0] == 0
    assert (joined["frequency"] == joined["frequency_ours"]).all()
    # the published file rounds to 2 decimals
    assert (joined["recency"] - joined["recency_ours"]).abs().max() <= 0.005 + 1e-9
    assert (joined["T"] - joined["T_ours"]).abs().max() <= 0.005 + 1e-9
    # 1997-09-30 is the last calibration day: a 1997-01-01 buyer has T = 272 days = 38.86 weeks
    first_day = cdnow_summary.filter(pl.col("customer_id") == "1")
    assert first_day["T"][0] == pytest.approx(272 / 7)


@pytest.mark.parametrize("calibration_end", [dt.date(1997, 9, 29), dt.date(1997, 10, 1)])
def test_neighbouring_calibration_ends_do_not_match_the_published_summary(
    cdnow_transactions, published_summary, calibration_end
):
    ours = rfm_summary(cdnow_transactions, calibration_end)
    joined = published_summary.join(ours, on="customer_id", suffix="_ours")
    assert (joined["frequency"] != joined["frequency_ours"]).sum() > 0


def test_rfm_summary_totals_and_holdout(cdnow_summary):
    assert cdnow_summary["frequency"].sum() == 2457
    assert cdnow_summary["frequency_holdout"].sum() == 1882
    assert (cdnow_summary["duration_holdout"] == 39.0).all()
    one = cdnow_summary.filter(pl.col("customer_id") == "1").row(0, named=True)
    # customer 1: 1997-01-01 29.33, 01-18 29.73, 08-02 14.96 (calibration), 12-12 26.48 (holdout)
    assert one["frequency"] == 2
    assert one["recency"] == pytest.approx(213 / 7)
    assert one["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)
    assert one["frequency_holdout"] == 1
    assert one["monetary_value_holdout"] == pytest.approx(26.48)


def small_log():
    return pl.DataFrame(
        {
            "customer_id": ["007", "007", "007", "007", "42", "42", "late"],
            "date": [
                dt.date(2024, 1, 1),
                dt.date(2024, 1, 1),  # same day: merged into one purchase worth 15
                dt.date(2024, 1, 8),
                dt.date(2024, 1, 20),  # holdout
                dt.date(2024, 1, 3),
                dt.date(2024, 1, 3),
                dt.date(2024, 1, 16),  # first purchase after calibration: not summarised
            ],
            "amount": [10.0, 5.0, 7.0, 9.0, 3.0, 4.0, 1.0],
        }
    )


def test_rfm_summary_merges_same_day_and_keeps_string_ids():
    out = rfm_summary(small_log(), "2024-01-15", "D", observation_end=dt.date(2024, 1, 31))
    assert out["customer_id"].to_list() == ["007", "42"]
    a, b = out.row(0, named=True), out.row(1, named=True)
    assert (a["frequency"], a["recency"], a["T"]) == (1, 7.0, 14.0)
    assert a["monetary_value"] == 7.0
    assert (a["frequency_holdout"], a["duration_holdout"]) == (1, 16.0)
    assert (b["frequency"], b["recency"], b["T"]) == (0, 0.0, 12.0)
    assert b["monetary_value"] is None
    assert b["frequency_holdout"] == 0


def test_rfm_summary_pandas_in_pandas_out_and_datetimes_truncate_to_days():
    log = small_log().with_columns(
        pl.col("date").cast(pl.Datetime("us")) + pl.duration(hours=pl.int_range(7))
    )
    out = rfm_summary(log.to_pandas(), pd.Timestamp("2024-01-15"), "W")
    assert isinstance(out, pd.DataFrame)
    assert out["frequency"].tolist() == [1, 0]
    assert out["T"].tolist() == pytest.approx([2.0, 12 / 7])
    assert np.isnan(out["monetary_value"].iloc[1])


def test_rfm_summary_without_amounts_and_with_missing_amounts():
    no_amount = rfm_summary(small_log().drop("amount"), "2024-01-15")
    assert no_amount["frequency"].to_list() == [1, 0]
    assert no_amount["monetary_value"].null_count() == 2
    partly = small_log().with_columns(
        pl.when(pl.col("amount") == 7.0).then(None).otherwise(pl.col("amount")).alias("amount")
    )
    out = rfm_summary(partly, "2024-01-15")
    assert out["frequency"][0] == 1
    assert out["monetary_value"][0] is None


def test_rfm_summary_rejects_bad_input():
    log = small_log()
    with pytest.raises(ValueError, match="period"):
        rfm_summary(log, "2024-01-15", period="M")
    with pytest.raises(ValueError, match="after calibration_end"):
        rfm_summary(log, "2024-01-15", observation_end="2024-01-15")
    with pytest.raises(ValueError, match="null 'customer_id'"):
        rfm_summary(log.with_columns(pl.lit(None, pl.String).alias("customer_id")), "2024-01-15")
    with pytest.raises(ValueError, match="required column"):
        rfm_summary(log.drop("date"), "2024-01-15")
    with pytest.raises(TypeError, match="numeric"):
        rfm_summary(log.with_columns(pl.col("amount").cast(pl.String)), "2024-01-15")
    with pytest.raises(TypeError, match="DataFrame"):
        rfm_summary(log.to_dicts(), "2024-01-15")
    with pytest.raises(ValueError, match="ISO date"):
        rfm_summary(log, "15/01/2024")


# -- BG/NBD ----------------------------------------------------------------------------------


def test_bgnbd_reproduces_published_cdnow_parameters(cdnow_bgnbd):
    fitted = cdnow_bgnbd.params_
    assert fitted["r"] == pytest.approx(0.243, abs=0.001)
    assert fitted["alpha"] == pytest.approx(4.414, abs=0.01)
    assert fitted["a"] == pytest.approx(0.793, abs=0.002)
    assert fitted["b"] == pytest.approx(2.426, abs=0.01)
    assert cdnow_bgnbd.log_likelihood_ == pytest.approx(cdnow.PUBLISHED_BGNBD_LL, abs=1.0)


def test_bgnbd_reproduces_published_holdout_figures(cdnow_summary):
    s = cdnow_summary
    x, t_x, big_t = s["frequency"], s["recency"], s["T"]
    model = BGNBD().fit(x, t_x, big_t)
    predicted = model.expected_purchases(39.0, x, t_x, big_t)
    actual = s["frequency_holdout"].to_numpy()
    assert np.corrcoef(predicted, actual)[0, 1] == pytest.approx(0.626, abs=0.005)
    # FHL's tracking forecast: cumulative repeat transactions at week 78 fall about 4 % short
    tracking = model.expected_purchases_new(big_t.to_numpy() + 39.0).sum()
    actual_cumulative = x.sum() + actual.sum()
    assert -0.05 < tracking / actual_cumulative - 1 < -0.03


def test_bgnbd_recovers_simulated_parameters_and_predictions():
    rng = np.random.default_rng(7)
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    n = 10_000
    T = rng.uniform(25, 39, n)
    x, t_x, holdout = simulate_bgnbd(n, *truth.values(), T, 39.0, rng)
    model = BGNBD().fit(x, t_x, T)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.2), name
    assert model.expected_purchases(39.0, x, t_x, T).sum() == pytest.approx(holdout.sum(), rel=0.05)
    # closed forms under the true parameters against the simulation
    true_model = BGNBD.from_params(truth)
    prob = true_model.prob_any_purchase(39.0, x, t_x, T)
    assert prob.mean() == pytest.approx((holdout > 0).mean(), abs=0.015)
    for low, high in [(0.0, 0.2), (0.2, 0.5), (0.5, 1.0)]:
        group = (prob >= low) & (prob < high)
        assert prob[group].mean() == pytest.approx((holdout[group] > 0).mean(), abs=0.03)
    fresh, _, _ = simulate_bgnbd(n, *truth.values(), np.full(n, 30.0), 0.0, rng)
    assert true_model.expected_purchases_new(30.0) == pytest.approx(fresh.mean(), rel=0.05)


def test_bgnbd_gradient_matches_finite_differences(published_summary):
    s = published_summary
    x, t_x, big_t = (s[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    theta = np.array([0.3, 4.0, 0.8, 2.5])
    ll, w4, x_safe, repeat = bgnbd_module._log_likelihood_parts(theta, x, t_x, big_t)
    grad = bgnbd_module._log_likelihood_gradient(theta, x, t_x, big_t, w4, x_safe, repeat).sum(0)
    step = 1e-6
    for k in range(4):
        e = np.zeros(4)
        e[k] = step
        up = bgnbd_module._log_likelihood_parts(theta + e, x, t_x, big_t)[0].sum()
        down = bgnbd_module._log_likelihood_parts(theta - e, x, t_x, big_t)[0].sum()
        assert grad[k] == pytest.approx((up - down) / (2 * step), rel=1e-5)


def test_euler_transformed_hypergeometric_term_matches_direct_and_stays_finite():
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    for x in (0, 1, 5, 20):
        for big_t in (0.0, 30.0):
            t = 39.0
            z = t / (alpha + big_t + t)
            direct = ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
                r + x, b + x, a + b + x - 1, z
            )
            ours = bgnbd_module._scaled_hyp2f1_term(r, alpha, a, b, x, big_t, t)
            assert ours == pytest.approx(direct, rel=1e-9)
    model = BGNBD.from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    heavy = model.expected_purchases(520.0, [300], [38.0], [38.5])
    assert np.isfinite(heavy).all() and heavy[0] > 0


def test_expected_purchases_monotone_in_frequency_for_recent_buyers(cdnow_bgnbd):
    frequency = np.arange(0, 30)
    big_t = np.full(30, 38.0)
    recency = np.where(frequency > 0, 38.0, 0.0)
    expected = cdnow_bgnbd.expected_purchases(39.0, frequency, recency, big_t)
    assert np.all(np.diff(expected[1:]) > 0)
    assert expected[0] < expected[2]


def test_prob_alive_in_unit_interval_and_falls_for_frequent_but_lapsed_buyers(cdnow_bgnbd):
    frequency = np.repeat(np.arange(0, 30), 5)
    big_t = np.full(len(frequency), 39.0)
    recency = np.where(frequency > 0, np.tile([0.5, 5.0, 20.0, 38.0, 39.0], 30), 0.0)
    alive = cdnow_bgnbd.prob_alive(frequency, recency, big_t)
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(alive[frequency == 0] == 1.0)
    lapsed = cdnow_bgnbd.prob_alive(np.arange(1, 20), np.full(19, 2.0), np.full(19, 39.0))
    assert np.all(np.diff(lapsed) < 0)
    prob = cdnow_bgnbd.prob_any_purchase(39.0, frequency, recency, big_t)
    assert np.all((prob >= 0) & (prob <= alive))


def test_expected_purchases_new_grows_with_time(cdnow_bgnbd):
    values = cdnow_bgnbd.expected_purchases_new(np.array([0.0, 10.0, 39.0, 78.0]))
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(values) > 0)


def test_bgnbd_penalizer_shrinks_parameters(published_summary):
    s = published_summary
    plain = BGNBD().fit(s["frequency"], s["recency"], s["T"])
    shrunk = BGNBD(penalizer=0.01).fit(s["frequency"], s["recency"], s["T"])
    assert sum(v**2 for v in shrunk.params_.values()) < sum(v**2 for v in plain.params_.values())
    assert shrunk.log_likelihood_ < plain.log_likelihood_


def test_bgnbd_rejects_bad_input():
    with pytest.raises(ValueError, match="recency > T"):
        BGNBD().fit([1, 2], [5.0, 9.0], [4.0, 10.0])
    with pytest.raises(ValueError, match="frequency 0 but recency > 0"):
        BGNBD().fit([0, 2], [1.0, 3.0], [4.0, 10.0])
    with pytest.raises(ValueError, match="differ in length"):
        BGNBD().fit([0, 2], [0.0], [4.0, 10.0])
    with pytest.raises(ValueError, match="negative"):
        BGNBD().fit([-1, 2], [0.0, 3.0], [4.0, 10.0])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        BGNBD().fit([0, 0], [0.0, 0.0], [4.0, 10.0])
    with pytest.raises(ValueError, match="whole numbers"):
        BGNBD().fit([0.5, 2], [0.0, 3.0], [4.0, 10.0])
    with pytest.raises(RuntimeError, match="not fitted"):
        BGNBD().prob_alive([1], [1.0], [2.0])
    with pytest.raises(ValueError, match="penalizer"):
        BGNBD(penalizer=-1.0)
    with pytest.raises(ValueError, match="> 0"):
        BGNBD.from_params({"r": 0.2, "alpha": 4.0, "a": 0.0, "b": 2.0})


# -- Gamma-Gamma and CLV ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_gamma_gamma(cdnow_summary) -> GammaGamma:
    return GammaGamma().fit(cdnow_summary["frequency"], cdnow_summary["monetary_value"])


def test_gamma_gamma_matches_lifetimes_cdnow_fit(cdnow_gamma_gamma):
    model = cdnow_gamma_gamma
    assert model.n_customers_ == 946
    assert model.params_["p"] == pytest.approx(6.25, abs=0.05)
    assert model.params_["q"] == pytest.approx(3.74, abs=0.03)
    assert model.params_["v"] == pytest.approx(15.45, abs=0.2)
    # p v / (q - 1): close to the mean repeat-purchase value of the repeat buyers ($35.08)
    assert model.population_mean() == pytest.approx(35.1, abs=0.5)


def test_gamma_gamma_conditional_values_match_lifetimes_readme(cdnow_gamma_gamma, cdnow_summary):
    first = cdnow_summary.filter(pl.col("customer_id").is_in(["1", "2", "3"])).sort("customer_id")
    values = cdnow_gamma_gamma.conditional_expected_value(
        first["frequency"], first["monetary_value"]
    )
    # Lifetimes README, conditional_expected_average_profit for customers 1, 2, 3
    assert values == pytest.approx([24.658619, 18.911489, 35.170981], abs=0.01)


def test_gamma_gamma_gradient_matches_finite_differences(cdnow_summary):
    repeat = cdnow_summary.filter(pl.col("frequency") > 0)
    x = repeat["frequency"].to_numpy().astype(float)
    m = repeat["monetary_value"].to_numpy()
    theta = np.array([6.0, 3.7, 15.0])
    grad = gg_module._log_likelihood_gradient(theta, x, m).sum(0)
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1e-6
        numeric = (
            gg_module._log_likelihood(theta + e, x, m).sum()
            - gg_module._log_likelihood(theta - e, x, m).sum()
        ) / 2e-6
        assert grad[k] == pytest.approx(numeric, rel=1e-5)


def test_gamma_gamma_conditional_value_shrinks_to_the_population_mean(cdnow_gamma_gamma):
    model = cdnow_gamma_gamma
    population = model.population_mean()
    values = model.conditional_expected_value([0, 1, 10, 100], [np.nan, 100.0, 100.0, 100.0])
    assert values[0] == pytest.approx(population)
    assert population < values[1] < values[2] < values[3] < 100.0
    assert values[3] == pytest.approx(100.0, rel=0.01)


def test_gamma_gamma_rejects_nonpositive_spend_of_repeat_buyers():
    with pytest.raises(ValueError, match="positive spend"):
        GammaGamma().fit([1, 2, 3, 0], [10.0, 0.0, 12.0, np.nan])
    with pytest.raises(ValueError, match="at least 2"):
        GammaGamma().fit([1, 0], [10.0, np.nan])


def test_expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary):
    s = cdnow_summary.head(200)
    args = (s["frequency"], s["recency"], s["T"], s["monetary_value"])
    orders = expected_orders(cdnow_bgnbd, *args[:3], 52)
    value = cdnow_gamma_gamma.conditional_expected_value(s["frequency"], s["monetary_value"])
    plain = expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, horizon_periods=52)
    assert plain == pytest.approx(orders * value)
    discounted = expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, 52, discount_rate=0.01)
    assert np.all(discounted > 0) and np.all(discounted < plain)
    tiny = expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, 52, discount_rate=1e-9)
    assert tiny == pytest.approx(plain, rel=1e-6)
    fractional = expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, 10.5, discount_rate=1e-9)
    assert fractional == pytest.approx(
        expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, 10.5), rel=1e-6
    )
    assert np.all(expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, 0) == 0)
    with pytest.raises(ValueError, match="horizon"):
        expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, -1)


# -- RFM -------------------------------------------------------------------------------------


def test_rfm_scores_quintiles_ties_and_missing():
    recency_days = np.array([1, 10, 20, 30, 40, 50, 60, 70, 80, 90, np.nan, 5.0])
    frequency = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 0, np.nan])
    monetary = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, np.nan, 0.0])
    r, f, m = rfm_scores(recency_days, frequency, monetary)
    # never purchased: lowest on every dimension, below every purchaser
    assert (r[10], f[10], m[10]) == (0, 0, 0)
    assert r[:10].min() >= 1 and f[:10].min() >= 1 and m[:10].min() >= 1
    # fewer days since the last purchase scores higher; more spend scores higher
    assert r[0] == 5 and r[9] == 1 and np.all(np.diff(r[:10]) <= 0)
    assert m[9] == 5 and np.all(np.diff(m[:10]) >= 0)
    # tied frequencies share a score; unknown frequency of a purchaser is lowest
    assert f[8] == f[9]
    assert f[11] == 0
    assert set(np.unique(r[:10])) == {1, 2, 3, 4, 5}
    # a heavy tie at the bottom (60 % one-time buyers) stays at the lowest purchaser score
    many_ties = np.array([0, 0, 0, 0, 0, 0, 1, 2, 3, 4], dtype=float)
    _, f_ties, _ = rfm_scores(np.arange(10.0), many_ties, np.ones(10))
    assert np.all(f_ties[:6] == 1) and np.all(f_ties[6:] > 1)


def test_rfm_propensity_range_churn_and_reference_edges():
    rng = np.random.default_rng(3)
    recency_days = rng.integers(0, 365, 500).astype(float)
    recency_days[:20] = np.nan
    frequency = rng.poisson(2, 500).astype(float)
    monetary = rng.gamma(2, 20, 500)
    score = rfm_propensity(recency_days, frequency, monetary)
    assert np.all((score >= 0) & (score <= 1))
    assert np.all(score[:20] == 0)
    assert rfm_churn(recency_days, frequency, monetary) == pytest.approx(1 - score)
    edges = rfm_bin_edges(recency_days, frequency, monetary)
    one = rfm_propensity([3.0], [8.0], [500.0], edges=edges)
    assert one[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="edges"):
        rfm_scores([1.0], [1.0], [1.0], n_bins=4, edges=edges)
    with pytest.raises(ValueError, match="negative"):
        rfm_scores([-1.0], [1.0], [1.0])


def test_rfm_propensity_classifier_is_monotone_calibrated_and_checks_input():
    rng = np.random.default_rng(5)
    n = 3000
    X = np.column_stack(
        [rng.integers(0, 200, n).astype(float), rng.poisson(3, n), rng.gamma(2, 20, n)]
    )
    X[:50, 0] = np.nan
    truth = 0.8 * np.exp(-X[:, 0] / 60)
    truth = np.where(np.isnan(truth), 0.05, truth)
    y = (rng.random(n) < truth).astype(int)
    model = RFMPropensity().fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (n, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba >= 0) & (proba <= 1))
    assert proba[:, 1].mean() == pytest.approx(y.mean(), abs=1e-9)  # isotonic keeps the mean
    levels = sorted(model.score_table_)
    assert np.all(np.diff([model.score_table_[s] for s in levels]) >= 0)
    assert model.predict_churn(X) == pytest.approx(proba[:, 0])
    counts = RFMExpectedCount().fit(X, rng.poisson(truth * 3)).predict(X)
    assert np.all(counts >= 0)
    with pytest.raises(ValueError, match="binary"):
        RFMPropensity().fit(X, y * 2)
    with pytest.raises(ValueError, match="3 columns"):
        RFMPropensity().fit(X[:, :2], y)
    with pytest.raises(RuntimeError, match="not fitted"):
        RFMPropensity().predict_proba(X)


def test_degenerate_bgnbd_fit_raises_a_value_error_and_a_penalizer_cures_it():
    # ten identical customers who bought every week and just bought again: nothing to separate
    x, recency, big_t = [50] * 10, [365.0] * 10, [365.0] * 10
    with pytest.raises(ConvergenceError, match="penalizer"):
        BGNBD().fit(x, recency, big_t)
    assert issubclass(ConvergenceError, ValueError)
    model = BGNBD(penalizer=0.001).fit(x, recency, big_t)
    forecast = model.expected_purchases(365.0, x, recency, big_t)
    assert np.all(np.isfinite(forecast)) and np.all(forecast > 10)
