"""`segments forget` end to end: a customer with events, a pre-identify anonymous history, consent,
scores, segment membership and exports is erased; nothing of theirs is left anywhere under the home;
a re-run keeps them out; a re-delivered file of theirs is quarantined (and reconciles). The same
runs also check that a consent withdrawal delivered as a new customers file reaches the next export.
One shop, two pipeline runs."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from activation.files import sha256_file
from privacy.audit import read_records
from privacy.subject import email_sha256
from shop.reasons import ERASED_CUSTOMER
from tests.orchestration.conftest import SMALL_DAYS, SMALL_START, run_cli
from tests.privacy.traces import find_traces
from tests.shared_homes import copy_home

pytestmark = pytest.mark.slow

START = date.fromisoformat(SMALL_START)
DAYS = SMALL_DAYS
LAST = START + timedelta(days=DAYS - 1)
REDELIVERED = "redelivered.parquet"
CONSENT_SEGMENT = "repeat_buyers"


def _query(path, sql, params=()):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _pick_subject(warehouse) -> tuple[str, str]:
    """(customer, segment): linked to an anonymous history, e-mail consent, scored, in a segment on the
    last day; among those, one that appears in a logged MLflow input example when there is one."""
    rows = _query(warehouse, """
        select m.customer_id, min(s.segment)
        from intermediate.int_identity_map m
        join staging.stg_customers c on c.customer_id = m.customer_id and c.email_opt_in
        join marts.customer_scores sc on sc.customer_id = m.customer_id
        join marts.customer_segments s on s.customer_id = m.customer_id
            and s.as_of_date = (select max(as_of_date) from marts.customer_segments)
            and s.segment not like 'cluster_%'
        group by 1 order by 1""")
    assert rows, "the shop has no customer with an anonymous history, consent, scores and a segment"
    return rows[0]


@pytest.fixture(scope="module")
def shop(small_shop_home, tmp_path_factory):
    home = copy_home(small_shop_home, tmp_path_factory.mktemp("forget") / "home")
    warehouse = home / "warehouse.duckdb"
    customer, segment = _pick_subject(warehouse)
    anonymous = [r[0] for r in _query(warehouse, "select anonymous_id from intermediate.int_identity_map where customer_id = ?", [customer])]
    customers = pl.read_parquet(home / "lake" / "customers" / "part-0.parquet")
    email = customers.filter(pl.col("customer_id") == customer).get_column("email").item()
    exports = [home / "exports" / "mine.csv", home / "exports" / "mine_any.jsonl"]
    run_cli(home, "export", "--segment", segment, "--format", "csv", "--out", str(exports[0]))
    run_cli(home, "export", "--segment", segment, "--format", "jsonl", "--channel", "any", "--out", str(exports[1]))
    # the consent check uses a segment whose rule reads only the customer's own features, so its
    # membership does not move when models retrain without the erased customer
    consent_before = tmp_path_factory.mktemp("outside") / "consent_before.csv"  # outside the home: not scanned
    run_cli(home, "export", "--segment", CONSENT_SEGMENT, "--format", "csv", "--out", str(consent_before))
    # their rows of their last active day, as the shop delivered them: re-delivered after the erasure
    for landing_day in sorted((home / "landing" / "events").iterdir(), reverse=True):
        delivered = pl.concat([pl.read_parquet(p) for p in sorted(landing_day.glob("*.parquet"))], how="diagonal_relaxed")
        theirs = delivered.filter((pl.col("customer_id") == customer) | pl.col("anonymous_id").is_in(anonymous))
        if theirs.height:
            break
    return {"home": home, "customer": customer, "segment": segment, "anonymous": anonymous, "email": email,
            "needles": {customer, *anonymous, *(f"anon:{a}" for a in anonymous), email, email_sha256(email)},
            "exports": exports, "theirs": theirs, "redelivery_day": landing_day.name, "consent_before": pl.read_csv(consent_before),
            "outside": consent_before.parent}


def _in_mlflow_input_examples(home) -> str:
    """The customer id the logged MLflow input examples hold most often."""
    counts: dict[str, int] = {}
    for path in (home / "mlartifacts").rglob("input_example.json"):
        example = json.loads(path.read_text())
        if "customer_id" in example.get("columns", []):
            column = example["columns"].index("customer_id")
            for row in example["data"]:
                counts[row[column]] = counts.get(row[column], 0) + 1
    assert counts, "no MLflow input example holds customer ids: nothing to erase there"
    return max(sorted(counts), key=counts.get)


@pytest.fixture(scope="module")
def forgotten(shop):
    home = shop["home"]
    before = find_traces(home, shop["needles"])
    result = run_cli(home, "forget", shop["customer"], "--reason", "request 2026-017")
    # a second customer, one the MLflow input examples hold
    second = _in_mlflow_input_examples(home)
    email = pl.read_parquet(home / "lake" / "customers" / "part-0.parquet").filter(
        pl.col("customer_id") == second).get_column("email").item()
    shop["second"], shop["second_needles"] = second, {second, email, email_sha256(email)}
    second_before = find_traces(home, shop["second_needles"])
    run_cli(home, "forget", second, "--reason", "request 2026-018")
    return {"before": before, "after": find_traces(home, shop["needles"]), "output": result.stdout,
            "second_before": second_before, "second_after": find_traces(home, shop["second_needles"])}


def test_the_subject_was_everywhere_before(shop, forgotten):
    places = " ".join(forgotten["before"])
    for where in ("landing/events/", "landing/customers/", "lake/events/", "warehouse.duckdb:staging.stg_events",
                  "warehouse.duckdb:intermediate.int_identity_map", "warehouse.duckdb:marts.customer_scores",
                  "warehouse.duckdb:marts.customer_segments", "serving/segments.duckdb:marts.customer_segments",
                  "exports/mine.csv", "exports/mine_any.jsonl"):
        assert where in places, f"the subject was not in {where} before the erasure: the test proves nothing there"
    assert not shop["theirs"].is_empty()
    assert shop["anonymous"], "the subject has an anonymous history stitched to them"


def test_nothing_of_theirs_is_left_anywhere_under_the_home(forgotten):
    assert forgotten["after"] == {}, f"left after the erasure: {forgotten['after']}"


def test_mlflow_artifacts_lose_the_customer_too(forgotten):
    assert any(place.startswith("mlartifacts/") for place in forgotten["second_before"])
    assert forgotten["second_after"] == {}, f"left after the erasure: {forgotten['second_after']}"


def test_the_audit_record_counts_rows_per_place_and_holds_no_clear_id(shop, forgotten):
    home = shop["home"]
    records = read_records(home)
    assert len(records) == 2
    record = records[0]
    assert record["reason"] == "request 2026-017" and record["complete"]
    removed = record["rows_removed"]
    for area in ("landing", "lake", "warehouse", "exports", "serving"):
        assert sum(removed[area].values()) > 0, f"nothing removed from {area}"
    assert record["anonymous_ids"] == len(shop["anonymous"]) and record["email_hashes"] >= 1
    text = (home / "audit" / "erasures.jsonl").read_text()
    assert not any(n.lower() in text.lower() for n in shop["needles"] | shop["second_needles"])
    assert sum(records[1]["rows_removed"]["mlflow_artifacts"].values()) > 0


def test_export_manifests_match_their_rewritten_files(shop, forgotten):
    for path in shop["exports"]:
        manifest = json.loads(path.with_name(f"{path.stem}.manifest.json").read_text())
        rows = pl.read_csv(path) if path.suffix == ".csv" else pl.read_ndjson(path)
        assert manifest["rows"] == rows.height and manifest["sha256"] == sha256_file(path)
        assert manifest["control_rows"] == int(rows.get_column("is_control").cast(pl.Int64).sum())


@pytest.fixture(scope="module")
def rerun(shop, forgotten):
    """Re-deliver their last-day rows, and a customers file withdrawing someone's e-mail consent; run all days."""
    home = shop["home"]
    shop["theirs"].write_parquet(home / "landing" / "events" / shop["redelivery_day"] / REDELIVERED)

    # consent: a customer of the exported audience withdraws; the shop delivers their changed record
    audience = shop["consent_before"]
    erased = [shop["customer"], shop["second"]]
    withdrawing = audience.filter(~pl.col("customer_id").is_in(erased)).get_column("customer_id").sort().to_list()[0]
    current = pl.read_parquet(home / "lake" / "customers" / "part-0.parquet").filter(pl.col("customer_id") == withdrawing)
    update = current.drop("_source_file").with_columns(pl.lit(False).alias("email_opt_in"))
    update.write_parquet(home / "landing" / "customers" / f"customers_{LAST.isoformat()}.parquet")

    run_cli(home, "run", "--all")
    consent_export = shop["outside"] / "after_withdrawal.csv"
    run_cli(home, "export", "--segment", CONSENT_SEGMENT, "--format", "csv", "--out", str(consent_export))
    still_member = _query(home / "warehouse.duckdb", "select count(*) from marts.customer_segments "
                          "where segment = ? and customer_id = ? and as_of_date = ?", [CONSENT_SEGMENT, withdrawing, LAST])[0][0]
    return {"withdrawing": withdrawing, "audience_before": audience, "audience_after": pl.read_csv(consent_export),
            "still_member": still_member,
            "traces": find_traces(home, shop["needles"]), "second_traces": find_traces(home, shop["second_needles"])}


