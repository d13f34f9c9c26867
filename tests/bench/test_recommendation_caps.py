import duckdb
import pytest

from bench.bench_recommendation_caps import next_day_hits, parse_caps


def test_caps_parse_as_seed_and_related_pairs():
    assert parse_caps("20x20, 20X10,5x1") == [(20, 20), (20, 10), (5, 1)]


@pytest.mark.parametrize("text", ["20", "20x", "x5", "0x5", "5x0", "a x b", "20x10,"])
def test_caps_refuse_anything_but_positive_pairs(text):
    with pytest.raises(ValueError, match="caps"):
        parse_caps(text)


def test_hits_count_only_buyers_who_got_recommendations():
    con = duckdb.connect()
    con.execute("""create table recommended as select * from (values
        ('a', 'p1'), ('a', 'p2'), ('b', 'p3'), ('c', 'p4')) as t(customer_id, product_id)""")
    # a bought a recommended product (twice over), b bought something else, d got no recommendations
    con.execute("""create table bought as select * from (values
        ('a', 'p1'), ('a', 'p2'), ('b', 'p9'), ('d', 'p1')) as t(customer_id, product_id)""")
    hits = next_day_hits(con, "recommended", "bought")
    assert (hits["buyers"], hits["hit"]) == (2, 1)
    assert hits["share"] == pytest.approx(0.5)
    assert hits["standard_error"] == pytest.approx((0.5 * 0.5 / 2) ** 0.5)


def test_no_buyers_gives_a_zero_share_not_a_division_error():
    con = duckdb.connect()
    con.execute("create table recommended (customer_id varchar, product_id varchar)")
    con.execute("create table bought (customer_id varchar, product_id varchar)")
    assert next_day_hits(con, "recommended", "bought") == {"buyers": 0, "hit": 0, "share": 0.0, "standard_error": 0.0}
