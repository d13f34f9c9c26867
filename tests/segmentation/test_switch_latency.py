"""Issue 4's done criterion on a simulated shop: a customer whose persona switched shows the switch in
marts.segment_membership_history within a day of it.

A shop of 1,000 customers over 48 days with 600 persona switches (switch_share 0.6; the default is
0.1: more switches, same behaviour, enough of them to measure) is simulated, loaded and built with
dbt (feature marts only: the category / tag segments need no model), then segments.yml is evaluated
over every day. For each switch that raises one category's or tag's expected share of product views
by 15 points or more, the customer should enter a segment of that interest within
[switch_date, switch_date + 1] far more often than the same customers do in 2-day windows before
their switch (placebo). Customers who do not visit in those two days cannot show anything; the rate
among those who did is asserted too.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from segmentation.columns import KNOWN_COLUMNS, warehouse_catalogue
from segmentation.membership import build_daily_segments, build_membership_history
from segmentation.rules import load_segments
from segmentation.switch_detection import report_for_warehouse
from tests.dbt.runner import DbtHome
from tests.segmentation.test_rules import REPO

pytestmark = pytest.mark.slow

START = date(2025, 10, 1)
DAYS = 48


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from shop.home import Home
    from shop.loader import load_dimensions, load_events
    from shop.simulator import generate

    path = tmp_path_factory.mktemp("switching_shop")
    end = START + timedelta(days=DAYS - 1)
    home = Home(path).ensure()
    generate(home, customers=1000, days=DAYS, start=START, seed=5, switch_share=0.6)
    load_events(home, START, end)
    load_dimensions(home)
    dbt = DbtHome(path)
    dbt.run_ok("run", "--select", "+customer_features", "+customer_category_features", "+customer_tag_features")
    with dbt.connect() as con:
        config = load_segments(REPO / "segments.yml", warehouse_catalogue(con) | KNOWN_COLUMNS)
        build_daily_segments(con, config, START, end)
        build_membership_history(con, START, end, config.settings)
        result = report_for_warehouse(con, path / "ground_truth", config)
    print("\n" + "\n".join(result.lines()))
    return result


def test_switched_customers_enter_a_segment_of_their_new_interest_within_a_day(report):
    assert report.eligible >= 150, report.lines()
    # a clear margin over the same customers on ordinary days, and a floor
    assert report.rate(1) >= report.placebo_rate + 0.10, report.lines()
    assert report.rate(1) >= 3 * report.placebo_rate, report.lines()
    # among customers who visited within a day of their switch: most of them show it
    assert report.active_rate >= 0.4 and report.active_rate >= report.placebo_active_rate + 0.2, report.lines()


def test_detection_grows_with_the_window(report):
    assert report.detected[0] <= report.detected[1] <= report.detected[7]
    assert report.detected[0] > 0
