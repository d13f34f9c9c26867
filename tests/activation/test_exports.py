import hashlib
import json

import duckdb
import polars as pl
import pytest

from activation.control import control_flags
from activation.exports import export_audience
from tests.activation.warehouse import DAY1, DAY2, create_warehouse, make_home


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home")
    create_warehouse(h.warehouse)
    return h


def read_back(path, fmt) -> pl.DataFrame:
    if fmt == "parquet":
        return pl.read_parquet(path)
    if fmt == "jsonl":
        return pl.read_ndjson(path)
    return pl.read_csv(path, schema_overrides={"customer_id": pl.String, "recommended_products": pl.String})


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_every_format_writes_and_round_trips(home, fmt):
    m = export_audience(home, "vip", None, fmt, None)
    assert m.path == home.exports / "vip" / "2024-03-02" / f"vip.{fmt}"
    assert m.manifest_path == m.path.with_name("vip.manifest.json")
    back = read_back(m.path, fmt)
    assert back.columns == m.columns and back.height == m.rows == 3
    assert back.get_column("customer_id").to_list() == ["007", "c1", "c5"]   # "007" keeps its zeros
    assert back.get_column("email_sha256").to_list() == ["h7", "h1", "h5"]
    products = back.get_column("recommended_products").to_list()
    if fmt == "csv":
        products = [p.split("|") for p in products]
    assert products[1] == ["1", "2", "3"]                  # ranked, top-N
    assert back.get_column("p_purchase_30d").to_list() == pytest.approx([0.25, 0.2, 0.24])
    assert back.get_column("reason_p_purchase_30d").to_list()[0] == "recency;007"
    assert back.get_column("is_control").to_list() == control_flags(["007", "c1", "c5"], "vip", 0.1).to_list()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_manifest_checksum_matches_file(home, fmt):
    m = export_audience(home, "vip", DAY2, fmt, None)
    written = json.loads(m.manifest_path.read_text())
    assert written["sha256"] == hashlib.sha256(m.path.read_bytes()).hexdigest() == m.sha256
    assert written["rows"] == 3 and written["members"] == 7
    assert written["excluded_no_consent"] == 3      # c2 refused, c3 unknown, c6 not a known customer
    assert written["excluded_no_email"] == 1        # c4 consented but has no address
    assert written["control_rows"] == m.control_rows
    assert written["channel"] == "email" and written["format"] == fmt and written["as_of"] == "2024-03-02"
    assert written["consent_filter"] == "email_opt_in is true"
    assert written["scores_as_of"] == "2024-03-01"  # latest scored day on or before as_of
    assert written["columns"] == m.columns and written["created_at"]


def test_consent_per_channel_and_no_identifier_outside_email(home, tmp_path):
    push = export_audience(home, "vip", None, "parquet", tmp_path / "push.parquet", channel="push")
    frame = pl.read_parquet(push.path)
    assert set(frame["customer_id"]) == {"c1", "c2"}
    assert "email_sha256" not in frame.columns and "email" not in frame.columns
    assert (tmp_path / "push.manifest.json").exists()
    anyc = export_audience(home, "vip", None, "parquet", tmp_path / "any.parquet", channel="any")
    frame = pl.read_parquet(anyc.path)
    assert set(frame["customer_id"]) == {"c1", "c2", "c4", "c5", "007"}
    assert "email_sha256" not in frame.columns
    assert frame.filter(pl.col("customer_id") == "c2")["email_opt_in"].to_list() == [False]
    assert anyc.excluded_no_consent == 2


def test_control_flag_stable_across_days_and_share_respected(home, tmp_path):
    day1 = export_audience(home, "vip", DAY1, "parquet", tmp_path / "d1.parquet", channel="any", control_share=0.5)
    day2 = export_audience(home, "vip", DAY2, "parquet", tmp_path / "d2.parquet", channel="any", control_share=0.5)
    f1 = dict(pl.read_parquet(day1.path).select("customer_id", "is_control").iter_rows())
    f2 = dict(pl.read_parquet(day2.path).select("customer_id", "is_control").iter_rows())
    assert f1 and all(f2[c] == flag for c, flag in f1.items())
    everyone = export_audience(home, "vip", DAY2, "csv", tmp_path / "all.csv", control_share=1.0)
    assert everyone.control_rows == everyone.rows == 3


def test_unknown_segment_lists_known_segments(home):
    with pytest.raises(ValueError, match=r"unknown segment 'vipp'; known segments: at_risk, vip"):
        export_audience(home, "vipp", None, "csv", None)


def test_day_without_membership_is_refused(home):
    with pytest.raises(ValueError, match="2024-03-01 .. 2024-03-02"):
        export_audience(home, "vip", "2024-01-01", "csv", None)


def test_segment_empty_that_day_writes_empty_file(home):
    m = export_audience(home, "at_risk", DAY2, "csv", None)    # members c2 (refused), c3 (unknown)
    assert m.rows == 0 and m.excluded_no_consent == 2
    assert read_back(m.path, "csv").columns == m.columns


def test_bad_arguments(home):
    with pytest.raises(ValueError, match="fmt"):
        export_audience(home, "vip", None, "xlsx", None)
    with pytest.raises(ValueError, match="channel"):
        export_audience(home, "vip", None, "csv", None, channel="sms")


def test_missing_optional_tables_are_recorded(tmp_path):
    home = make_home(tmp_path / "home")
    create_warehouse(home.warehouse, scores=False, recommendations=False)
    con = duckdb.connect(str(home.warehouse))
    con.execute("drop table staging.stg_customers")   # consent then comes from the day's customer_features
    con.close()
    m = export_audience(home, "vip", None, "jsonl", None)
    assert {"marts.customer_scores", "marts.customer_recommendations", "staging.stg_customers"} <= set(m.missing)
    assert m.columns == ["segment", "as_of_date", "customer_id", "email_sha256", "is_control"]
    assert m.consent_source["email_opt_in"] == "marts.customer_features"
    assert m.rows == 3 and m.scores_as_of is None


def test_no_consent_column_anywhere_exports_nobody(tmp_path):
    home = make_home(tmp_path / "home")
    create_warehouse(home.warehouse)
    con = duckdb.connect(str(home.warehouse))
    con.execute("alter table staging.stg_customers drop column push_opt_in")
    con.execute("alter table marts.customer_features drop column push_opt_in")
    con.close()
    m = export_audience(home, "vip", None, "csv", None, channel="push")
    assert m.rows == 0 and m.excluded_no_consent == 7 and "column push_opt_in" in m.missing
