"""The whole daily pipeline through Dagster on a tiny synthetic shop, in a temporary home.

Re-runs of a day, compared table by table with the clean run, are in test_idempotency.py."""

import duckdb
import pytest

from tests.orchestration.conftest import SMALL_DAYS, run_cli, table_snapshot
from tests.shared_homes import copy_home

pytestmark = pytest.mark.slow

DAYS = SMALL_DAYS
MARTS = (
    "staging.stg_events",
    "marts.customer_daily_activity",
    "marts.customer_features",
    "marts.customer_scores",
    "marts.customer_clusters",
    "marts.customer_segments",
    "marts.segment_membership_history",
    "marts.segment_transitions",
    "marts.segment_summary",
)


@pytest.fixture(scope="module")
def built_home(small_shop_home, tmp_path_factory):
    return copy_home(small_shop_home, tmp_path_factory.mktemp("pipeline") / "home")


def test_the_run_builds_features_scores_clusters_and_segments_for_every_day(built_home):
    warehouse = built_home / "warehouse.duckdb"
    for table in MARTS:
        assert table_snapshot(warehouse, table), f"{table} is empty"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        days = {t: con.execute(f"select count(distinct as_of_date) from {t}").fetchone()[0]
                for t in ("marts.customer_features", "marts.customer_scores", "marts.customer_clusters")}
        unscored = con.execute("select count(*) from marts.customer_scores where p_purchase_30d is null").fetchone()[0]
    assert days == {t: DAYS for t in days}, days
    assert unscored == 0, "a day was left without any promoted model (baseline) to score it"
    assert "marts.customer_segments" in run_cli(built_home, "status").stdout
    listing = run_cli(built_home, "models").stdout
    for name in ("purchase_propensity_30d", "churn_risk", "customer_lifetime_value", "discount_response",
                 "next_category", "behavioral_clusters"):
        assert name in listing and "champion" in listing


def test_cli_runs_are_in_the_home_dagster_instance(built_home):
    runs = built_home / "dagster" / "storage"
    assert (built_home / "dagster" / "dagster.yaml").exists()
    assert runs.exists() and any(runs.iterdir())


def test_the_run_publishes_the_serving_copy_and_the_audiences(built_home):
    serving = built_home / "serving" / "segments.duckdb"
    assert serving.exists() and (built_home / "serving" / "manifest.json").exists()
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select count(*) from marts.segment_summary").fetchone()[0] > 0
    manifests = list((built_home / "exports").glob("*/*/*.manifest.json"))
    assert {m.parent.parent.name for m in manifests} >= {"cart_abandoners"}


def test_an_audience_export_from_the_cli(built_home, tmp_path):
    out = tmp_path / "audience.csv"
    result = run_cli(built_home, "export", "--segment", "repeat_buyers", "--format", "csv", "--out", str(out))
    assert out.exists() and "held out as control" in result.stdout
    unknown = run_cli(built_home, "export", "--segment", "no_such_segment", check=False)
    assert unknown.returncode != 0 and "known segments" in unknown.stderr
