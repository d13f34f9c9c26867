from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from shop.contract import EVENTS
from shop.readers import MalformedFileError, ReadOptions, TableFile, extra_columns, read_table_file

BAD = Path(__file__).parents[1] / "fixtures" / "bad_inputs"
IMPORTERS = Path(__file__).parents[1] / "fixtures" / "importers"


def test_csv_columns_are_strings_and_ids_keep_leading_zeros(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("event_id,customer_id,price\n1,0042,9.5\n", encoding="utf-8")
    df = read_table_file(p)
    assert df.schema == pl.Schema({"event_id": pl.String, "customer_id": pl.String, "price": pl.String})
    assert df.row(0) == ("1", "0042", "9.5")


def test_parquet_and_jsonl_keep_native_types(tmp_path):
    pl.DataFrame({"event_id": [1, 2], "price": [1.5, None]}).write_parquet(tmp_path / "a.parquet")
    assert read_table_file(tmp_path / "a.parquet").schema == pl.Schema({"event_id": pl.Int64, "price": pl.Float64})
    df = read_table_file(BAD / "numeric_ids.jsonl")
    assert df.schema["customer_id"] == pl.String  # 456 and "0456" in one column: polars reads text
    assert df.get_column("event_ts").to_list() == [1709290800000, 1709290800]


def test_csv_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_text("event_id,event_ts\ne1,2024-03-01\n", encoding="utf-8-sig")
    assert read_table_file(p, required=["event_id"]).columns == ["event_id", "event_ts"]


def test_whitespace_text_with_crlf_and_column_names():
    opts = ReadOptions(format="whitespace", header=False, columns=("master_id", "cohort_id", "date", "n", "v"))
    df = read_table_file(IMPORTERS / "cdnow_bad.txt", options=opts)
    assert df.height == 8
    assert df.row(0) == ("00001", "0001", "19970101", "2", "29.33")


def test_other_encodings_are_decoded_when_declared():
    df = read_table_file(BAD / "latin1.csv", options=ReadOptions(encoding="latin-1"))
    assert df.get_column("customer_id").to_list() == ["café"]


@pytest.mark.parametrize(
    ("name", "problem", "kwargs"),
    [
        ("empty.csv", "empty file", {}),
        ("truncated.parquet", "unreadable Parquet", {}),
        ("latin1.csv", "not valid UTF-8", {}),
        ("bad_json.jsonl", "unreadable JSON lines", {}),
        ("no_columns.jsonl", "no columns", {}),
        ("missing_required_column.csv", "missing required column(s): event_type", {"required": EVENTS.required}),
    ],
)
def test_unreadable_files_raise_malformed_file_error_naming_file_and_problem(name, problem, kwargs):
    with pytest.raises(MalformedFileError) as err:
        read_table_file(BAD / name, **kwargs)
    assert err.value.path.endswith(name)
    assert problem in err.value.problem
    assert name in str(err.value)


def test_missing_required_columns_are_all_named(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("customer_id\nc1\n", encoding="utf-8")
    with pytest.raises(MalformedFileError, match="event_id, event_ts, event_type"):
        read_table_file(p, required=EVENTS.required)


def test_unknown_suffix_is_refused(tmp_path):
    p = tmp_path / "events.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(MalformedFileError, match="unsupported file type .xlsx"):
        read_table_file(p)


def test_unknown_format_option_is_refused():
    with pytest.raises(MalformedFileError, match="unknown format 'xml'"):
        read_table_file(BAD / "extra_columns.csv", options=ReadOptions(format="xml"))


def test_ragged_csv_is_malformed(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("a,b\n1,2,3\n", encoding="utf-8")
    with pytest.raises(MalformedFileError, match="unreadable CSV"):
        read_table_file(p)


def test_ragged_whitespace_text_names_the_row():
    opts = ReadOptions(format="whitespace", header=False, columns=("a", "b", "c", "d", "e"))
    with pytest.raises(MalformedFileError, match="first at data row 1"):
        read_table_file(IMPORTERS / "cdnow_ragged.txt", options=opts)


def test_extra_columns_are_reported_not_refused():
    df = read_table_file(BAD / "extra_columns.csv", required=EVENTS.required)
    assert extra_columns(df.columns, EVENTS.names) == ["favourite_colour", "shoe_size"]


@pytest.mark.parametrize("name", ["a.parquet", "a.csv"])
def test_a_table_file_in_slices_gives_the_rows_of_the_whole_file(tmp_path, name):
    df = pl.DataFrame({"event_id": [str(i) for i in range(7)], "price": [float(i) for i in range(7)]})
    path = tmp_path / name
    df.write_parquet(path, row_group_size=2) if name.endswith(".parquet") else df.write_csv(path)
    table = TableFile(path, required=["event_id"])
    assert (table.rows, table.columns) == (7, ["event_id", "price"])
    slices = list(table.slices(3))
    assert [offset for offset, _ in slices] == [0, 3, 6]
    assert pl.concat([rows for _, rows in slices]).equals(read_table_file(path))
    assert table.column("event_id").to_list() == df.get_column("event_id").to_list()
    with pytest.raises(ValueError, match="slice size"):
        next(table.slices(0))


@pytest.mark.parametrize(("name", "problem"), [("truncated.parquet", "unreadable Parquet"),
                                               ("missing_required_column.csv", "missing required column(s)")])
def test_a_table_file_is_checked_when_opened(name, problem):
    with pytest.raises(MalformedFileError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        TableFile(BAD / name, required=EVENTS.required)
