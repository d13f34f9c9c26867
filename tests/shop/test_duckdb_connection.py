"""Every platform DuckDB connection takes SEGMENTS_DUCKDB_MEMORY_LIMIT, as dbt's profile does."""

import duckdb
import pytest

from shop import duckdb_connection
from shop.duckdb_connection import MEMORY_LIMIT_ENV, MemoryLimitError


def _setting(con, name: str) -> str:
    return con.execute("select current_setting(?)", [name]).fetchone()[0]


def test_the_limit_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "300MB")
    with duckdb_connection.connect(tmp_path / "w.duckdb") as con:
        assert _setting(con, "memory_limit") == "286.1 MiB"  # DuckDB shows 300 MB in MiB
        assert _setting(con, "temp_directory") == str(tmp_path / "w.duckdb.tmp")


def test_default_is_half_the_memory_not_duckdbs_eighty_percent(monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert duckdb_connection.memory_limit() == "50%"
    with duckdb_connection.connect() as ours, duckdb.connect(config={"memory_limit": "50%"}) as half, \
            duckdb.connect() as duckdb_default:
        assert _setting(ours, "memory_limit") == _setting(half, "memory_limit")
        assert _setting(ours, "memory_limit") != _setting(duckdb_default, "memory_limit")
    assert duckdb_connection.memory_limit({MEMORY_LIMIT_ENV: "  "}) == "50%"


def test_an_in_memory_connection_spills_where_it_is_told(tmp_path):
    with duckdb_connection.connect(temp_directory=tmp_path / "spill") as con:
        assert _setting(con, "temp_directory") == str(tmp_path / "spill")


def test_a_bad_limit_names_the_variable(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(MemoryLimitError, match=MEMORY_LIMIT_ENV):
        duckdb_connection.connect()
