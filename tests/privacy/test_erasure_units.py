"""The pieces of `segments forget` on small frames, files and tables (no pipeline)."""

import json
from datetime import date, datetime, timezone

import duckdb
import polars as pl
import pytest

from privacy.files import erase_from_file
from privacy.redelivery import REDACTED_ROW, split_erased
from privacy.subject import Subject, email_sha256
from privacy.suppression import erased_ids, list_path, suppress
from privacy.warehouse import WarehouseLocked, count_rows, erase_tables, linked_identities, writer
from shop.reasons import ERASED_CUSTOMER
from shop.validate import Batch

NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)
ALICE = Subject("c1").with_links(["a9"], ["Alice@Example.com "])


def test_the_subject_matches_its_ids_anonymous_keys_and_email_only_in_identity_columns():
    assert ALICE.matches("customer_id", " c1 ")
    assert ALICE.matches("visitor_key", "anon:a9") and ALICE.matches("anonymous_id", "a9")
    assert ALICE.matches("email", "alice@example.com") and ALICE.matches("email_sha256", email_sha256("alice@example.com"))
    assert not ALICE.matches("order_id", "c1"), "a value equal to the id in an unrelated column is not theirs"
    assert not ALICE.matches("customer_id", "c10")
    assert ALICE.matches("row_json", json.dumps({"customer_id": "c1", "price": 3}))
    assert not ALICE.matches("row_json", json.dumps({"customer_id": "c10", "search_query": "c1"}))


def test_the_suppression_list_holds_only_salted_hashes_and_answers_membership(tmp_path):
    assert erased_ids(tmp_path, "customer", ["c1"]) == set()
    assert suppress(tmp_path, "customer", ["c1", "c1"]) == 1
    assert suppress(tmp_path, "customer", ["c1"]) == 0
    assert erased_ids(tmp_path, "customer", ["c1", "c2"]) == {"c1"}
    assert erased_ids(tmp_path, "anonymous", ["c1"]) == set()
    suppress(tmp_path, "customer", ["customer-42"])
    assert "customer-42" not in list_path(tmp_path).read_text()
    assert (tmp_path / "privacy" / "salt").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl"])
def test_a_file_is_rewritten_in_its_own_format_without_the_subjects_rows(tmp_path, suffix):
    frame = pl.DataFrame({"event_id": ["e1", "e2", "e3", "e4"], "customer_id": ["c1", "c2", None, "c10"],
                          "anonymous_id": [None, None, "a9", None], "price": [1.5, 2.0, 3.0, 4.0]})
    path = tmp_path / f"events.{suffix}"
    {"parquet": frame.write_parquet, "csv": frame.write_csv, "jsonl": frame.write_ndjson}[suffix](path)
    assert erase_from_file(path, ALICE) == 2
    back = {"parquet": pl.read_parquet, "csv": pl.read_csv, "jsonl": pl.read_ndjson}[suffix](path)
    assert back.get_column("event_id").to_list() == ["e2", "e4"]
    assert back.schema["price"] == pl.Float64
    assert erase_from_file(path, ALICE) == 0
    assert not list(tmp_path.glob(".*")), "no temp file left behind"


def test_rows_of_erased_customers_are_split_off_a_load_with_a_redacted_quarantine_row(tmp_path):
    suppress(tmp_path, "customer", ["c1"])
    suppress(tmp_path, "anonymous", ["a9"])
    data = pl.DataFrame({"event_id": ["e1", "e2", "e3"], "customer_id": ["c1", "c2", None], "anonymous_id": [None, None, "a9"]})
    kept, quarantined = split_erased(tmp_path, [Batch("landing/events/x.parquet", data)], date(2026, 1, 10), NOW)
    assert kept[0].data.get_column("event_id").to_list() == ["e2"]
    assert kept[0].row_numbers.to_list() == [1]
    assert quarantined.get_column("row_number").to_list() == [0, 2]
    assert set(quarantined.get_column("reason")) == {ERASED_CUSTOMER}
    assert set(quarantined.get_column("row_json")) == {REDACTED_ROW}


def test_without_a_suppression_list_a_load_is_untouched(tmp_path):
    batch = Batch("f", pl.DataFrame({"customer_id": ["c1"]}))
    kept, quarantined = split_erased(tmp_path, [batch], None, NOW, "customers")
    assert kept == [batch] and quarantined.height == 0 and quarantined.columns[0] == "table_name"


def _warehouse(path):
    con = duckdb.connect(str(path))
    con.execute("create schema intermediate; create schema marts; create schema quarantine")
    con.execute("create table intermediate.int_identity_map as select * from (values ('a9', 'c1'), ('a5', 'c2')) t(anonymous_id, customer_id)")
    con.execute("""create table marts.customer_features as select * from (values
        ('c1', 'h1', 1.0), ('c2', 'h2', 2.0), ('anon:a9', null, 3.0)) t(customer_id, email_sha256, x)""")
    con.execute("create table marts.other as select * from (values ('c1', 'p1'), ('c2', 'p2')) t(order_id, product_id)")
    con.execute("""create table quarantine.events as select * from (values
        ('{"customer_id": "c1"}', 'bad'), ('{"customer_id": "c2"}', 'bad')) t(row_json, reason)""")
    return con


