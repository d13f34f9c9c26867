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


# -------------------------------------------------------------------------------------------- late data


def write_dated(home: Home, folder_day: str, name: str, rows: list[tuple[str, str]]) -> None:
    """A landing file in `folder_day`'s folder with (event_id, event_ts) rows."""
    folder = home.landing_events_day(folder_day)
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "event_ts": [r[1] for r in rows],
            "event_type": ["page_view"] * len(rows),
            "customer_id": ["c1"] * len(rows),
        }
    ).write_csv(folder / name)


def lake_ids(home: Home, day: str) -> dict[str, list[str]]:
    """event_ids per lake file of one day."""
    folder = home.lake_events_day(day)
    return {p.name: pl.read_parquet(p).get_column("event_id").to_list() for p in sorted(folder.glob("*.parquet"))}


def whole_lake(home: Home) -> pl.DataFrame:
    frames = [
        pl.read_parquet(p).with_columns(pl.lit(p.parent.name).alias("folder"), pl.lit(p.name).alias("file"))
        for p in sorted((home.lake / "events").glob("*/*.parquet"))
    ]
    return pl.concat(frames).sort("folder", "file", "event_id")


LATE_ROWS = [
    ("own", "2024-03-10T10:00:00Z"),
    ("one_day_late", "2024-03-09T23:59:00Z"),
    ("three_days_late", "2024-03-07T00:00:00Z"),
    ("four_days_late", "2024-03-06T12:00:00Z"),
    ("next_day", "2024-03-11T00:30:00Z"),
]


def test_late_events_in_a_days_file_go_to_the_partition_of_their_own_date(home):
    write_dated(home, "2024-03-10", "today.csv", LATE_ROWS)
    d10 = date(2024, 3, 10)
    report = load_events(home, d10, d10, now=NOW, late_days=3)
    assert report.reconciles and (report.read, report.accepted, report.quarantined) == (5, 3, 2)
    assert report.reasons == {"event_ts_outside_partition": 1, "too_late": 1}
    assert report.late_rows == 2
    assert report.corrected_days == ["2024-03-07", "2024-03-09"]
    assert lake_ids(home, "2024-03-10") == {"part-0.parquet": ["own"]}
    assert lake_ids(home, "2024-03-09") == {"late-from-2024-03-10.parquet": ["one_day_late"]}
    assert lake_ids(home, "2024-03-07") == {"late-from-2024-03-10.parquet": ["three_days_late"]}

    lake, q = whole_lake(home), quarantine_rows(home)
    again = load_events(home, d10, d10, now=NOW, late_days=3)
    assert whole_lake(home).equals(lake) and quarantine_rows(home) == q
    assert (again.accepted, again.quarantined, again.late_rows) == (3, 2, 2)

    write_dated(home, "2024-03-10", "today.csv", LATE_ROWS[:2])  # the shop re-exports the file without them
    load_events(home, d10, d10, now=NOW, late_days=3)
    assert not home.lake_events_day("2024-03-07").joinpath("late-from-2024-03-10.parquet").exists()
    assert lake_ids(home, "2024-03-09") == {"late-from-2024-03-10.parquet": ["one_day_late"]}
    assert len(quarantine_rows(home)) == 0


def test_strict_mode_quarantines_every_event_dated_before_its_folder(home):
    write_dated(home, "2024-03-10", "today.csv", LATE_ROWS)
    d10 = date(2024, 3, 10)
    report = load_events(home, d10, d10, now=NOW, late_days=0)
    assert report.reconciles and report.accepted == 1 and report.late_rows == 0
    assert report.reasons == {"too_late": 3, "event_ts_outside_partition": 1}
    assert report.corrected_days == []


def test_late_days_come_from_the_environment(home, monkeypatch):
    write_dated(home, "2024-03-10", "today.csv", LATE_ROWS)
    monkeypatch.setenv("SEGMENTS_LATE_DAYS", "1")
    report = load_events(home, date(2024, 3, 10), date(2024, 3, 10), now=NOW)
    assert report.accepted == 2 and report.reasons == {"too_late": 2, "event_ts_outside_partition": 1}