def test_a_rerun_brings_nothing_back_except_the_redelivered_file_itself(shop, rerun):
    redelivered = f"landing/events/{shop['redelivery_day']}/{REDELIVERED}"
    assert set(rerun["traces"]) == {redelivered}, rerun["traces"]
    assert rerun["second_traces"] == {}, rerun["second_traces"]


def test_redelivered_rows_are_quarantined_as_erased_and_the_load_reconciles(shop, rerun):
    home, warehouse = shop["home"], shop["home"] / "warehouse.duckdb"
    prefix = f"landing/events/{shop['redelivery_day']}/"
    erased = _query(warehouse, "select count(*), min(row_json) from quarantine.events where reason = ? and source_file = ?",
                    [ERASED_CUSTOMER, prefix + REDELIVERED])[0]
    assert erased[0] == shop["theirs"].height
    assert shop["customer"] not in erased[1]
    read = sum(pl.read_parquet(p).height for p in (home / prefix).glob("*.parquet"))
    accepted = pl.scan_parquet(str(home / "lake" / "events" / "*" / "*.parquet")).filter(
        pl.col("_source_file").str.starts_with(prefix)).select(pl.len()).collect().item()
    quarantined = _query(warehouse, "select count(*) from quarantine.events where starts_with(source_file, ?)", [prefix])[0][0]
    assert read == accepted + quarantined


def test_a_consent_withdrawal_leaves_the_customer_out_of_the_next_export(rerun):
    assert rerun["withdrawing"] in rerun["audience_before"].get_column("customer_id").to_list()
    assert rerun["still_member"] == 1, "still in the segment: only consent can leave them out"
    assert rerun["withdrawing"] not in rerun["audience_after"].get_column("customer_id").to_list()
    assert rerun["audience_after"].height >= 1, "everybody else who consents is still exported"


def test_forgetting_while_the_warehouse_is_locked_fails_clearly(shop, rerun):
    import subprocess
    import sys

    path = shop["home"] / "warehouse.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
                               "print('open', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = run_cli(shop["home"], "forget", shop["customer"], check=False)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode != 0 and "in use by another process" in result.stderr
    assert len(read_records(shop["home"])) == 2, "a refused erasure writes no audit record"
