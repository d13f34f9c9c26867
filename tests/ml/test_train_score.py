"""End to end on synthetic warehouses: train every family, gate, serve, score, write idempotently."""

import json
from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from ml import registry
from ml.score import build_scores, day_spans, score_specs, score_window
from ml.synthetic import build_synthetic_warehouse
from ml.train import FAMILIES, train_family

from .conftest import FAST_CONFIG


def read(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def test_every_family_returns_json_metadata_and_serves_something(trained_home):
    home, results = trained_home
    assert set(results) == set(FAMILIES)
    json.dumps(results)  # JSON-able
    for family, result in results.items():
        for row in result["models"]:
            assert row["served_version"] is not None, (family, row)
            assert row["serve"] in ("model", "baseline") and row["reason"]
            info = registry.champion_info(home, row["model_name"])
            assert info["version"] == row["served_version"]
            assert info["kind"] == row["serve"]
    by_name = {r["model_name"]: r for res in results.values() for r in res["models"]}
    # planted signals are strong: the boosted models win their gates on this shop
    for name in ("purchase_propensity_90d", "churn_risk", "customer_lifetime_value", "behavioral_clusters"):
        assert by_name[name]["promoted"], by_name[name]["reason"]
        km = by_name[name]["key_metrics"]
        assert km["candidate"] > km["baseline"]


def test_worse_candidate_is_refused_and_champion_kept(trained_home, synthetic_warehouse):
    home, results = trained_home
    path, info = synthetic_warehouse
    before = registry.champion_info(home, "purchase_propensity_90d")
    crippled = {**FAST_CONFIG, "horizons": [90],
                "booster": {"n_estimators": 1, "max_depth": 1, "learning_rate": 0.01, "nthread": 2}}
    out = train_family("purchase_propensity", path, home, info["end"], crippled)["models"][0]
    assert out["promoted"] is False and out["serve"] == "model"
    assert "keeping the current champion" in out["reason"]
    assert registry.champion_info(home, "purchase_propensity_90d") == before
    refused = registry.list_versions(home, "purchase_propensity_90d")[0]
    assert refused["version"] == out["candidate_version"] and refused["gate"] == "refused"


def test_score_window_writes_three_tables_idempotently(trained_home, synthetic_warehouse, tmp_path):
    home, _ = trained_home
    source, info = synthetic_warehouse
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(source.read_bytes())
    end = info["end"]
    start = end - timedelta(days=2)
    first = score_window(path, home, start, end)
    tables = {t: read(path, f"select * from marts.{t} order by all") for t in
              ("customer_scores", "customer_clusters", "cluster_profiles")}
    second = score_window(path, home, start, end)
    for t, frame in tables.items():
        again = read(path, f"select * from marts.{t} order by all")
        assert again.equals(frame), t
    n_features = read(path, f"select count(*) as n from marts.customer_features where as_of_date between '{start}' and '{end}'")["n"][0]
    assert first["rows"] == second["rows"] == n_features == tables["customer_scores"].height
    scores = tables["customer_scores"]
    assert scores.select(pl.struct("customer_id", "as_of_date").n_unique()).item() == scores.height
    day = scores.filter(pl.col("as_of_date") == end)
    before = scores.filter(pl.col("as_of_date") < end)
    for column in ("p_purchase_7d", "p_purchase_30d", "p_purchase_90d", "expected_value_365d", "discount_uplift"):
        assert day[column].null_count() == 0
        deciles = day[f"{column}_decile"]
        assert deciles.min() == 1 and deciles.max() == 10
        # point in time: the models were promoted as of `end`, so earlier days have no model to score them
        assert before[column].null_count() == before.height
    assert day.filter(pl.col("p_purchase_90d_decile") == 10)["p_purchase_90d"].min() >= \
        day.filter(pl.col("p_purchase_90d_decile") == 9)["p_purchase_90d"].max()
    assert day["reason_p_purchase_90d"].str.contains(r"^[+-]").all()
    assert set(day["purchase_propensity_90d_version"].unique()) == {first["served"]["purchase_propensity_90d"]["version"]}
    assert before["purchase_propensity_90d_version"].null_count() == before.height
    clusters = tables["customer_clusters"]
    assert clusters.height == scores.height and clusters["cluster_name"].null_count() == 0
    profiles = tables["cluster_profiles"]
    assert set(clusters["cluster_id"].unique()) <= set(profiles["cluster_id"])
    for total in profiles.group_by("model_version").agg(pl.col("share").sum())["share"]:
        assert abs(total - 1) < 1e-6
    # a narrower re-score replaces only its own window
    score_window(path, home, end, end)
    assert read(path, "select count(*) as n from marts.customer_scores")["n"][0] == scores.height


def test_a_window_scored_in_spans_of_days_writes_the_same_tables(trained_home, synthetic_warehouse, tmp_path):
    home, _ = trained_home
    source, info = synthetic_warehouse
    end = info["end"]
    start = end - timedelta(days=4)
    tables = {}
    for spans, span_rows in (("one", 10**9), ("several", 1)):
        path = tmp_path / f"{spans}.duckdb"
        path.write_bytes(source.read_bytes())
        summary = score_window(path, home, start, end, span_rows=span_rows)
        assert (summary.get("spans", 1) > 1) == (spans == "several")
        tables[spans] = {t: read(path, f"select * from marts.{t} order by all")
                         for t in ("customer_scores", "customer_clusters", "cluster_profiles")}
    for table, frame in tables["one"].items():
        assert frame.height > 0 and tables["several"][table].equals(frame), table


def test_day_spans_cover_every_day_and_hold_whole_days():
    d = [date(2026, 1, 1) + timedelta(days=i) for i in range(5)]
    rows = {d[0]: 40, d[1]: 40, d[3]: 100, d[4]: 10}  # d[2] has no snapshots
    assert day_spans(d[0], d[4], rows, 100) == [(d[0], d[2]), (d[3], d[3]), (d[4], d[4])]
    assert day_spans(d[0], d[4], rows, 1_000) == [(d[0], d[4])]
    assert day_spans(d[0], d[4], {}, 1) == [(d[0], d[4])]
    assert day_spans(d[0], d[0], {d[0]: 500}, 10) == [(d[0], d[0])]  # one day over the limit is scored whole


class CountingScorer:
    kind = "model"

    def __init__(self, outputs):
        self.outputs, self.calls = outputs, 0

    def score(self, frame):
        self.calls += 1
        return {o: np.arange(frame.height, dtype=float) for o in self.outputs}

    def reason_codes(self, frame, k=3, approx=False):
        return {o: np.full(frame.height, "+x", dtype=object) for o in self.outputs}


def test_scoring_calls_each_model_once_per_window():
    from ml.registry import Champion

    frame = pl.DataFrame({"customer_id": [f"c{i}" for i in range(300)],
                          "as_of_date": [d for d in pl.date_range(pl.date(2025, 1, 1), pl.date(2025, 1, 3), eager=True)
                                         for _ in range(100)]})
    champions = {}
    for name, outputs in score_specs():
        scorer = CountingScorer([o for o in outputs if o != "next_category"])
        champions[name] = Champion(name, "1", "model", "run", scorer)
    scores, _ = build_scores(frame, champions)
    assert scores.height == 300
    assert all(c.estimator.calls == 1 for c in champions.values())
    assert scores["reason_p_churn"].null_count() == 0
    last_only, _ = build_scores(frame, champions, reasons="last_day")
    explained = last_only.filter(pl.col("reason_p_churn").is_not_null())
    assert explained.height == 100 and explained["as_of_date"].unique().to_list() == [frame["as_of_date"].max()]
    assert build_scores(frame, champions, reasons="none")[0]["reason_p_churn"].null_count() == 300
    # deciles are per as_of_date: each day has its own top decile
    assert scores.filter(pl.col("p_churn_decile") == 10)["as_of_date"].n_unique() == 3


def test_brand_new_tiny_shop_serves_baselines_and_scores(tmp_home, tmp_path):
    path = tmp_path / "tiny.duckdb"
    info = build_synthetic_warehouse(path, n_customers=40, days=20, seed=11, campaign_day=5)
    results = {f: train_family(f, path, tmp_home, info["end"], FAST_CONFIG) for f in FAMILIES}
    for family, result in results.items():
        for row in result["models"]:
            assert row["serve"] == "baseline" and not row["promoted"], (family, row)
            assert row["candidate_version"] is None and row["served_version"] is not None
            assert "too little" in row["reason"] or "no " in row["reason"] or "history" in row["reason"]
    summary = score_window(path, tmp_home, info["end"], info["end"])
    assert all(v is not None and v["kind"] == "baseline" for v in summary["served"].values())
    scores = read(path, "select * from marts.customer_scores")
    assert scores.height == summary["rows"] > 0
    assert scores["p_purchase_30d"].null_count() == 0 and scores["expected_value_365d"].null_count() == 0
    assert read(path, "select count(*) as n from marts.customer_clusters")["n"][0] == scores.height


def test_uplift_set_uses_features_from_before_the_send_day_and_outcomes_after(synthetic_warehouse):
    from ml import warehouse
    from ml.uplift import uplift_training_set

    path, info = synthetic_warehouse
    frame = uplift_training_set(path, outcome_days=14)
    sent = info["campaign_sent"]
    assert frame.height > 0 and set(frame["treatment"].unique()) == {0, 1}
    assert (frame["as_of_date"] < frame["sent_date"]).all()
    assert frame["as_of_date"].max() == max(d for d in info["snapshots"] if d < sent)
    # outcome = any order in [send day, send day + 13], recomputed independently
    activity = read(path, "select customer_id, activity_date, orders from marts.customer_daily_activity")
    bought = set(activity.filter((pl.col("activity_date") >= sent) & (pl.col("activity_date") <= sent + timedelta(days=13))
                                 & (pl.col("orders") > 0))["customer_id"])
    expected = frame["customer_id"].is_in(list(bought)).cast(pl.Int8)
    assert (frame["outcome"] == expected).all()
    assert warehouse.latest_snapshot_before(info["snapshots"], sent) < sent


def test_scoring_an_empty_window_writes_nothing_and_keeps_other_days(trained_home, synthetic_warehouse, tmp_path):
    home, _ = trained_home
    source, info = synthetic_warehouse
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(source.read_bytes())
    score_window(path, home, info["end"], info["end"])
    before = read(path, "select count(*) as n from marts.customer_scores")["n"][0]
    far = info["end"] + timedelta(days=400)
    assert score_window(path, home, far, far)["rows"] == 0
    assert read(path, "select count(*) as n from marts.customer_scores")["n"][0] == before > 0


def test_scores_built_in_slices_equal_scores_built_at_once(trained_home, synthetic_warehouse):
    from ml import warehouse
    from ml.score import load_champions

    home, _ = trained_home
    path, info = synthetic_warehouse
    features = warehouse.features_between(path, info["end"] - timedelta(days=2), info["end"])
    champions = load_champions(home)
    slice_rows = features.height // 4 + 1  # four slices, the last one shorter, crossing day boundaries
    for reasons in ("all", "last_day"):
        whole, _ = build_scores(features, champions, approx_reasons=True, reasons=reasons)
        sliced, _ = build_scores(features, champions, approx_reasons=True, reasons=reasons, slice_rows=slice_rows)
        assert features.height > 3 * slice_rows and whole["reason_p_churn"].null_count() < whole.height
        # the uplift difference of two boosters may differ in the last bit with the batch size
        assert_frame_equal(sliced, whole, rel_tol=1e-12, abs_tol=1e-15)
