from datetime import date

import duckdb

from orchestration.quality_checks import duplicate_score_keys, score_violations

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
