import dagster as dg

from orchestration.policies import DAILY_FRESHNESS, WEEKLY_FRESHNESS, freshness_for, needs_daily_freshness, with_freshness


def test_marts_and_the_lake_get_the_daily_freshness_policy():
    assert needs_daily_freshness(dg.AssetKey(["marts", "customer_segments"]))
    assert needs_daily_freshness(dg.AssetKey(["lake", "events"]))
    assert not needs_daily_freshness(dg.AssetKey(["staging", "stg_events"]))
    assert not needs_daily_freshness(dg.AssetKey(["lake", "customers"]))
    spec = with_freshness(dg.AssetSpec(["marts", "customer_scores"]))
    assert spec.freshness_policy == DAILY_FRESHNESS
    assert with_freshness(dg.AssetSpec(["models", "churn_risk"])).freshness_policy is None


def test_landing_sources_carry_a_policy_events_daily_dimensions_weekly():
    assert with_freshness(dg.AssetSpec(["landing", "events"])).freshness_policy == DAILY_FRESHNESS
    assert with_freshness(dg.AssetSpec(["landing", "customers"])).freshness_policy == WEEKLY_FRESHNESS
    assert freshness_for(dg.AssetKey(["lake", "products"])) is None


def test_every_mart_bi_users_read_and_the_serving_copy_are_daily_fresh():
    from orchestration.defs.activation.assets import SERVED_MARTS

    for key in [*SERVED_MARTS, ["serving", "bi_copy"]]:
        assert freshness_for(dg.AssetKey(key)) == DAILY_FRESHNESS, key


def test_the_loaded_definitions_apply_the_policies():
    from orchestration.definitions import defs

    policies = {spec.key: spec.freshness_policy for spec in defs.resolve_all_asset_specs()}
    for key in (["landing", "events"], ["marts", "segment_summary"], ["serving", "bi_copy"]):
        assert policies[dg.AssetKey(key)] == DAILY_FRESHNESS, key
    assert all(policies[dg.AssetKey(["landing", name])] == WEEKLY_FRESHNESS
               for name in ("customers", "products", "campaigns", "campaign_assignments"))


def test_loading_a_day_reports_its_landing_files_so_landing_freshness_can_be_judged(tmp_path, monkeypatch):
    from datetime import date

    from shop.home import Home
    from shop.simulator import generate

    home = Home(tmp_path / "home")
    generate(home, customers=10, days=2, start=date(2026, 1, 5), seed=3)
    monkeypatch.setenv("SEGMENTS_HOME", str(home.root))
    from orchestration.definitions import defs

    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[dg.AssetKey(["lake", "events"])], partition_key="2026-01-06",
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    landing = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
               if e.asset_key == dg.AssetKey(["landing", "events"])]
    assert [m.partition for m in landing] == ["2026-01-06"]
    assert all("event_date=2026-01-06" in f for f in landing[0].metadata["files"].data)
