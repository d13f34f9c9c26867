import dagster as dg

from orchestration.policies import DAILY_FRESHNESS, needs_daily_freshness, with_freshness


def test_marts_and_the_lake_get_the_daily_freshness_policy():
    assert needs_daily_freshness(dg.AssetKey(["marts", "customer_segments"]))
    assert needs_daily_freshness(dg.AssetKey(["lake", "events"]))
    assert not needs_daily_freshness(dg.AssetKey(["staging", "stg_events"]))
    assert not needs_daily_freshness(dg.AssetKey(["lake", "customers"]))
    spec = with_freshness(dg.AssetSpec(["marts", "customer_scores"]))
    assert spec.freshness_policy == DAILY_FRESHNESS
    assert with_freshness(dg.AssetSpec(["models", "churn_risk"])).freshness_policy is None
