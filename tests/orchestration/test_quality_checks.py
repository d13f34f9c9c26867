from datetime import date

import duckdb
import numpy as np

from orchestration.quality.drift import champion_cutoffs, drift_against_training, drift_verdict
from orchestration.quality.gates import Gate, gate_for, served_model_gate
from orchestration.quality.scores import describe_violations, duplicate_score_keys, score_violations
from orchestration.quality.segment_sizes import (SegmentShift, judge_segment_shifts, segment_history_days,
                                                 segment_shifts)

DAY = date(2026, 3, 1)


def scores(rows):
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.customer_scores (customer_id varchar, as_of_date date, p_purchase_30d double, "
                "p_churn double, expected_value_365d double, discount_uplift double)")
    con.executemany("insert into marts.customer_scores values (?, ?, ?, ?, ?, ?)", rows)
    return con


def test_clean_scores_pass():
    con = scores([("a", DAY, 0.2, 0.9, 10.0, 0.05), ("b", DAY, 1.0, 0.0, 0.0, -0.1)])
    assert set(score_violations(con, DAY, DAY).values()) == {0}
    assert duplicate_score_keys(con, DAY, DAY) == 0


def test_each_broken_rule_is_counted():
    con = scores([("a", DAY, 1.2, 0.5, -3.0, 0.0), (None, DAY, 0.5, float("nan"), 1.0, 2.0), ("a", DAY, 0.1, 0.1, 1.0, 0.0)])
    found = score_violations(con, DAY, DAY)
    assert found["p_purchase_30d_outside_0_1"] == 1
    assert found["p_churn_outside_0_1"] == 1
    assert found["expected_value_365d_negative"] == 1
    assert found["null_customer_id"] == 1
    assert found["discount_uplift_outside_-1_1"] == 1
    assert duplicate_score_keys(con, DAY, DAY) == 1
    assert set(score_violations(con, date(2026, 3, 2), date(2026, 3, 2)).values()) == {0}


def test_a_missing_score_counts_only_where_a_model_was_served():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.customer_scores (customer_id varchar, as_of_date date, p_purchase_30d double, "
                "purchase_propensity_30d_version varchar, next_category varchar, next_category_version varchar)")
    con.executemany("insert into marts.customer_scores values (?, ?, ?, ?, ?, ?)", [
        ("a", DAY, 0.3, "2", "tech", "1"),
        ("b", DAY, None, "2", None, "1"),     # served, yet no value: broken
        ("c", DAY, None, None, None, None),   # nothing served yet (new shop): not a violation
    ])
    found = score_violations(con, DAY, DAY)
    assert found["p_purchase_30d_null_while_served"] == 1
    assert found["next_category_null_while_served"] == 1


def test_churn_may_be_missing_for_customers_who_never_bought():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.customer_scores (customer_id varchar, as_of_date date, p_churn double, "
                "churn_risk_version varchar)")
    con.execute("create table marts.customer_features (customer_id varchar, as_of_date date, frequency bigint)")
    con.executemany("insert into marts.customer_scores values (?, ?, ?, ?)",
                    [("buyer", DAY, None, "1"), ("browser", DAY, None, "1"), ("other_buyer", DAY, 0.2, "1")])
    con.executemany("insert into marts.customer_features values (?, ?, ?)",
                    [("buyer", DAY, 2), ("browser", DAY, 0), ("other_buyer", DAY, 1)])
    assert score_violations(con, DAY, DAY)["p_churn_null_while_served"] == 1


# ---- segment size shifts ----

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def shift(day, segment, size, previous):
    return SegmentShift(day, segment, size, previous, None if previous == 0 else (size - previous) / previous)


def test_no_move_passes_and_an_ordinary_move_only_warns():
    assert judge_segment_shifts([], {D2: 6}, D2, min_size=50).outcome == "pass"
    verdict = judge_segment_shifts([shift(D2, "vip", 130, 100)], {D2: 6}, D2, min_size=50)
    assert verdict.outcome == "warn" and "1 segment-day" in verdict.reasons[0]


