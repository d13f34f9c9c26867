import json
from datetime import date

import pytest

from shop.late_data import (
    DEFAULT_LATE_DAYS,
    corrections_path,
    fingerprint,
    landing_changed,
    late_days_setting,
    late_file_name,
    late_file_origin,
    read_corrected_days,
    record_corrected_days,
    write_manifest,
)


def test_late_days_setting_defaults_reads_and_refuses_nonsense():
    assert late_days_setting({}) == DEFAULT_LATE_DAYS == 3
    assert late_days_setting({"SEGMENTS_LATE_DAYS": " 0 "}) == 0
    assert late_days_setting({"SEGMENTS_LATE_DAYS": "7"}) == 7
    for bad in ("-1", "two", "1.5"):
        with pytest.raises(ValueError, match="SEGMENTS_LATE_DAYS"):
            late_days_setting({"SEGMENTS_LATE_DAYS": bad})


def test_late_file_names_carry_their_landing_day(tmp_path):
    name = late_file_name(date(2024, 3, 10))
    assert name == "late-from-2024-03-10.parquet"
    assert late_file_origin(tmp_path / name) == date(2024, 3, 10)
    assert late_file_origin(tmp_path / "part-0.parquet") is None


def test_a_day_changes_when_a_file_is_added_or_rewritten_but_not_when_never_loaded(tmp_path):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    landing.mkdir()
    (landing / "a.csv").write_text("x\n1\n")
    files = fingerprint([landing / "a.csv"])
    assert files[0]["bytes"] == 4 and len(files[0]["sha256"]) == 64
    assert not landing_changed(lake, "part-0.parquet", files)  # never loaded
    lake.mkdir()
    (lake / "late-from-2024-03-11.parquet").write_bytes(b"")
    assert not landing_changed(lake, "part-0.parquet", files)  # only other days' late rows
    (lake / "part-0.parquet").write_bytes(b"")
    assert landing_changed(lake, "part-0.parquet", files)  # loaded, but no manifest
    write_manifest(lake, date(2024, 3, 8), files, {})
    assert not landing_changed(lake, "part-0.parquet", files)
    (landing / "a.csv").write_text("x\n2\n")  # same size, other content
    assert landing_changed(lake, "part-0.parquet", fingerprint([landing / "a.csv"]))
    (landing / "b.csv").write_text("x\n")
    assert landing_changed(lake, "part-0.parquet", fingerprint([landing / "a.csv", landing / "b.csv"]))


def test_corrected_days_accumulate_per_window(tmp_path):
    first, last = date(2024, 3, 11), date(2024, 3, 11)
    assert read_corrected_days(tmp_path, first, last) == []
    assert record_corrected_days(tmp_path, first, last, [date(2024, 3, 9)], 3) == [date(2024, 3, 9)]
    assert record_corrected_days(tmp_path, first, last, [date(2024, 3, 8)], 3) == [date(2024, 3, 8), date(2024, 3, 9)]
    assert record_corrected_days(tmp_path, first, last, [], 3) == [date(2024, 3, 8), date(2024, 3, 9)]
    assert read_corrected_days(tmp_path, date(2024, 3, 12), date(2024, 3, 12)) == []
    record_corrected_days(tmp_path, first, last, [date(2024, 3, 10)], 1)  # the allowance was lowered since
    record = json.loads(corrections_path(tmp_path, first, last).read_text())
    assert record["late_days"] == 3 and record["corrected_days"] == ["2024-03-08", "2024-03-09", "2024-03-10"]


def test_validation_accepts_events_up_to_late_days_before_the_folder_and_never_after():
    from datetime import datetime, timezone

    import polars as pl

    from shop import reasons as R
    from shop.validate import Batch, validate_event_batches

    df = pl.DataFrame({
        "event_id": ["own", "late2", "late3", "late4", "next"],
        "event_ts": ["2024-03-10T00:00:00Z", "2024-03-08T12:00:00Z", "2024-03-07T00:00:00Z",
                     "2024-03-06T23:59:59Z", "2024-03-11T00:00:00Z"],
        "event_type": ["page_view"] * 5,
        "customer_id": ["c"] * 5,
    })
    now = datetime(2024, 6, 1, tzinfo=timezone.utc)
    acc, q = validate_event_batches([Batch("f.csv", df)], date(2024, 3, 10), now, late_days=3)
    assert acc.get_column("event_id").to_list() == ["own", "late2", "late3"]
    assert q.select("row_number", "reason").rows() == [(3, R.TOO_LATE), (4, R.EVENT_TS_OUTSIDE_PARTITION)]
    _, strict = validate_event_batches([Batch("f.csv", df)], date(2024, 3, 10), now)
    assert strict.get_column("reason").to_list() == [R.TOO_LATE] * 3 + [R.EVENT_TS_OUTSIDE_PARTITION]
    with pytest.raises(ValueError, match="late_days"):
        validate_event_batches([Batch("f.csv", df)], date(2024, 3, 10), now, late_days=-1)
