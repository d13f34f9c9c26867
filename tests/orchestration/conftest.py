import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.shared_homes import built_once

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


# One small shop run end to end once per session, shared by the idempotency and crash-recovery tests.
REFERENCE_START = "2026-01-08"  # a Thursday: a retrain anchor, so the run trains on its first day and a week later
REFERENCE_DAYS = 14
REFERENCE_SHOP = ("--customers", "300", "--days", str(REFERENCE_DAYS), "--start", REFERENCE_START, "--seed", "11")


def registry_listing(home: Path) -> list[tuple]:
    """Registered versions as (name, version, as_of_date, gate, aliases): what a rerun must not change."""
    from ml import registry

    return sorted((r["name"], r["version"], r["as_of_date"], r["gate"], tuple(r["aliases"]))
                  for r in registry.list_versions(home))


def build_reference(home: Path) -> None:
    run_cli(home, "generate", *REFERENCE_SHOP)
    run_cli(home, "run", "--all")


@pytest.fixture(scope="session")
def clean_reference(tmp_path_factory):
    """(home, fingerprints of every table, registry listing) after one uninterrupted run of every day.
    The home is shared by every test worker: copy it (`tests.shared_homes.copy_home`) to run on it."""
    from tests.fingerprint import home_fingerprint

    home = built_once(tmp_path_factory, "clean-reference", build_reference)
    return home, home_fingerprint(home), registry_listing(home)


# The 150-customer, 14-day shop of the pipeline and privacy tests, run end to end once per session.
SMALL_START = "2026-01-05"
SMALL_DAYS = 14


def build_small_shop(home: Path) -> None:
    run_cli(home, "generate", "--customers", "150", "--days", str(SMALL_DAYS), "--start", SMALL_START, "--seed", "7")
    run_cli(home, "run", "--all")


def _definition_module(name: str) -> bool:
    return name == "orchestration.definitions" or name.startswith("orchestration.defs")


@pytest.fixture
def fresh_definitions():
    """The definition modules import anew inside the test, for the home it sets (their daily partitions
    start at that home's first landed day, read at import); after it, the modules imported before are
    put back, so the tests that follow in this process see what they would have seen without it."""
    import orchestration

    saved = {name: module for name, module in sys.modules.items() if _definition_module(name)}
    attributes = {a: getattr(orchestration, a) for a in ("defs", "definitions") if hasattr(orchestration, a)}
    for name in saved:
        del sys.modules[name]
    yield
    for name in [name for name in sys.modules if _definition_module(name)]:
        del sys.modules[name]
    sys.modules.update(saved)
    for attribute in ("defs", "definitions"):
        if attribute in attributes:
            setattr(orchestration, attribute, attributes[attribute])
        elif hasattr(orchestration, attribute):
            delattr(orchestration, attribute)
