from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from shop.contract import DIMENSIONS, QUARANTINE
from shop.home import Home
from shop.importers import import_file
from shop.loader import LAKE_FILE, load_dimensions, load_events
from shop.readers import MalformedFileError
from shop.validate import LAKE_EVENTS_SCHEMA

FIXTURES = Path(__file__).parents[1] / "fixtures"
BAD = FIXTURES / "bad_inputs"
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
DAY = date(2024, 3, 1)


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home")


def land(home: Home, *names: str, day: str = "2024-03-01") -> Path:
    folder = home.landing_events_day(day)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(BAD / name, folder / name)
    return folder


def write_events(home: Home, day: str, name: str, ids: list[str], hour: int = 10) -> None:
    folder = home.landing_events_day(day)
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "event_id": ids,
            "event_ts": [f"{day}T{hour:02d}:00:00Z"] * len(ids),
            "event_type": ["page_view"] * len(ids),
            "anonymous_id": ["a"] * len(ids),
        }
    ).write_csv(folder / name)


def lake_day(home: Home, day: str = "2024-03-01") -> Path:
    return home.lake_events_day(day) / LAKE_FILE


def quarantine_rows(home: Home, table: str = "quarantine.events") -> list[tuple]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(
            f"SELECT * EXCLUDE (loaded_at) FROM {table} ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------------------------ the bad-input corpus

ROW_LEVEL = [
    ("wrong_types.csv", 1, {"bad_price": 1, "bad_quantity": 1, "bad_dwell_seconds": 1, "bad_discount_amount": 1, "bad_search_filters": 1}),
    ("unparseable_timestamps.csv", 3, {"bad_event_ts": 3}),
    ("future_timestamps.csv", 0, {"future_event_ts": 2}),
    ("unknown_event_types.jsonl", 1, {"unknown_event_type": 1, "missing_event_type": 1}),
    ("bad_prices.csv", 1, {"negative_price": 1, "absurd_price": 1, "absurd_quantity": 1}),
    ("no_identity.csv", 1, {"missing_identity": 2}),
    ("extra_columns.csv", 1, {}),
    ("outside_partition.csv", 1, {"event_ts_outside_partition": 2}),
    ("missing_event_id.csv", 0, {"missing_event_id": 2}),
    ("numeric_ids.jsonl", 2, {}),
]


@pytest.mark.parametrize(("name", "accepted", "reasons"), ROW_LEVEL, ids=[r[0] for r in ROW_LEVEL])
def test_bad_rows_are_quarantined_with_their_reason(home, name, accepted, reasons):
    land(home, name)
    report = load_events(home, DAY, DAY, now=NOW)
    assert report.reconciles
    assert report.accepted == accepted
    assert report.reasons == dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    lake = pl.read_parquet(lake_day(home))
    assert lake.schema == LAKE_EVENTS_SCHEMA and lake.height == accepted
    stored = quarantine_rows(home)
    assert len(stored) == sum(reasons.values())
    assert {r[0] for r in stored} <= {f"landing/events/event_date=2024-03-01/{name}"}


def test_duplicate_ids_within_and_across_files(home):
    land(home, "duplicates_a.csv", "duplicates_b.csv")
    report = load_events(home, DAY, DAY, now=NOW)
    assert report.reasons == {"duplicate_event_id": 2}
    lake = pl.read_parquet(lake_day(home))
    assert lake.select("event_id", "_source_file").rows() == [
        ("d1", "landing/events/event_date=2024-03-01/duplicates_a.csv"),
        ("d2", "landing/events/event_date=2024-03-01/duplicates_a.csv"),
        ("d3", "landing/events/event_date=2024-03-01/duplicates_b.csv"),
    ]
    assert [(r[0].rsplit("/", 1)[1], r[1]) for r in quarantine_rows(home)] == [
        ("duplicates_a.csv", 1),
        ("duplicates_b.csv", 0),
    ]


def test_numeric_ids_and_epoch_timestamps_are_normalised(home):
    land(home, "numeric_ids.jsonl")
    load_events(home, DAY, DAY, now=NOW)
    lake = pl.read_parquet(lake_day(home))
    assert lake.select("event_id", "customer_id", "quantity").rows() == [("123", "456", 2), ("124", "0456", None)]
    assert lake.get_column("event_ts").to_list() == [datetime(2024, 3, 1, 11, tzinfo=timezone.utc)] * 2
    assert lake.get_column("search_filters").to_list() == [None, '{"price_max":50}']


def test_extra_columns_are_dropped_with_a_note(home):
    land(home, "extra_columns.csv")
    report = load_events(home, DAY, DAY, now=NOW)
    assert report.files[0].dropped_columns == ("favourite_colour", "shoe_size")
    assert "dropped columns: favourite_colour, shoe_size" in str(report)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("missing_required_column.csv", "missing required column(s): event_type"),
        ("empty.csv", "empty file"),
        ("truncated.parquet", "unreadable Parquet"),
        ("latin1.csv", "not valid UTF-8"),
        ("bad_json.jsonl", "unreadable JSON lines"),
        ("no_columns.jsonl", "no columns"),
        ("unsupported.txt", "unsupported file type"),
    ],
)
def test_malformed_file_raises_naming_the_file_and_leaves_the_day_untouched(home, name, problem):
    write_events(home, "2024-03-01", "a_good.csv", ["g1", "g1"])
    load_events(home, DAY, DAY, now=NOW)
    before_lake = lake_day(home).read_bytes()
    before_q = quarantine_rows(home)
    assert len(before_q) == 1

    write_events(home, "2024-03-01", "b_more.csv", ["g2"])  # would change the day if anything were written
    land(home, name)
    with pytest.raises(MalformedFileError) as err:
        load_events(home, DAY, DAY, now=NOW)
    assert err.value.path.endswith(name)
    assert problem in str(err.value)
    assert lake_day(home).read_bytes() == before_lake
    assert quarantine_rows(home) == before_q
    assert not list(lake_day(home).parent.glob(".*tmp*"))


