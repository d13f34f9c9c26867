"""The whole daily pipeline through Dagster on a tiny synthetic shop, in a temporary home."""

from datetime import date, timedelta

import pytest

from tests.orchestration.conftest import run_cli, table_snapshot

pytestmark = pytest.mark.slow

START = date(2026, 1, 5)
DAYS = 14
MARTS = ("marts.customer_daily_activity", "marts.customer_features", "staging.stg_events")


@pytest.fixture(scope="module")
def built_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    run_cli(home, "generate", "--customers", "150", "--days", str(DAYS), "--start", START.isoformat(), "--seed", "7")
    run_cli(home, "run", "--all")
    return home


def test_the_run_builds_the_feature_marts(built_home):
    features = table_snapshot(built_home / "warehouse.duckdb", "marts.customer_features")
    assert features, "customer_features is empty"
    status = run_cli(built_home, "status").stdout
    assert "marts.customer_features" in status


def test_rerunning_a_day_leaves_every_table_identical(built_home):
    warehouse = built_home / "warehouse.duckdb"
    before = {t: table_snapshot(warehouse, t) for t in MARTS}
    day = (START + timedelta(days=DAYS // 2)).isoformat()
    run_cli(built_home, "run", "--start", day)
    run_cli(built_home, "run", "--start", day)
    after = {t: table_snapshot(warehouse, t) for t in MARTS}
    for table in MARTS:
        assert after[table] == before[table], f"{table} changed after re-running {day}"


def test_cli_runs_are_in_the_home_dagster_instance(built_home):
    runs = built_home / "dagster" / "storage"
    assert (built_home / "dagster" / "dagster.yaml").exists()
    assert runs.exists() and any(runs.iterdir())