def test_late_events_are_deduplicated_against_earlier_days_and_later_days_against_them(home):
    write_dated(home, "2024-03-08", "a.csv", [("x", "2024-03-08T10:00:00Z")])
    write_dated(home, "2024-03-10", "a.csv", [("x", "2024-03-08T11:00:00Z"), ("y", "2024-03-09T10:00:00Z")])
    write_dated(home, "2024-03-11", "a.csv", [("y", "2024-03-11T10:00:00Z"), ("z", "2024-03-11T10:00:00Z")])
    report = load_events(home, date(2024, 3, 8), date(2024, 3, 11), now=NOW, late_days=3)
    assert report.reconciles and report.reasons == {"duplicate_event_id": 2}
    assert lake_ids(home, "2024-03-08") == {"part-0.parquet": ["x"]}
    assert lake_ids(home, "2024-03-09") == {"late-from-2024-03-10.parquet": ["y"], "part-0.parquet": []}
    assert lake_ids(home, "2024-03-11") == {"part-0.parquet": ["z"]}


def test_a_file_landing_in_a_loaded_days_folder_is_picked_up_by_the_next_load(home):
    for day in range(1, 11):
        iso = f"2024-03-{day:02d}"
        write_dated(home, iso, "a.csv", [(f"e{day}", f"{iso}T10:00:00Z")])
    load_events(home, date(2024, 3, 1), date(2024, 3, 10), now=NOW, late_days=3)
    write_dated(home, "2024-03-08", "b_late.csv", [("late8", "2024-03-08T18:00:00Z"), ("e9", "2024-03-08T19:00:00Z")])
    write_dated(home, "2024-03-11", "a.csv", [("e11", "2024-03-11T10:00:00Z")])

    report = load_events(home, date(2024, 3, 11), date(2024, 3, 11), now=NOW, late_days=3)
    assert report.reconciles
    assert report.reloaded_days == ["2024-03-08"]
    assert report.partitions == ["2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11"]
    assert report.corrected_days == ["2024-03-08", "2024-03-09", "2024-03-10"]
    assert lake_ids(home, "2024-03-08")["part-0.parquet"] == ["e8", "late8", "e9"]
    # e9 landed on day 8 now, so day 9's copy is the duplicate, as in a load of all files in date order
    assert lake_ids(home, "2024-03-09")["part-0.parquet"] == []
    assert report.reasons == {"duplicate_event_id": 1}

    clean = Home(home.root.parent / "clean")
    shutil.copytree(home.landing, clean.landing)
    load_events(clean, date(2024, 3, 1), date(2024, 3, 11), now=NOW, late_days=3)
    assert whole_lake(home).equals(whole_lake(clean))
    assert quarantine_rows(home) == quarantine_rows(clean)

    again = load_events(home, date(2024, 3, 11), date(2024, 3, 11), now=NOW, late_days=3)
    assert again.reloaded_days == [] and again.partitions == ["2024-03-11"]
    assert again.corrected_days == ["2024-03-08", "2024-03-09", "2024-03-10"]  # a re-run rebuilds them again

    write_dated(home, "2024-03-05", "c_too_old.csv", [("old", "2024-03-05T10:00:00Z")])
    write_dated(home, "2024-03-12", "a.csv", [("e12", "2024-03-12T10:00:00Z")])
    beyond = load_events(home, date(2024, 3, 12), date(2024, 3, 12), now=NOW, late_days=3)
    assert beyond.reloaded_days == [] and beyond.corrected_days == []
    assert "c_too_old.csv" not in str(beyond)


def test_a_day_never_loaded_is_not_reloaded_by_a_later_window(home):
    write_dated(home, "2024-03-09", "a.csv", [("e9", "2024-03-09T10:00:00Z")])
    write_dated(home, "2024-03-10", "a.csv", [("e10", "2024-03-10T10:00:00Z")])
    report = load_events(home, date(2024, 3, 10), date(2024, 3, 10), now=NOW, late_days=3)
    assert report.reloaded_days == [] and report.partitions == ["2024-03-10"]
    assert not home.lake_events_day("2024-03-09").exists()