def test_every_table_loses_the_subjects_rows_found_by_column_names(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    mine, others, hashes = linked_identities(con, "c1")
    assert (mine, others, hashes) == ({"a9"}, {"a5"}, {"h1"})
    subject = Subject("c1", frozenset(mine), frozenset(hashes))
    assert erase_tables(con, subject) == {"intermediate.int_identity_map": 1, "marts.customer_features": 2,
                                          "quarantine.events": 1}
    assert count_rows(con, subject) == {}
    assert con.execute("select count(*) from marts.other").fetchone()[0] == 2, "order_id = 'c1' is not the customer"
    con.close()


def test_a_locked_warehouse_is_a_clear_error(tmp_path):
    import subprocess
    import sys
    import time
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
                               "print('open', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseLocked, match="in use by another process"):
            with writer(path):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_mlflow_input_examples_lose_the_subjects_rows(tmp_path):
    from privacy.artifacts import erase_from_artifacts

    run = tmp_path / "1" / "models" / "m-1" / "artifacts"
    run.mkdir(parents=True)
    split = {"columns": ["customer_id", "x"], "data": [["c1", 1.0], ["c2", 2.0]]}
    (run / "input_example.json").write_text(json.dumps(split))
    (run / "serving_input_example.json").write_text(json.dumps({"dataframe_split": split}))
    (run / "estimator.pkl").write_bytes(b"\x80\x04 no ids in here")
    removed, problems = erase_from_artifacts(tmp_path, ALICE)
    assert removed == {"1/models/m-1/artifacts/input_example.json": 1,
                       "1/models/m-1/artifacts/serving_input_example.json": 1}
    assert problems == []
    assert json.loads((run / "input_example.json").read_text())["data"] == [["c2", 2.0]]
    assert json.loads((run / "serving_input_example.json").read_text())["dataframe_split"]["data"] == [["c2", 2.0]]
    (run / "estimator.pkl").write_bytes(b"\x80\x04 ... c1 ...")
    _, problems = erase_from_artifacts(tmp_path, ALICE)
    assert problems and "c1" not in " ".join(problems), "a binary artifact naming them is reported, without the id"


def test_an_export_manifest_follows_its_rewritten_file(tmp_path):
    from activation.files import sha256_file
    from privacy.exports import erase_from_exports

    folder = tmp_path / "seg" / "2026-01-10"
    folder.mkdir(parents=True)
    audience = folder / "seg.csv"
    pl.DataFrame({"customer_id": ["c1", "c2", "c3"], "email_sha256": ["h1", "h2", "h3"],
                  "is_control": [True, False, True]}).write_csv(audience)
    manifest = folder / "seg.manifest.json"
    manifest.write_text(json.dumps({"rows": 3, "control_rows": 2, "members": 5, "sha256": "old"}))
    assert erase_from_exports(tmp_path, ALICE) == {"seg/2026-01-10/seg.csv": 1}
    after = json.loads(manifest.read_text())
    assert (after["rows"], after["control_rows"], after["members"]) == (2, 1, 4)
    assert after["sha256"] == sha256_file(audience)


def test_the_loader_quarantines_an_erased_customers_redelivered_rows_and_reconciles(tmp_path):
    from shop.home import Home
    from shop.loader import load_dimensions, load_events

    home = Home(tmp_path)
    day = date(2026, 1, 10)
    folder = home.landing_events_day(day.isoformat())
    folder.mkdir(parents=True)
    ts = datetime(2026, 1, 10, 12, tzinfo=timezone.utc)
    pl.DataFrame({"event_id": ["e1", "e2", "e3"], "event_ts": [ts] * 3, "event_type": ["page_view"] * 3,
                  "customer_id": ["c1", "c2", None], "anonymous_id": [None, None, "a9"]}).write_csv(folder / "events.csv")
    (home.landing / "customers").mkdir(parents=True)
    pl.DataFrame({"customer_id": ["c1", "c2"], "email": ["alice@example.com", "bob@example.com"]}).write_parquet(
        home.landing / "customers" / "customers.parquet")
    suppress(tmp_path, "customer", ["c1"])
    suppress(tmp_path, "anonymous", ["a9"])

    report = load_events(home, day, day, now=NOW.replace(day=11))
    assert report.reconciles and (report.read, report.accepted, report.quarantined) == (3, 1, 2)
    assert report.reasons == {ERASED_CUSTOMER: 2}
    dims = load_dimensions(home, now=NOW)
    assert dims.reconciles and dims.reasons == {ERASED_CUSTOMER: 1}
    assert pl.read_parquet(home.lake / "customers" / "part-0.parquet").get_column("customer_id").to_list() == ["c2"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        texts = [r[0] for r in con.execute("select row_json from quarantine.events union all "
                                           "select row_json from quarantine.dimensions").fetchall()]
    assert texts == [REDACTED_ROW] * 3
