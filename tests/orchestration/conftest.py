import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
SEGMENTS = Path(sys.executable).with_name("segments")


def run_cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEGMENTS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run([str(SEGMENTS), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"segments {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def table_snapshot(warehouse: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
        order = ", ".join(f'"{c}"' for c in columns)
        return con.execute(f"select * from {table} order by {order}").fetchall()


@pytest.fixture(scope="session")
def cli():
    return run_cli