def test_a_malformed_file_in_a_lookback_day_fails_the_load_naming_it(home):
    write_dated(home, "2024-03-09", "a.csv", [("e9", "2024-03-09T10:00:00Z")])
    load_events(home, date(2024, 3, 9), date(2024, 3, 9), now=NOW, late_days=3)
    land(home, "truncated.parquet", day="2024-03-09")
    with pytest.raises(MalformedFileError) as err:
        load_events(home, date(2024, 3, 10), date(2024, 3, 10), now=NOW, late_days=3)
    assert err.value.path.endswith("event_date=2024-03-09/truncated.parquet")


def test_late_events_fixture_goes_to_earlier_days_within_the_allowance(home):
    land(home, "late_events.csv")
    report = load_events(home, DAY, DAY, now=NOW, late_days=3)
    assert report.reconciles and report.accepted == 3 and report.reasons == {"too_late": 1}
    assert lake_ids(home, "2024-02-29") == {"late-from-2024-03-01.parquet": ["late1"]}
    assert lake_ids(home, "2024-02-27") == {"late-from-2024-03-01.parquet": ["late3"]}
    assert lake_ids(home, "2024-03-01") == {"part-0.parquet": ["own1"]}
    strict = load_events(home, DAY, DAY, now=NOW, late_days=0)
    assert strict.accepted == 1 and strict.reasons == {"too_late": 3}
    assert not list((home.lake / "events").glob("*/late-from-*.parquet"))


def test_an_empty_landing_folder_is_an_empty_day(home):
    home.landing_events_day("2024-03-01").mkdir(parents=True)
    report = load_events(home, DAY, DAY, now=NOW)
    assert report.read == 0 and report.reconciles and report.files == []
    assert pl.read_parquet(lake_day(home)).schema == LAKE_EVENTS_SCHEMA


# ------------------------------------------------------------------------------------- a day in slices


def land_mixed_day(home: Home) -> None:
    """A prior day, then a day of CSV, JSON lines and Parquet files with duplicates within a file, across
    files, against the prior day and after an invalid first copy, bad rows and late events."""
    write_events(home, "2024-02-29", "prior.csv", ["p1", "p2"])
    land(home, "wrong_types.csv", "duplicates_a.csv", "duplicates_b.csv", "numeric_ids.jsonl", "late_events.csv")
    folder = home.landing_events_day("2024-03-01")
    ids = ["p1", "q1", "q2", "q1", "q3", "q2", "d1", "q4", "q3"]
    stamps = ["2024-03-01T09:00:00Z"] * len(ids)
    stamps[2] = "not a time"  # the first q2 is invalid, so the second is the one accepted
    stamps[4] = "2024-02-29T23:00:00Z"  # late, and its id repeats below
    pl.DataFrame({"event_id": ids, "event_ts": stamps, "event_type": ["page_view"] * len(ids),
                  "anonymous_id": ["a"] * len(ids)}).write_parquet(folder / "z_parquet.parquet", row_group_size=2)


def lake_frames(home: Home) -> dict[str, pl.DataFrame]:
    return {p.relative_to(home.lake).as_posix(): pl.read_parquet(p) for p in sorted(home.lake.glob("events/*/*.parquet"))}


@pytest.mark.parametrize("slice_rows", [1, 2, 3])
def test_a_day_validated_in_slices_equals_the_day_validated_at_once(tmp_path, slice_rows):
    results = []
    for rows in (slice_rows, 1_000_000):
        home = Home(tmp_path / f"home-{rows}")
        land_mixed_day(home)
        load_events(home, date(2024, 2, 29), date(2024, 2, 29), now=NOW, late_days=3)
        report = load_events(home, DAY, DAY, now=NOW, late_days=3, slice_rows=rows)
        assert report.reconciles
        results.append((lake_frames(home), quarantine_rows(home), report.reasons, report.late_rows))
    (sliced, q_sliced, reasons, late), (whole, q_whole, _, _) = results
    assert sliced.keys() == whole.keys()
    for name, frame in whole.items():
        assert sliced[name].equals(frame), name
    assert q_sliced == q_whole
    assert reasons["duplicate_event_id"] == 6 and late == 3
    day = sliced["events/event_date=2024-03-01/part-0.parquet"].get_column("event_id").to_list()
    assert [i for i in day if i.startswith("q")] == ["q1", "q2", "q4"]