def test_a_day_with_no_files_gets_an_empty_lake_file_with_full_schema(home):
    report = load_events(home, DAY, date(2024, 3, 2), now=NOW)
    assert report.partitions == ["2024-03-01", "2024-03-02"]
    assert report.read == 0 and report.reconciles
    for day in ("2024-03-01", "2024-03-02"):
        df = pl.read_parquet(lake_day(home, day))
        assert df.height == 0 and df.schema == LAKE_EVENTS_SCHEMA


def test_quarantine_table_has_the_contract_columns(home):
    land(home, "bad_prices.csv")
    load_events(home, DAY, DAY, now=NOW)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    cols = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'quarantine' AND table_name = 'events' ORDER BY ordinal_position"
    ).fetchall()
    loaded_at = con.execute("SELECT DISTINCT loaded_at FROM quarantine.events").fetchall()
    con.close()
    assert [c[0] for c in cols] == QUARANTINE.names
    assert dict(cols)["loaded_at"] == "TIMESTAMP WITH TIME ZONE"
    assert loaded_at == [(NOW,)]


# -------------------------------------------------------------------------------------------- idempotency


def test_loading_a_day_twice_gives_identical_lake_bytes_and_quarantine(home):
    land(home, "wrong_types.csv", "duplicates_a.csv", "duplicates_b.csv", "numeric_ids.jsonl")
    first = load_events(home, DAY, DAY, now=NOW)
    lake1, q1 = lake_day(home).read_bytes(), quarantine_rows(home)
    second = load_events(home, DAY, DAY, now=datetime(2024, 6, 2, tzinfo=timezone.utc))
    assert lake_day(home).read_bytes() == lake1
    assert quarantine_rows(home) == q1
    assert (first.read, first.accepted, first.quarantined) == (second.read, second.accepted, second.quarantined)
    assert len(q1) == first.quarantined == 7


def test_removing_a_file_and_reloading_drops_its_quarantine_rows(home):
    folder = land(home, "bad_prices.csv", "no_identity.csv")
    load_events(home, DAY, DAY, now=NOW)
    assert len(quarantine_rows(home)) == 5
    (folder / "bad_prices.csv").unlink()
    load_events(home, DAY, DAY, now=NOW)
    assert len(quarantine_rows(home)) == 2


def test_other_days_are_not_touched_by_a_reload(home):
    land(home, "bad_prices.csv")
    write_events(home, "2024-03-02", "x.csv", ["y1", None])
    load_events(home, DAY, date(2024, 3, 2), now=NOW)
    assert len(quarantine_rows(home)) == 4
    load_events(home, DAY, DAY, now=NOW)
    assert len(quarantine_rows(home)) == 4


# ---------------------------------------------------------------------------------- duplicates across days