def test_a_big_segment_emptied_on_the_published_day_blocks():
    verdict = judge_segment_shifts([shift(D2, "vip", 0, 80)], {D2: 6}, D2, min_size=50)
    assert verdict.outcome == "fail" and "vip dropped from 80 members to 0" in verdict.reasons[0]
    # the same on an earlier day of a backfill, or for a segment too small to matter, only warns
    assert judge_segment_shifts([shift(D1, "vip", 0, 80)], {D1: 6, D2: 6}, D2, min_size=50).outcome == "warn"
    assert judge_segment_shifts([shift(D2, "tiny", 0, 20)], {D2: 6}, D2, min_size=50).outcome == "warn"


def test_most_segments_moving_at_once_blocks():
    moved = [shift(D2, f"s{i}", 200, 100) for i in range(3)]
    assert judge_segment_shifts(moved, {D2: 4}, D2, min_size=50).outcome == "fail"
    assert judge_segment_shifts(moved[:2], {D2: 4}, D2, min_size=50).outcome == "warn"  # half is not most
    assert judge_segment_shifts(moved, {D2: 3}, D2, min_size=50).outcome == "warn"  # too few segments to judge


def test_a_young_shop_only_warns_on_mass_shifts_and_emptied_segments():
    moved = [shift(D2, f"s{i}", 130, 100) for i in range(3)] + [shift(D2, "vip", 0, 80)]
    young = judge_segment_shifts(moved, {D2: 4}, D2, min_size=50, history_days=1)
    assert young.outcome == "warn" and all("not blocking: only 1 day(s)" in r for r in young.reasons)
    assert judge_segment_shifts(moved, {D2: 4}, D2, min_size=50, history_days=7).outcome == "fail"


def test_segment_shifts_reads_flags_and_eligible_segments_per_day():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.segment_summary (as_of_date date, segment varchar, size bigint, "
                "previous_size bigint, size_change double, size_change_flag boolean)")
    con.executemany("insert into marts.segment_summary values (?, ?, ?, ?, ?, ?)", [
        (D2, "vip", 0, 80, -1.0, True), (D2, "steady", 60, 58, 0.03, False),
        (D2, "small", 10, 9, 0.1, False), (D2, "new", 70, None, None, False), (D1, "vip", 80, 75, 0.07, False),
    ])
    shifts, eligible = segment_shifts(con, D1, D2, min_size=50)
    assert [(s.segment, s.size, s.previous_size) for s in shifts] == [("vip", 0, 80)]
    assert eligible == {D1: 1, D2: 2}


# ---- served model against its gate ----

def champion(serve="model", gate="promoted", **metrics):
    return {"name": "churn_risk", "version": "4", "serve": serve, "gate": gate, "gate_reason": "why", "metrics": metrics}


def test_the_served_model_is_held_against_its_gate():
    auc = Gate("roc_auc")
    assert served_model_gate(None, auc)[0] == "fail"
    assert served_model_gate(champion(test_roc_auc=0.8, baseline_roc_auc=0.7), auc)[0] == "pass"
    outcome, reason = served_model_gate(champion(gate="refused", test_roc_auc=0.65, baseline_roc_auc=0.7), auc)
    assert outcome == "fail" and "does not beat its baseline 0.7000" in reason
    assert served_model_gate(champion(test_roc_auc=float("nan"), baseline_roc_auc=0.7), auc)[0] == "fail"
    outcome, reason = served_model_gate(champion(serve="baseline", test_roc_auc=0.7), auc)
    assert outcome == "warn" and "baseline" in reason and "why" in reason


def test_margins_thresholds_and_direction():
    qini = Gate("qini")
    assert served_model_gate(champion(test_qini=0.05, baseline_qini=0.0, test_qini_noise_95=0.08), qini)[0] == "fail"
    assert served_model_gate(champion(test_qini=0.10, baseline_qini=0.0, test_qini_noise_95=0.08), qini)[0] == "pass"
    silhouette = Gate("silhouette", threshold=0.15)
    assert served_model_gate(champion(test_silhouette=0.12), silhouette)[0] == "fail"
    assert served_model_gate(champion(test_silhouette=0.30), silhouette)[0] == "pass"
    rmse = Gate("rmse", higher_is_better=False)
    assert served_model_gate(champion(test_rmse=9.0, baseline_rmse=10.0), rmse)[0] == "pass"
    assert served_model_gate(champion(test_rmse=11.0, baseline_rmse=10.0), rmse)[0] == "fail"


