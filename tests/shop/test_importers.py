from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from shop import reasons as R
from shop.contract import EVENTS, PRODUCTS, QUARANTINE
from shop.home import Home
from shop.importers import MappingError, import_file, load_mapping, parse_mapping, shipped_mappings
from shop.readers import MalformedFileError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "importers"
SHARED_ONLINE_RETAIL = Path(__file__).parents[3] / "shared" / "data" / "online_retail_sample" / "online_retail_sample.csv"
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home")


def landed_events(home: Home) -> pl.DataFrame:
    files = sorted((home.landing / "events").glob("event_date=*/*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else EVENTS.empty()


def landed_quarantine(home: Home) -> pl.DataFrame:
    files = sorted(home.landing_quarantine.glob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else QUARANTINE.empty()


def all_files(home: Home) -> dict[str, bytes]:
    return {p.relative_to(home.root).as_posix(): p.read_bytes() for p in sorted(home.root.rglob("*.parquet"))}


def test_shipped_mappings_load_and_use_only_known_reasons():
    assert shipped_mappings() == ["cdnow", "online_retail", "rees46"]
    for name in shipped_mappings():
        m = load_mapping(name)
        assert m.name == name and m.description
        assert all(R.is_known(t.reason) for t in m.types) and all(R.is_known(r.reason) for r in m.rules)


# ------------------------------------------------------------------------------------------ online_retail


def test_online_retail_slice(home):
    report = import_file(FIXTURES / "online_retail_slice.csv", "online_retail", home, now=NOW)
    assert (report.read, report.accepted, report.quarantined) == (346, 262, 84)
    assert report.reasons == {"missing_identity": 77, "duplicate_event_id": 7}
    assert report.reconciles
    events = landed_events(home)
    assert events.schema == EVENTS.schema and events.height == 262
    assert events.get_column("event_id").n_unique() == 262
    assert events.get_column("event_id").str.ends_with("#1").sum() == 6  # same invoice line, other content
    returns = events.filter(pl.col("order_id").str.starts_with("C"))
    assert returns.height == 24 and (returns.get_column("quantity") < 0).all()
    assert set(events.get_column("event_type")) == {"purchase"}
    q = landed_quarantine(home)
    assert q.height == 84 and q.get_column("row_number").is_sorted()
    first = json.loads(q.filter(pl.col("reason") == "missing_identity").get_column("row_json")[0])
    assert first["CustomerID"] is None and set(first) == {
        "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"
    }
    customers = pl.read_parquet(home.landing / "customers" / f"import-online_retail-{report.content_hash}.parquet")
    assert customers.height == events.get_column("customer_id").n_unique()
    assert customers.get_column("country").null_count() == 0


def test_online_retail_time_zone_and_country_codes(home):
    import_file(FIXTURES / "online_retail_slice.csv", "online_retail", home, now=NOW)
    events = landed_events(home)

    def ts(event_id: str) -> datetime:
        return events.filter(pl.col("event_id") == event_id).get_column("event_ts")[0]

    # InvoiceDate is London time: "2011-01-18 10:28:00" (GMT) and "2011-06-16 14:45:00" (BST, UTC+1)
    assert ts("541435-84279P") == datetime(2011, 1, 18, 10, 28, tzinfo=timezone.utc)
    assert ts("557055-23203") == datetime(2011, 6, 16, 13, 45, tzinfo=timezone.utc)
    assert dict(events.group_by("country").len().iter_rows()).keys() == {
        "BE", "JE", "CY", "IE", "FR", "DE", "IT", "NL", "PT", "CH", "GB"
    }


def test_online_retail_bad_rows(home):
    report = import_file(FIXTURES / "online_retail_bad.csv", "online_retail", home, now=NOW)
    q = landed_quarantine(home)
    assert q.select("row_number", "reason").rows() == [
        (0, "negative_price"),
        (1, "stock_adjustment"),
        (2, "bad_quantity"),  # cancellation with a positive quantity
        (3, "bad_quantity"),  # "abc"
        (4, "bad_price"),  # "1O.5"
        (5, "bad_event_ts"),
        (6, "future_event_ts"),
        (7, "absurd_quantity"),
        (9, "missing_identity"),
        (11, "duplicate_event_id"),  # exact copy of row 10
        (13, "missing_event_id"),  # no InvoiceNo
    ]
    events = landed_events(home).sort("event_ts", "event_id")
    assert events.select("event_id", "customer_id", "country", "quantity").rows() == [
        ("536365-85123A", "17850", "GB", 6),  # Excel-style date, id written as 17850.0
        ("560009-22423", "12345", None, 2),  # unknown country name -> null
        ("560009-22423#1", "12345", None, 3),
    ]
    assert events.get_column("event_ts").to_list() == [
        datetime(2010, 12, 1, 8, 26, tzinfo=timezone.utc),
        datetime(2011, 7, 14, 9, 0, tzinfo=timezone.utc),
        datetime(2011, 7, 14, 9, 0, tzinfo=timezone.utc),
    ]
    assert (report.read, report.accepted, report.quarantined) == (14, 3, 11) and report.reconciles


@pytest.mark.skipif(not SHARED_ONLINE_RETAIL.is_file(), reason="needs ../shared/data (not part of the repository)")
def test_full_online_retail_sample_reconciles(home):
    report = import_file(SHARED_ONLINE_RETAIL, "online_retail", home, now=NOW)
    assert report.read == 20_000 and report.accepted + report.quarantined == 20_000
    assert report.reasons == {"missing_identity": 5078, "duplicate_event_id": 7}


# -------------------------------------------------------------------------------------------------- cdnow


def test_cdnow_slice(home):
    report = import_file(FIXTURES / "cdnow_slice.txt", "cdnow", home, now=NOW)
    assert (report.read, report.accepted, report.quarantined) == (343, 343, 0)
    assert report.days == 189 and report.quarantine_file is None
    events = landed_events(home)
    assert set(events.get_column("event_type")) == {"purchase"}
    assert events.get_column("event_id").n_unique() == 343
    # identical lines are separate purchases: a repeat of a customer-day is numbered
    lines = [ln.split() for ln in (FIXTURES / "cdnow_slice.txt").read_text().splitlines() if ln.strip()]
    repeats = len(lines) - len({(f[0], f[2]) for f in lines})
    assert repeats > 10  # includes the 10 identical lines the slice was cut to contain
    assert events.get_column("event_id").str.contains("#").sum() == repeats
    one = events.filter(pl.col("event_id") == "cdnow-00004-19970101").row(0, named=True)
    assert (one["customer_id"], one["quantity"], one["price"]) == ("00004", 2, pytest.approx(29.33 / 2))
    assert one["event_ts"] == datetime(1997, 1, 1, tzinfo=timezone.utc)
    assert events.filter(pl.col("price") == 0).height == 8


def test_cdnow_bad_rows(home):
    report = import_file(FIXTURES / "cdnow_bad.txt", "cdnow", home, now=NOW)
    assert landed_quarantine(home).select("row_number", "reason").rows() == [
        (2, "bad_quantity"),
        (3, "bad_price"),
        (4, "bad_event_ts"),
        (5, "negative_price"),
        (6, "bad_quantity"),
    ]
    assert sorted(landed_events(home).get_column("event_id")) == [
        "cdnow-00001-19970101", "cdnow-00001-19970101#1", "cdnow-00007-19970107"
    ]
    assert report.reconciles and (report.read, report.accepted) == (8, 3)


def test_cdnow_ragged_line_is_a_malformed_file(home):
    with pytest.raises(MalformedFileError, match="cdnow_ragged.txt.*do not have 5 fields"):
        import_file(FIXTURES / "cdnow_ragged.txt", "cdnow", home, now=NOW)
    assert not home.root.exists() or not any(home.root.rglob("*.parquet"))


# ------------------------------------------------------------------------------------------------- rees46


def test_rees46_slice(home):
    report = import_file(FIXTURES / "rees46_slice.csv", "rees46", home, now=NOW)
    assert (report.read, report.accepted, report.quarantined) == (262, 262, 0)
    events = landed_events(home)
    assert dict(events.group_by("event_type").len().iter_rows()) == {"product_view": 249, "add_to_cart": 3, "purchase": 10}
    assert events.get_column("session_id").null_count() == 0
    assert events.filter(pl.col("event_type") == "purchase").get_column("quantity").to_list() == [1] * 10
    assert events.filter(pl.col("event_type") != "purchase").get_column("quantity").null_count() == 252
    phone = events.filter(pl.col("product_id") == "1307067").row(0, named=True)
    assert (phone["category"], phone["brand"], phone["customer_id"]) == ("computers", "lenovo", "550050854")
    products = pl.read_parquet(home.landing / "products" / f"import-rees46-{report.content_hash}.parquet")
    assert products.schema == PRODUCTS.schema and products.height == 184
    sofa = products.filter(pl.col("product_id") == "17200506").row(0, named=True)
    assert (sofa["category"], sofa["subcategory"], sofa["brand"]) == ("furniture", "living_room.sofa", None)


def test_rees46_bad_rows(home):
    report = import_file(FIXTURES / "rees46_bad.csv", "rees46", home, now=NOW)
    assert landed_quarantine(home).select("row_number", "reason").rows() == [
        (1, "unknown_event_type"),
        (2, "missing_identity"),
        (3, "bad_price"),
        (4, "bad_event_ts"),
        (6, "duplicate_event_id"),
        (7, "negative_price"),
    ]
    assert sorted(landed_events(home).get_column("event_type")) == ["product_view", "purchase", "remove_from_cart"]
    products = pl.read_parquet(home.landing / "products" / f"import-rees46-{report.content_hash}.parquet")
    assert products.select("product_id", "category", "subcategory", "list_price").rows() == [
        ("2", None, None, 5.5),
        ("1", "electronics", "smartphone", 90.0),  # the last row of product 1 wins
    ]


# ----------------------------------------------------------------------------------- outputs and re-imports


def test_reimporting_the_same_file_overwrites_and_never_duplicates(home):
    first = import_file(FIXTURES / "online_retail_bad.csv", "online_retail", home, now=NOW)
    files = all_files(home)
    second = import_file(FIXTURES / "online_retail_bad.csv", "online_retail", home, now=NOW)
    assert all_files(home) == files
    assert first.event_files == second.event_files and len(first.event_files) == 2
    assert all(f.endswith(f"import-online_retail-{first.content_hash}.parquet") for f in files)


def test_ids_are_stable_across_homes(tmp_path):
    ids = []
    for name in ("a", "b"):
        h = Home(tmp_path / name)
        import_file(FIXTURES / "rees46_slice.csv", "rees46", h, now=NOW)
        ids.append(landed_events(h).get_column("event_id").sort().to_list())
    assert ids[0] == ids[1]


def test_the_importer_does_not_touch_the_warehouse(home):
    import_file(FIXTURES / "cdnow_bad.txt", "cdnow", home, now=NOW)
    assert not home.warehouse.exists()


def test_report_prints_counts_and_reasons(home):
    text = str(import_file(FIXTURES / "rees46_bad.csv", "rees46", home, now=NOW))
    assert "read 9 = accepted 3 + quarantined 6 (reconciles)" in text
    assert "unknown_event_type" in text


# ------------------------------------------------------------------------------------------ custom mappings


CUSTOM = """
name: shop_export
input: {format: csv, delimiter: ";", header: false, columns: [id, when, kind, who, dollars, cds], encoding: latin-1}
types:
  dollars: {type: float, reason: bad_price}
  cds: {type: int, reason: bad_quantity}
quarantine:
  - {when: "who = 'test-user'", reason: missing_identity}
events:
  event_id: {column: id}
  event_ts: {column: when, format: "%d.%m.%Y %H:%M", timezone: Europe/Berlin}
  event_type: {column: kind, map: {buy: purchase, look: product_view}, unmapped: "null"}
  customer_id: {column: who}
  quantity: {column: cds}
  price: {sql: "dollars / cds"}
  search_query: {const: "from export"}
"""


def test_custom_yaml_mapping_by_path(tmp_path, home):
    mapping = tmp_path / "export.yml"
    mapping.write_text(CUSTOM, encoding="utf-8")
    data = tmp_path / "export.csv"
    data.write_bytes(
        "1;01.03.2024 11:00;buy;Zoë;30;3\n2;01.03.2024 11:00;look;test-user;0;1\n3;01.03.2024 11:00;jump;x;0;1\n".encode(
            "latin-1"
        )
    )
    report = import_file(data, mapping, home, now=NOW)
    assert report.mapping == "shop_export"
    assert report.reasons == {"missing_identity": 1, "missing_event_type": 1}
    row = landed_events(home).row(0, named=True)
    assert (row["customer_id"], row["price"], row["search_query"]) == ("Zoë", 10.0, "from export")
    assert row["event_ts"] == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert (home.landing_events_day("2024-03-01") / f"import-shop_export-{report.content_hash}.parquet").is_file()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"events": {"event_id": "a", "event_ts": "b"}}, "required column event_type"),
        ({"events": {"event_id": "a", "event_ts": "b", "event_type": "c", "colour": "d"}}, "unknown key"),
        ({"events": {"event_id": {"column": "a", "const": 1}, "event_ts": "b", "event_type": "c"}}, "exactly one of"),
        ({"events": {"event_id": {"sql": "a +* b"}, "event_ts": "b", "event_type": "c"}}, "invalid SQL"),
        ({"quarantine": [{"when": "a IS NULL", "reason": "because"}], "events": {}}, "not in shop.reasons"),
        ({"input": {"sheet": 1}, "events": {}}, "unknown key"),
        ({"name": "a/b", "events": {}}, "file names"),
        ({"events": {"event_id": {"column": "a", "unique": "sometimes"}, "event_ts": "b", "event_type": "c"}}, "unique"),
        ({"dimensions": {"orders": {}}, "events": {"event_id": "a", "event_ts": "b", "event_type": "c"}}, "not a dimension"),
    ],
)
def test_bad_mappings_are_refused_with_a_clear_error(doc, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(doc)


def test_unknown_mapping_name():
    with pytest.raises(MappingError, match="cdnow"):
        load_mapping("no_such_mapping")


def test_a_file_without_a_column_the_mapping_needs_is_malformed(tmp_path, home):
    data = tmp_path / "x.csv"
    data.write_text("event_time,event_type,product_id\n2019-10-01 00:00:00 UTC,view,1\n", encoding="utf-8")
    with pytest.raises(MalformedFileError, match="missing required column.*user_id"):
        import_file(data, "rees46", home, now=NOW)
    doc = {"events": {"event_id": "id", "event_ts": "ts", "event_type": {"const": "purchase"}, "price": {"sql": "amount * 2"}}}
    data.write_text("id,ts\n1,2024-01-01\n", encoding="utf-8")
    with pytest.raises(MalformedFileError, match="events.price"):
        import_file(data, parse_mapping(doc), home, now=NOW)
