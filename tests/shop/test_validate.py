from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest

from shop import reasons as R
from shop.contract import CAMPAIGN_ASSIGNMENTS, CAMPAIGNS, CUSTOMERS, PRODUCTS, QUARANTINE
from shop.validate import (
    DIMENSION_QUARANTINE_SCHEMA,
    LAKE_EVENTS_SCHEMA,
    Batch,
    ValidationRules,
    cast_series,
    validate_dimension,
    validate_dimension_batches,
    validate_event_batches,
    validate_events,
)

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
DAY = date(2024, 3, 1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def events(**cols) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "event_id": [f"e{i}" for i in range(n)],
        "event_ts": ["2024-03-01T10:00:00Z"] * n,
        "event_type": ["page_view"] * n,
        "customer_id": ["c1"] * n,
    }
    base.update(cols)
    return pl.DataFrame(base, strict=False)


def reasons_of(quarantined: pl.DataFrame) -> list[tuple[int, str]]:
    return list(quarantined.select("row_number", "reason").iter_rows())


# ------------------------------------------------------------------------------------------------ casting


def test_ids_that_look_like_numbers_become_the_same_string():
    assert cast_series(pl.Series([123, None]), pl.String).to_list() == ["123", None]
    assert cast_series(pl.Series([123.0, 1.5, float("nan")]), pl.String).to_list() == ["123", "1.5", None]
    assert cast_series(pl.Series([" 123 ", "007", "", "  "]), pl.String).to_list() == ["123", "007", None, None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T10:00:00Z", utc(2024, 3, 1, 10)),
        ("2024-03-01T10:00:00.250Z", utc(2024, 3, 1, 10, 0, 0, 250000)),
        ("2024-03-01 12:00:00+02:00", utc(2024, 3, 1, 10)),
        ("2024-03-01T12:00:00+0200", utc(2024, 3, 1, 10)),
        ("2024-03-01 10:00:00 UTC", utc(2024, 3, 1, 10)),
        ("2024-03-01 10:00:00", utc(2024, 3, 1, 10)),
        ("2024-03-01 10:00", utc(2024, 3, 1, 10)),
        ("2024-03-01", utc(2024, 3, 1)),
        ("1709287200", utc(2024, 3, 1, 10)),
        ("1709287200000", utc(2024, 3, 1, 10)),
        (1709287200, utc(2024, 3, 1, 10)),
        (1709287200000, utc(2024, 3, 1, 10)),
        (1709287200000000, utc(2024, 3, 1, 10)),
        (1709287200.5, utc(2024, 3, 1, 10, 0, 0, 500000)),
        ("yesterday", None),
        ("2024-02-30 10:00:00", None),
    ],
)
def test_timestamps_from_strings_and_epochs_end_in_utc(value, expected):
    out = cast_series(pl.Series([value]), pl.Datetime("us", "UTC"))
    assert out.dtype == pl.Datetime("us", "UTC")
    assert out.to_list() == [expected]


def test_native_datetimes_are_converted_or_taken_as_utc():
    aware = pl.Series([datetime(2024, 3, 1, 11)]).dt.replace_time_zone("Europe/Paris")
    assert cast_series(aware, pl.Datetime("us", "UTC")).to_list() == [utc(2024, 3, 1, 10)]
    naive = pl.Series([datetime(2024, 3, 1, 10)]).cast(pl.Datetime("ns"))
    assert cast_series(naive, pl.Datetime("us", "UTC")).to_list() == [utc(2024, 3, 1, 10)]
    assert cast_series(pl.Series([date(2024, 3, 1)]), pl.Datetime("us", "UTC")).to_list() == [utc(2024, 3, 1)]


def test_numbers_ints_and_booleans():
    assert cast_series(pl.Series(["3", "3.0", "3.5", "x", " 4 "]), pl.Int64).to_list() == [3, 3, None, None, 4]
    assert cast_series(pl.Series([2.0, 2.5]), pl.Int64).to_list() == [2, None]
    assert cast_series(pl.Series(["1.5", "inf", "nan", "1e3"]), pl.Float64).to_list() == [1.5, None, None, 1000.0]
    assert cast_series(pl.Series(["Yes", "f", "1", "maybe"]), pl.Boolean).to_list() == [True, False, True, None]


# ------------------------------------------------------------------------------------------------- events