def test_duplicates_of_ids_accepted_on_prior_days_within_the_lookback(home):
    write_events(home, "2024-03-01", "a.csv", ["x", "y"])
    write_events(home, "2024-03-05", "a.csv", ["x", "z"])
    write_events(home, "2024-03-09", "a.csv", ["y"])
    report = load_events(home, DAY, date(2024, 3, 9), now=NOW, lookback_days=7)
    assert report.reasons == {"duplicate_event_id": 1}
    assert pl.read_parquet(lake_day(home, "2024-03-05")).get_column("event_id").to_list() == ["z"]
    assert pl.read_parquet(lake_day(home, "2024-03-09")).get_column("event_id").to_list() == ["y"]  # 8 days later

    report = load_events(home, date(2024, 3, 5), date(2024, 3, 5), now=NOW, lookback_days=0)
    assert report.reasons == {}
    assert quarantine_rows(home) == []


# ------------------------------------------------------------------------------------ importer quarantine


def test_importer_quarantine_is_loaded_once_and_everything_reconciles(home):
    reports = [
        import_file(FIXTURES / "importers" / name, "rees46", home, now=NOW)
        for name in ("rees46_slice.csv", "rees46_bad.csv")
    ]
    assert not home.warehouse.exists()
    day = date(2019, 10, 1)
    for _ in range(2):
        loaded = load_events(home, day, day, now=NOW)
        assert loaded.reconciles
        assert len(quarantine_rows(home)) == sum(r.quarantined for r in reports) == 6
        assert pl.read_parquet(lake_day(home, "2019-10-01")).height == sum(r.accepted for r in reports) == 265
    assert loaded.read == sum(r.read for r in reports) == 271
    assert loaded.reasons["duplicate_event_id"] == 1


def test_importer_quarantine_rows_follow_the_quarantine_folder(home):
    report = import_file(FIXTURES / "importers" / "rees46_bad.csv", "rees46", home, now=NOW)
    land(home, "bad_prices.csv")
    load_events(home, DAY, DAY, now=NOW)
    assert len(quarantine_rows(home)) == report.quarantined + 3
    (home.root / report.quarantine_file).unlink()
    load_events(home, date(2019, 10, 1), date(2019, 10, 1), now=NOW)
    remaining = quarantine_rows(home)
    assert len(remaining) == 3 and all(r[0].endswith("bad_prices.csv") for r in remaining)


# ------------------------------------------------------------------------------------------- dimensions


def test_dimensions_are_always_written_even_without_landing_files(home):
    report = load_dimensions(home, now=NOW)
    assert report.partitions == [t.name for t in DIMENSIONS]
    for table in DIMENSIONS:
        df = pl.read_parquet(home.lake / table.name / LAKE_FILE)
        assert df.height == 0 and df.columns == [*table.names, "_source_file"]


def test_dimensions_last_file_wins_bad_rows_quarantined_and_reload_is_idempotent(home):
    folder = home.landing / "customers"
    folder.mkdir(parents=True)
    pl.DataFrame({"customer_id": ["1", "2", None], "country": ["GB", "FR", "DE"]}).write_csv(folder / "a.csv")
    pl.DataFrame({"customer_id": [2, 3], "country": ["ES", "IT"], "birth_year": [1980, 1700]}).write_parquet(
        folder / "b.parquet"
    )
    report = load_dimensions(home, now=NOW)
    assert report.reconciles and report.read == 5
    customers_only = report.for_table("customers")
    assert (customers_only.read, customers_only.accepted, customers_only.quarantined) == (5, 2, 3)
    assert report.for_table("products").read == 0
    customers = pl.read_parquet(home.lake / "customers" / LAKE_FILE)
    assert customers.select("customer_id", "country").rows() == [("1", "GB"), ("2", "ES")]
    q = quarantine_rows(home, "quarantine.dimensions")
    assert [(r[0], r[1].rsplit("/", 1)[1], r[2], r[4]) for r in q] == [
        ("customers", "a.csv", 1, "duplicate_key"),
        ("customers", "a.csv", 2, "missing_customer_id"),
        ("customers", "b.parquet", 1, "bad_birth_year"),
    ]
    lake_bytes = (home.lake / "customers" / LAKE_FILE).read_bytes()
    load_dimensions(home, now=NOW)
    assert quarantine_rows(home, "quarantine.dimensions") == q
    assert (home.lake / "customers" / LAKE_FILE).read_bytes() == lake_bytes


def test_malformed_dimension_file_writes_nothing(home):
    folder = home.landing / "products"
    folder.mkdir(parents=True)
    (folder / "p.csv").write_text("brand\nacme\n", encoding="utf-8")
    with pytest.raises(MalformedFileError, match="missing required column.*product_id"):
        load_dimensions(home, now=NOW)
    assert not home.lake.exists() or not any(home.lake.rglob("*.parquet"))