def test_gates_follow_the_training_config():
    assert gate_for("churn_risk") == Gate("roc_auc", True, 0.0, None)
    assert gate_for("behavioral_clusters").threshold == 0.15
    assert gate_for("churn_risk", {"min_gain_over_baseline": 0.02}).min_gain_over_baseline == 0.02


# ---- drift against the champion's training data ----

def drift_warehouse(shift_by: float):
    rng = np.random.default_rng(1)
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.customer_features (customer_id varchar, as_of_date date, events_30d bigint, "
                "revenue_90d double, top_category varchar)")
    con.execute("create table marts.customer_scores (customer_id varchar, as_of_date date, p_churn double, "
                "p_churn_decile tinyint)")
    for day, offset in ((D1, 0.0), (D2, shift_by)):
        recency = rng.integers(0, 60, 2000)
        monetary = rng.gamma(2.0, 50.0, 2000) + offset * 100
        churn = np.clip(rng.beta(2, 5, 2000) + offset * 0.3, 0, 1)
        con.executemany("insert into marts.customer_features values (?, ?, ?, ?, 'tech')",
                        [(f"c{i}", day, int(r), float(m)) for i, (r, m) in enumerate(zip(recency, monetary))])
        con.executemany("insert into marts.customer_scores values (?, ?, ?, 5)",
                        [(f"c{i}", day, float(p)) for i, p in enumerate(churn)])
    return con


def test_champion_cutoffs_come_from_the_champion_alias():
    rows = [{"name": "churn_risk", "aliases": ["champion"], "as_of_date": "2026-03-01"},
            {"name": "churn_risk", "aliases": [], "as_of_date": "2026-03-08"},
            {"name": "next_category", "aliases": ["champion"], "as_of_date": None}]
    assert champion_cutoffs(rows) == {"churn_risk": D1}


def test_drift_is_measured_per_column_against_the_training_cutoff():
    stable = drift_against_training(drift_warehouse(0.0), {"churn_risk": D1}, D2)
    assert set(stable["features"]) == {"events_30d", "revenue_90d"} and set(stable["scores"]) == {"p_churn"}
    assert stable["reference_days"] == {"features": "2026-03-01", "churn_risk": "2026-03-01"}
    assert drift_verdict(stable)[0] == "pass"
    outcome, failing, _warning = drift_verdict(drift_against_training(drift_warehouse(1.0), {"churn_risk": D1}, D2))
    assert outcome == "fail" and {"feature:revenue_90d", "score:p_churn"} <= set(failing)
    assert "feature:events_30d" not in failing
    assert drift_against_training(drift_warehouse(0.0), {}, D2)["features"] == {}


def test_the_reference_is_the_latest_snapshot_on_or_before_the_cutoff():
    report = drift_against_training(drift_warehouse(0.0), {"purchase_propensity_30d": date(2026, 3, 5)}, D2)
    assert report["reference_days"]["features"] == "2026-03-02"


def test_violations_are_described_for_the_ui():
    assert describe_violations({}, DAY, DAY) is None
    text = describe_violations({"p_churn_outside_0_1": 3, "duplicate_customer_days": 1}, DAY, DAY)
    assert "break 2 rule(s)" in text and "p_churn_outside_0_1: 3 row(s)" in text and "2026-03-01" in text


def test_drift_leaves_out_columns_that_grow_with_time():
    from orchestration.quality.drift import drift_feature_columns

    kept = drift_feature_columns(["tenure_days", "events_total", "frequency", "events_7d", "email_open_rate",
                                  "share_mobile", "recency_days", "revenue_90d"])
    assert kept == ["events_7d", "email_open_rate", "share_mobile", "revenue_90d"]


def test_segment_history_days_counts_days_before_the_published_one():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.segment_summary (as_of_date date, segment varchar)")
    con.executemany("insert into marts.segment_summary values (?, ?)", [(D1, "a"), (D1, "b"), (D2, "a")])
    assert segment_history_days(con, D2) == 1
    assert segment_history_days(con, D1) == 0