def test_accepted_has_exactly_the_lake_schema_and_missing_optional_columns_are_null():
    acc, q = validate_events(events(event_id=["a"]), "f.csv", DAY, NOW)
    assert acc.schema == LAKE_EVENTS_SCHEMA
    assert q.schema == QUARANTINE.schema and q.height == 0
    row = acc.row(0, named=True)
    assert row["event_ts"] == utc(2024, 3, 1, 10) and row["_source_file"] == "f.csv"
    assert row["price"] is None and row["anonymous_id"] is None


def test_empty_input_gives_empty_outputs_with_schema():
    acc, q = validate_events(pl.DataFrame({"event_id": [], "event_ts": [], "event_type": []}), "f", DAY, NOW)
    assert acc.height == 0 and acc.schema == LAKE_EVENTS_SCHEMA
    assert q.height == 0 and q.schema == QUARANTINE.schema


def test_each_check_gives_its_reason():
    df = events(
        event_id=["a", None, "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"],
        event_ts=["2024-03-01T10:00:00Z", "2024-03-01", "nope", "2099-01-01", "2024-03-02T00:00:00Z"]
        + ["2024-03-01T10:00:00Z"] * 10,
        event_type=["purchase"] * 5 + [None, "teleport", "page_view"] + ["purchase"] * 7,
        customer_id=["c"] * 7 + [None] + ["c"] * 7,
        price=[None] * 8 + ["x", "-1", "2000000", None, None, None, None],
        quantity=[None] * 11 + [200000, None, None, None],
        dwell_seconds=[None] * 12 + [-1, None, None],
        search_filters=[None] * 13 + ["[1, 2]", '{"a": 1}'],
    )
    acc, q = validate_events(df, "f.csv", DAY, NOW)
    assert acc.get_column("event_id").to_list() == ["a", "o"]
    assert reasons_of(q) == [
        (1, R.MISSING_EVENT_ID),
        (2, R.BAD_EVENT_TS),
        (3, R.FUTURE_EVENT_TS),
        (4, R.EVENT_TS_OUTSIDE_PARTITION),
        (5, R.MISSING_EVENT_TYPE),
        (6, R.UNKNOWN_EVENT_TYPE),
        (7, R.MISSING_IDENTITY),
        (8, "bad_price"),
        (9, R.NEGATIVE_PRICE),
        (10, R.ABSURD_PRICE),
        (11, R.ABSURD_QUANTITY),
        (12, "bad_dwell_seconds"),
        (13, "bad_search_filters"),
    ]
    assert all(R.is_known(r) for _, r in reasons_of(q))
    assert q.get_column("event_date").unique().to_list() == [DAY]
    assert q.get_column("loaded_at").unique().to_list() == [NOW]


