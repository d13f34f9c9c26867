import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest

import activation.serving as serving
from activation.files import sha256_file
from activation.serving import publish_serving_copy, read_manifest
from tests.activation.warehouse import DAY2, create_warehouse, make_home

READER = Path(__file__).with_name("serving_reader.py")
REPO = Path(__file__).resolve().parents[2]
# DuckDB's main header: 8-byte checksum, magic b"DUCK", then the storage version number (uint64, little endian).
# DuckDB 1.4 opens storage versions up to 67 (what STORAGE_VERSION 'v1.4.0' writes); DuckDB 2.0's own format
# is a higher number that 1.x refuses. Checked by hand with duckdb 1.4.5 (see test_opens_with_duckdb_1x).
MAX_DUCKDB_1X_STORAGE_NUMBER = 67


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home")
    create_warehouse(h.warehouse)
    return h


def storage_number(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[8:12] == b"DUCK", "not a DuckDB file"
    return struct.unpack("<Q", header[12:20])[0]


def storage_tag(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select tags['storage_version'] from duckdb_databases() where not internal "
                           "and database_name = current_database()").fetchall()[0][0]
    finally:
        con.close()


def counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from main.serving_manifest").fetchall()]
        return {n: con.execute(f"select count(*) from {n}").fetchall()[0][0] for n in names}
    finally:
        con.close()


def test_publish_writes_duckdb_parquet_and_manifest(home):
    meta = publish_serving_copy(home, run_id="run-1")
    root = home.serving
    assert sorted(p.name for p in root.iterdir()) == ["manifest.json", "parquet", "segments.duckdb"]
    manifest = read_manifest(home)
    assert manifest["run_id"] == "run-1" and manifest["published_at"]
    assert set(manifest["tables"]) == {"marts.customer_segments", "marts.customer_features", "marts.customer_scores",
                                       "marts.customer_recommendations"}
    assert "marts.campaign_results" in manifest["missing"]
    assert meta["rows"] == sum(t["rows"] for t in manifest["tables"].values()) and meta["bytes"] > 0
    in_file = counts(root / "segments.duckdb")
    for name, table in manifest["tables"].items():
        parquet = root / table["parquet"]
        assert sha256_file(parquet) == table["sha256"] and parquet.stat().st_size == table["bytes"]
        assert pl.read_parquet(parquet).height == table["rows"] == in_file[name]
    assert manifest["duckdb"]["sha256"] == sha256_file(root / "segments.duckdb")
    # daily snapshot tables: latest day only
    assert manifest["tables"]["marts.customer_features"]["rows"] == 6
    assert pl.read_parquet(root / "parquet/customer_features.parquet")["as_of_date"].unique().to_list() == [DAY2]
    assert manifest["tables"]["marts.customer_segments"]["rows"] == 12


def test_published_file_is_in_duckdb_1x_storage_format(home, tmp_path):
    publish_serving_copy(home)
    published = home.serving / "segments.duckdb"
    assert storage_number(published) <= MAX_DUCKDB_1X_STORAGE_NUMBER
    assert storage_tag(published) == "v1.4.0+"
    # the same check on a file in DuckDB 2.0's default format fails: the test can tell the two apart
    default = tmp_path / "default.duckdb"
    duckdb.connect(str(default)).close()
    assert storage_number(default) > MAX_DUCKDB_1X_STORAGE_NUMBER
    assert storage_tag(default) != "v1.4.0+"


@pytest.mark.skipif(not os.environ.get("SEGMENTS_DUCKDB1_PYTHON"),
                    reason="set SEGMENTS_DUCKDB1_PYTHON to a python with duckdb 1.x installed")
def test_opens_with_duckdb_1x(home):
    publish_serving_copy(home)
    script = textwrap.dedent("""
        import sys, duckdb
        assert duckdb.__version__.startswith("1."), duckdb.__version__
        con = duckdb.connect(sys.argv[1], read_only=True)
        print(con.execute("select count(*) from marts.customer_segments").fetchall()[0][0])
    """)
    out = subprocess.run([os.environ["SEGMENTS_DUCKDB1_PYTHON"], "-c", script, str(home.serving / "segments.duckdb")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "12"


def add_members(home, n: int, start: int = 0) -> None:
    con = duckdb.connect(str(home.warehouse))
    try:
        con.executemany("insert into marts.customer_segments values (?, 'vip', ?, 'rule', null)",
                        [[DAY2, f"new-{start + i}"] for i in range(n)])
        con.executemany("insert into marts.customer_scores (customer_id, as_of_date, p_churn) values (?, ?, 0.5)",
                        [[f"new-{start + i}", DAY2] for i in range(2 * n)])
    finally:
        con.close()


def read_in_subprocess(path: Path) -> dict:
    script = "import json, sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); " \
             "print(c.execute('select count(*) from marts.customer_segments').fetchall()[0][0])"
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_reader_of_old_file_keeps_its_snapshot_across_a_publish(home):
    publish_serving_copy(home, run_id="old")
    published = home.serving / "segments.duckdb"
    reader = duckdb.connect(str(published), read_only=True)
    try:
        assert reader.execute("select count(*) from marts.customer_segments").fetchall()[0][0] == 12
        add_members(home, 5)
        publish_serving_copy(home, run_id="new")
        # the old connection still works and sees the whole old generation, consistently
        assert reader.execute("select count(*) from marts.customer_segments").fetchall()[0][0] == 12
        assert reader.execute("select count(*) from marts.customer_scores").fetchall()[0][0] == 6
        assert reader.execute("select distinct run_id from main.serving_manifest").fetchall() == [("old",)]
        # a new reader (another process: DuckDB shares one instance per path within a process) sees the new one
        assert read_in_subprocess(published) == 17
    finally:
        reader.close()
    assert counts(published) == {"marts.customer_segments": 17, "marts.customer_scores": 16,
                                 "marts.customer_features": 6, "marts.customer_recommendations": 18}


def test_failed_publish_leaves_previous_copy_untouched_and_no_temp_files(home, monkeypatch):
    publish_serving_copy(home, run_id="good")
    before = {p.relative_to(home.serving): sha256_file(p) for p in home.serving.rglob("*") if p.is_file()}

    def half_written(temp_db, copied, parquet_temps):
        temp, _ = next(iter(parquet_temps.values()))
        temp.write_bytes(b"PAR1 half")
        raise OSError("disk full")

    add_members(home, 3)
    monkeypatch.setattr(serving, "_write_parquet", half_written)
    with pytest.raises(OSError, match="disk full"):
        publish_serving_copy(home, run_id="bad")
    after = {p.relative_to(home.serving): sha256_file(p) for p in home.serving.rglob("*") if p.is_file()}
    assert after == before
    assert read_manifest(home)["run_id"] == "good"


def test_nothing_to_publish_is_an_error_and_keeps_the_old_copy(home):
    publish_serving_copy(home, run_id="good")
    with pytest.raises(LookupError, match="none of the requested tables"):
        publish_serving_copy(home, tables=["marts.no_such_table"])
    assert read_manifest(home)["run_id"] == "good"
    assert not [p for p in home.serving.rglob(".*") if p.is_file()]


def test_table_no_longer_published_loses_its_parquet(home):
    publish_serving_copy(home)
    assert (home.serving / "parquet/customer_scores.parquet").exists()
    meta = publish_serving_copy(home, tables=["customer_segments", "marts.customer_features"])
    assert set(meta["tables"]) == {"marts.customer_segments", "marts.customer_features"}
    assert sorted(p.name for p in (home.serving / "parquet").iterdir()) == \
        ["customer_features.parquet", "customer_segments.parquet"]


def test_missing_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        publish_serving_copy(make_home(tmp_path / "empty"))


def test_concurrent_reader_always_sees_a_whole_generation(home, tmp_path):
    generations = {}
    meta = publish_serving_copy(home, run_id="g0")
    generations["g0"] = {t: v["rows"] for t, v in meta["tables"].items()}
    stop = tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    reader = subprocess.Popen([sys.executable, str(READER), str(home.serving), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = reader.stdout.readline()  # the reader is up and has read generation g0
    try:
        for g in range(1, 11):
            add_members(home, g, start=1000 * g)
            meta = publish_serving_copy(home, run_id=f"g{g}")
            generations[f"g{g}"] = {t: v["rows"] for t, v in meta["tables"].items()}
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    lines = [json.loads(line) for line in [first, *out.splitlines()] if line.strip()]
    assert reader.returncode == 0, (lines[-1:] , err)
    db_reads = [r for r in lines if r["kind"] == "duckdb"]
    assert len(db_reads) >= 3
    seen = set()
    for read in db_reads:
        assert read["counts"] == read["manifest"] == generations[read["run_id"]]
        seen.add(read["run_id"])
    assert {"g0", "g10"} <= seen and len(seen) >= 3, seen  # the reads overlapped the publishes
    published = {}
    for gen in generations.values():
        for table, rows in gen.items():
            published.setdefault(table.split(".", 1)[1] + ".parquet", set()).add(rows)
    for read in (r for r in lines if r["kind"] == "parquet"):
        assert read["rows"] in published[read["file"]], read


def test_variant_column_is_served_as_text(home):
    con = duckdb.connect(str(home.warehouse))
    con.execute("create table marts.cluster_profiles (cluster_id BIGINT, profile VARIANT)")
    con.execute("insert into marts.cluster_profiles values (1, {'size': 3}::variant)")
    con.close()
    meta = publish_serving_copy(home)
    assert meta["tables"]["marts.cluster_profiles"]["cast_to_varchar"] == ["profile"]
    assert storage_number(home.serving / "segments.duckdb") <= MAX_DUCKDB_1X_STORAGE_NUMBER
    served = pl.read_parquet(home.serving / "parquet/cluster_profiles.parquet")
    assert served.schema["profile"] == pl.String and "size" in served["profile"][0]


def test_per_customer_daily_tables_serve_only_their_latest_days(home, monkeypatch):
    publish_serving_copy(home)  # default 35 days: both days of the fixture
    assert read_manifest(home)["tables"]["marts.customer_segments"]["rows"] == 12
    monkeypatch.setenv(serving.SERVED_DAYS_ENV, "1")
    publish_serving_copy(home)
    manifest = read_manifest(home)
    segments = manifest["tables"]["marts.customer_segments"]
    assert segments["rows"] == 9 and segments["filter"] == f"as_of_date = {DAY2} (latest day only)"
    assert pl.read_parquet(home.serving / "parquet/customer_segments.parquet")["as_of_date"].unique().to_list() == [DAY2]
    assert counts(home.serving / "segments.duckdb")["marts.customer_segments"] == 9
    monkeypatch.setenv(serving.SERVED_DAYS_ENV, "0")  # every day
    publish_serving_copy(home)
    every_day = read_manifest(home)["tables"]["marts.customer_segments"]
    assert every_day["rows"] == 12 and every_day["filter"] is None
    monkeypatch.setenv(serving.SERVED_DAYS_ENV, "a week")
    with pytest.raises(ValueError, match=serving.SERVED_DAYS_ENV):
        publish_serving_copy(home)
