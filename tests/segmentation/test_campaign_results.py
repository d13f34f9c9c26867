from datetime import date, timedelta

import duckdb
import pytest

from segmentation.campaign_results import TABLE, build_campaign_results_by_segment

SEND = date(2026, 3, 10)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema staging; create schema marts")
    con.execute("create table staging.stg_campaign_assignments (campaign_id varchar, customer_id varchar, "
                "assignment_group varchar, sent_ts timestamptz)")
    con.execute("create table marts.customer_segments (as_of_date date, segment varchar, customer_id varchar)")
    con.execute("create table marts.customer_daily_activity (customer_id varchar, activity_date date, orders int, revenue double)")
    # 4 treated and 4 control deal seekers; 3 treated and 1 control buy within the window
    for i in range(8):
        group = "treatment" if i < 4 else "control"
        con.execute("insert into staging.stg_campaign_assignments values ('cmp1', ?, ?, ?)", [f"c{i}", group, f"{SEND} 09:00:00+00"])
        con.execute("insert into marts.customer_segments values (?, 'deal_seekers', ?)", [SEND - timedelta(days=1), f"c{i}"])
    for customer, day in (("c0", SEND), ("c1", SEND + timedelta(days=3)), ("c2", SEND + timedelta(days=13)), ("c4", SEND + timedelta(days=2))):
        con.execute("insert into marts.customer_daily_activity values (?, ?, 1, 50)", [customer, day])
    # outside the 14-day window and before the send: not conversions
    con.execute("insert into marts.customer_daily_activity values ('c3', ?, 1, 50), ('c5', ?, 1, 50)",
                [SEND + timedelta(days=14), SEND - timedelta(days=1)])
    yield con
    con.close()


def test_uplift_and_its_confidence_interval_per_segment(con):
    assert build_campaign_results_by_segment(con, outcome_days=14) == 2
    rows = {r[0]: r for r in con.execute(
        f"select assignment_group, customers, converters, conversion_rate, uplift, uplift_ci_low, uplift_ci_high, is_complete "
        f"from {TABLE} where breakdown_value = 'deal_seekers'").fetchall()}
    assert rows["treatment"][1:4] == (4, 3, 0.75)
    assert rows["control"][1:4] == (4, 1, 0.25)
    se = (0.75 * 0.25 / 4 + 0.25 * 0.75 / 4) ** 0.5
    assert rows["treatment"][4] == pytest.approx(0.5)
    assert rows["treatment"][5] == pytest.approx(0.5 - 1.959964 * se, abs=1e-6)
    assert rows["treatment"][6] == pytest.approx(0.5 + 1.959964 * se, abs=1e-6)
    assert rows["treatment"][7] is True  # data runs past the window's end


def test_missing_inputs_build_nothing():
    with duckdb.connect() as empty:
        assert build_campaign_results_by_segment(empty) == 0