def test_first_failing_check_wins():
    df = events(
        event_id=[None, "b", "c"],
        event_ts=["garbage", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"],
        event_type=["page_view", "teleport", "purchase"],
        customer_id=["c", None, "c"],
        price=[None, None, "-5"],
        quantity=[None, None, "x"],
    )
    _, q = validate_events(df, "f", DAY, NOW)
    # missing id before bad ts; unknown type before missing identity; bad_quantity before negative_price
    assert reasons_of(q) == [(0, R.MISSING_EVENT_ID), (1, R.UNKNOWN_EVENT_TYPE), (2, "bad_quantity")]


def test_event_type_is_trimmed_and_lower_cased_and_identity_may_be_anonymous():
    df = events(event_type=[" Purchase ", "PAGE_VIEW"], customer_id=[None, None], anonymous_id=["a1", "a2"])
    acc, q = validate_events(df, "f", DAY, NOW)
    assert q.height == 0
    assert acc.get_column("event_type").to_list() == ["purchase", "page_view"]


def test_partition_check_uses_the_utc_date():
    df = events(event_ts=["2024-03-01T23:30:00-01:00", "2024-03-02T00:30:00+01:00"])
    acc, q = validate_events(df, "f", DAY, NOW)
    assert reasons_of(q) == [(0, R.EVENT_TS_OUTSIDE_PARTITION)]
    assert acc.get_column("event_ts").to_list() == [utc(2024, 3, 1, 23, 30)]
    acc, q = validate_events(df, "f", None, NOW)  # no partition: both fine
    assert acc.height == 2


def test_bounds_are_configurable():
    df = events(event_ts=["2024-06-01T00:30:00Z"], price=["50"], quantity=["20"])
    rules = ValidationRules(future_tolerance=timedelta(minutes=10), max_price=40, max_abs_quantity=10)
    _, q = validate_events(df, "f", None, NOW, rules=rules)
    assert reasons_of(q) == [(0, R.FUTURE_EVENT_TS)]
    _, q = validate_events(df, "f", None, NOW)
    assert q.height == 0
    df = events(price=["50"], quantity=["20"])
    _, q = validate_events(df, "f", None, NOW, rules=rules)
    assert reasons_of(q) == [(0, R.ABSURD_PRICE)]


def test_negative_quantity_is_a_return_not_an_error():
    acc, q = validate_events(events(quantity=["-2"], price=["10"]), "f", DAY, NOW)
    assert q.height == 0 and acc.get_column("quantity").to_list() == [-2]


def test_a_negative_discount_is_only_valid_on_a_return():
    df = events(quantity=["-1", "1", None], discount_amount=["-5", "-5", "-5"], price=["10", "10", "10"])
    acc, q = validate_events(df, "f", DAY, NOW)
    assert acc.get_column("quantity").to_list() == [-1]
    assert reasons_of(q) == [(1, "bad_discount_amount"), (2, "bad_discount_amount")]


def test_duplicates_keep_the_first_by_file_then_row():
    a = events(event_id=["d1", "d1", "d2"], customer_id=["first", "second", "x"])
    b = events(event_id=["d2", "d3"])
    acc, q = validate_event_batches([Batch("a.csv", a), Batch("b.csv", b)], DAY, NOW)
    assert acc.select("event_id", "_source_file").rows() == [("d1", "a.csv"), ("d2", "a.csv"), ("d3", "b.csv")]
    assert acc.get_column("customer_id").to_list()[0] == "first"
    assert q.select("source_file", "row_number", "reason").rows() == [
        ("a.csv", 1, R.DUPLICATE_EVENT_ID),
        ("b.csv", 0, R.DUPLICATE_EVENT_ID),
    ]


def test_a_refused_row_does_not_shadow_a_later_valid_copy():
    df = events(event_id=["d1", "d1"], price=["x", "1"])
    acc, q = validate_events(df, "f", DAY, NOW)
    assert reasons_of(q) == [(0, "bad_price")]
    assert acc.get_column("price").to_list() == [1.0]


@pytest.mark.parametrize("as_lazy", [False, True])
def test_ids_already_in_the_lake_are_duplicates(as_lazy):
    prior = pl.Series("event_id", ["old1", "old2"])
    prior_arg = pl.LazyFrame({"event_id": prior}) if as_lazy else prior
    acc, q = validate_events(events(event_id=["old1", "new"]), "f", DAY, NOW, prior_event_ids=prior_arg)
    assert acc.get_column("event_id").to_list() == ["new"]
    assert reasons_of(q) == [(0, R.DUPLICATE_EVENT_ID)]


def test_row_json_is_the_row_as_received_with_extra_columns():
    df = events(event_id=[None], price=[" 9.5"], favourite_colour=["teal"])
    _, q = validate_events(df, "f", DAY, NOW)
    assert json.loads(q.get_column("row_json")[0]) == {
        "event_id": None,
        "event_ts": "2024-03-01T10:00:00Z",
        "event_type": "page_view",
        "customer_id": "c1",
        "price": " 9.5",
        "favourite_colour": "teal",
    }


def test_row_numbers_and_raw_rows_can_come_from_the_caller():
    df = events(event_id=[None, "b"])
    raw = pl.DataFrame({"Original": ["x", "y"]})
    _, q = validate_events(df, "f", DAY, NOW, row_numbers=pl.Series([10, 11]), raw_rows=raw)
    assert q.select("row_number", "row_json").rows() == [(10, '{"Original":"x"}')]


def test_nested_search_filters_become_json_text():
    df = pl.DataFrame(
        {
            "event_id": ["s"],
            "event_ts": [utc(2024, 3, 1, 10)],
            "event_type": ["search"],
            "customer_id": [7],
            "search_filters": [{"price_max": 50, "on_sale": True}],
        }
    )
    acc, q = validate_events(df, "f", DAY, NOW)
    assert q.height == 0
    assert json.loads(acc.get_column("search_filters")[0]) == {"price_max": 50, "on_sale": True}
    assert acc.get_column("customer_id").to_list() == ["7"]


def test_every_row_is_accounted_for():
    df = events(
        event_id=["a", "a", None, "b", "c"],
        event_ts=["2024-03-01", "2024-03-01", "2024-03-01", "x", "2024-03-01"],
        price=["1", "2", "3", "4", "-1"],
    )
    acc, q = validate_events(df, "f", DAY, NOW)
    assert acc.height + q.height == df.height
    assert sorted(q.get_column("row_number").to_list() + [0]) == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------------------------- dimensions


def test_dimension_key_required_types_cast_and_bad_values_quarantined():
    df = pl.DataFrame(
        {
            "customer_id": [1, None, "3", "4", "5"],
            "signup_ts": ["2023-01-01", "2023-01-01", "never", "2023-01-01", "2023-01-01"],
            "birth_year": ["1980", "1980", "1980", "1850", "1990.0"],
            "email_opt_in": ["yes", "no", "true", "false", "0"],
            "country": ["GB", "GB", "GB", "GB", "FR"],
        },
        strict=False,
    )
    acc, q = validate_dimension("customers", df, "landing/customers/a.csv", NOW)
    assert acc.columns == [*CUSTOMERS.names, "_source_file"]
    assert acc.schema["signup_ts"] == pl.Datetime("us", "UTC")
    assert acc.select("customer_id", "birth_year", "email_opt_in").rows() == [("1", 1980, True), ("5", 1990, False)]
    assert q.schema == DIMENSION_QUARANTINE_SCHEMA
    assert q.select("table_name", "row_number", "reason").rows() == [
        ("customers", 1, "missing_customer_id"),
        ("customers", 2, "bad_signup_ts"),
        ("customers", 3, "bad_birth_year"),
    ]


def test_dimension_last_delivery_of_a_key_wins():
    first = pl.DataFrame({"product_id": ["p1", "p2", "p1"], "list_price": ["1", "2", "3"]})
    second = pl.DataFrame({"product_id": ["p2"], "list_price": ["20"], "brand": ["acme"]})
    acc, q = validate_dimension_batches(PRODUCTS, [Batch("a", first), Batch("b", second)], NOW)
    assert acc.select("product_id", "list_price", "_source_file").rows() == [("p1", 3.0, "a"), ("p2", 20.0, "b")]
    assert q.select("source_file", "row_number", "reason").rows() == [
        ("a", 0, R.DUPLICATE_KEY),
        ("a", 1, R.DUPLICATE_KEY),
    ]


def test_dimension_domains():
    campaigns = pl.DataFrame(
        {
            "campaign_id": ["c1", "c2", "c3"],
            "discount_pct": ["10", "150", None],
            "start_ts": ["2024-01-10", "2024-01-10", "2024-01-10"],
            "end_ts": ["2024-01-20", "2024-01-20", "2024-01-01"],
        }
    )
    acc, q = validate_dimension(CAMPAIGNS, campaigns, "f", NOW)
    assert acc.get_column("campaign_id").to_list() == ["c1"]
    assert q.select("row_number", "reason").rows() == [(1, "bad_discount_pct"), (2, "bad_end_ts")]

    groups = pl.DataFrame(
        {"campaign_id": ["c1", "c1", "c1", "c2"], "customer_id": [1, 2, 3, 1], "group": ["Treatment", "control", "x", None]}
    )
    acc, q = validate_dimension(CAMPAIGN_ASSIGNMENTS, groups, "f", NOW)
    assert acc.select("campaign_id", "customer_id", "group").rows() == [("c1", "1", "treatment"), ("c1", "2", "control")]
    assert q.select("row_number", "reason").rows() == [(2, "bad_group"), (3, "missing_group")]
    assert all(R.is_known(r) for r in q.get_column("reason"))


def test_products_negative_list_price():
    acc, q = validate_dimension(PRODUCTS, pl.DataFrame({"product_id": ["p"], "list_price": [-1.0]}), "f", NOW)
    assert acc.height == 0 and q.get_column("reason").to_list() == [R.NEGATIVE_PRICE]


def test_reason_vocabulary_covers_the_documented_order():
    for reason in R.EVENT_CHECK_ORDER:
        assert reason == "bad_<column>" or R.is_known(reason)
    assert R.is_known("bad_price") and R.is_known("missing_customer_id") and R.is_known(R.STOCK_ADJUSTMENT)
