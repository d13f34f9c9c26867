"""Every DuckDB connection the platform opens in its own processes, under one memory limit.

dbt's profile reads the same variable, so `SEGMENTS_DUCKDB_MEMORY_LIMIT` bounds DuckDB in every step:
the lake load, scoring writes, segments and the serving copy as well as dbt. Beyond the limit DuckDB
spills to a temp folder beside the database file (for an in-memory connection, the folder given).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb

MEMORY_LIMIT_ENV = "SEGMENTS_DUCKDB_MEMORY_LIMIT"
# DuckDB's own default, 80 % of RAM, leaves too little beside the Python process that holds it.
DEFAULT_MEMORY_LIMIT = "50%"


class MemoryLimitError(ValueError):
    pass


def memory_limit(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT


def connect(database: str | Path = ":memory:", read_only: bool = False,
            temp_directory: Path | None = None) -> duckdb.DuckDBPyConnection:
    """duckdb.connect with the platform's memory limit; a clear error naming the variable when it is
    not a size DuckDB understands (e.g. 4GB, 512MB, 50%)."""
    config = {"memory_limit": memory_limit()}
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    try:
        return duckdb.connect(str(database), read_only=read_only, config=config)
    except (duckdb.ParserException, duckdb.InvalidInputException) as exc:
        raise MemoryLimitError(
            f"{MEMORY_LIMIT_ENV}={config['memory_limit']!r} is not a memory size DuckDB accepts "
            f"(e.g. 4GB, 512MB, 50%): {exc}"
        ) from exc
