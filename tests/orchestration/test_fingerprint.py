"""The table fingerprint the idempotency and crash tests rely on: sees every kind of change, names it."""

import duckdb
import pytest

from tests.fingerprint import assert_same_tables, database_fingerprint, differences


def _db(path, rows, extra_sql=""):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.t (id integer, x double, s varchar)")
        con.executemany("insert into marts.t values (?, ?, ?)", rows)
        if extra_sql:
            con.execute(extra_sql)
    return database_fingerprint(path, "warehouse.duckdb")


ROWS = [(1, 0.3, "a"), (2, None, "b"), (3, 1.5, None)]


def test_row_order_does_not_matter_but_every_value_type_and_row_does(tmp_path):
    base = _db(tmp_path / "a.duckdb", ROWS)
    assert differences(base, _db(tmp_path / "b.duckdb", list(reversed(ROWS)))) == []
    changed = _db(tmp_path / "c.duckdb", [(1, 0.1 + 0.2, "a"), *ROWS[1:]])  # 0.30000000000000004
    [line] = differences(base, changed)
    assert line.startswith("warehouse.duckdb:marts.t:") and "0.30000000000000004" in line
    assert differences(base, _db(tmp_path / "d.duckdb", [*ROWS, ROWS[0]]))  # a duplicate row
    assert differences(base, _db(tmp_path / "e.duckdb", [(2, None, ""), ROWS[0], ROWS[2]]))  # NULL vs ''
    assert differences(base, _db(tmp_path / "f.duckdb", ROWS, "create table marts.u (id integer)")) == [
        "warehouse.duckdb:marts.u: unexpected table"]
    retyped = _db(tmp_path / "g.duckdb", ROWS, "alter table marts.t alter id type bigint")
    assert "columns" in differences(base, retyped)[0]
    with pytest.raises(AssertionError, match="1 table"):
        assert_same_tables(base, changed, "context")
