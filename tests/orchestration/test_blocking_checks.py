"""Blocking checks stop what is downstream in the same run; dbt tests are Dagster asset checks."""

import json
import shutil
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from orchestration.defs.dbt.table_metadata import with_table_metadata
from orchestration.defs.dbt.translator import asset_key_for
from orchestration.resources import dbt_project
from tests.orchestration.conftest import REFERENCE_DAYS, REFERENCE_START


def _run(assets, checks):
    defs = dg.Definitions(assets=assets, asset_checks=checks,
                          jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())])
    result = defs.resolve_job_def("all").execute_in_process(raise_on_error=False)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    return result, materialized


def test_both_ways_of_declaring_a_blocking_check_stop_downstream_assets_in_dagster_1_13():
    @dg.asset
    def checked_alone() -> None: ...

    @dg.asset_check(asset=checked_alone, blocking=True)
    def separate() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="bad rows")

    @dg.asset(check_specs=[dg.AssetCheckSpec("in_spec", asset="checked_in_spec", blocking=True)])
    def checked_in_spec():
        return dg.MaterializeResult(check_results=[dg.AssetCheckResult(check_name="in_spec", passed=False)])

    @dg.asset
    def warned() -> None: ...

    @dg.asset_check(asset=warned, blocking=True)
    def only_a_warning() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)

    @dg.asset
    def not_blocking() -> None: ...

    @dg.asset_check(asset=not_blocking)
    def failing_but_not_blocking() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False)

    downstream = [dg.asset(name=f"after_{up.key.path[-1]}", deps=[up])(lambda: None)
                  for up in (checked_alone, checked_in_spec, warned, not_blocking)]
    result, materialized = _run([checked_alone, checked_in_spec, warned, not_blocking, *downstream],
                                [separate, only_a_warning, failing_but_not_blocking])
    assert not result.success
    assert {"after_checked_alone", "after_checked_in_spec"}.isdisjoint(materialized)
    assert {"after_warned", "after_not_blocking"} <= materialized


def test_every_dbt_test_is_an_asset_check_blocking_when_its_severity_is_error():
    from orchestration.definitions import defs

    manifest = json.loads(dbt_project.manifest_path.read_text())
    graph = defs.resolve_asset_graph()
    specs = {key: graph.get_check_spec(key) for key in graph.asset_check_keys}
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n.get("attached_node")]
    assert len(tests) >= 20
    for test in tests:
        model = manifest["nodes"][test["attached_node"]]
        key = dg.AssetCheckKey(asset_key_for(model), test["name"])
        assert key in specs, f"dbt test {test['name']} is not a check on {key.asset_key.to_user_string()}"
        error = (test["config"].get("severity") or "error").lower() == "error"
        assert specs[key].blocking == error, key


def test_a_failing_dbt_build_still_reports_its_test_results_before_the_step_fails(tmp_path):
    failed_test = dg.AssetCheckResult(asset_key=dg.AssetKey(["marts", "t"]), check_name="unique_id", passed=False)

    def dbt_events():
        yield dg.Output(None, output_name="marts_t")
        yield failed_test
        raise DagsterDbtCliRuntimeError("dbt build failed: 1 test with severity error")

    seen = []
    with pytest.raises(DagsterDbtCliRuntimeError):
        for event in with_table_metadata(dbt_events(), tmp_path / "none.duckdb", lambda _: dg.AssetKey(["marts", "t"])):
            seen.append(event)
    assert seen[1] is failed_test and isinstance(seen[0], dg.Output)


@pytest.mark.slow
def test_a_failing_blocking_check_keeps_the_serving_copy_from_being_published(clean_reference, tmp_path, monkeypatch):
    """Corrupt one score on the published day: scores_in_range fails, segments and bi_copy do not run."""
    home = tmp_path / "home"
    shutil.copytree(clean_reference[0], home)
    monkeypatch.setenv("SEGMENTS_HOME", str(home))
    from ml import score
    from orchestration.definitions import defs

    day = date.fromisoformat(REFERENCE_START) + timedelta(days=REFERENCE_DAYS - 1)
    real_score_window = score.score_window

    def score_window_with_a_bad_row(warehouse, *args, **kwargs):
        result = real_score_window(warehouse, *args, **kwargs)
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update marts.customer_scores set p_purchase_30d = 1.7 "
                        "where as_of_date = ? and customer_id = (select min(customer_id) from marts.customer_scores "
                        "where as_of_date = ?)", [day, day])
        return result

    monkeypatch.setattr(score, "score_window", score_window_with_a_bad_row)
    published_before = (home / "serving" / "manifest.json").read_text()
    # scoring, segments and the serving copy: no dbt, no training (the copied home has its models)
    selection = dg.AssetSelection.assets(["marts", "customer_scores"], ["marts", "customer_segments"],
                                         ["serving", "bi_copy"]).required_multi_asset_neighbors()
    keys = list(selection.resolve(defs.resolve_asset_graph()))
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(asset_selection=keys, partition_key=day.isoformat(),
                                    instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts/customer_scores" in materialized
    assert "serving/bi_copy" not in materialized and "marts/customer_segments" not in materialized
    evaluation = next(e.event_specific_data for e in result.all_events
                      if e.event_type_value == "ASSET_CHECK_EVALUATION"
                      and e.event_specific_data.check_name == "scores_in_range")
    assert not evaluation.passed
    assert evaluation.metadata["violations"].data == {"p_purchase_30d_outside_0_1": 1}
    assert "p_purchase_30d_outside_0_1: 1 row(s)" in evaluation.description
    assert "nothing downstream is published" in evaluation.description
    assert (home / "serving" / "manifest.json").read_text() == published_before


@pytest.mark.slow
def test_a_segment_emptied_on_the_published_day_blocks_the_serving_copy(clean_reference, tmp_path, monkeypatch):
    """The separate @asset_check(blocking=True) form in the real definitions: segments are built, the
    summary says a big segment dropped to zero, segment_sizes_stable fails and bi_copy does not run."""
    home = tmp_path / "home"
    shutil.copytree(clean_reference[0], home)
    monkeypatch.setenv("SEGMENTS_HOME", str(home))
    from orchestration.defs.segments import assets as segment_assets
    from orchestration.definitions import defs

    day = date.fromisoformat(REFERENCE_START) + timedelta(days=REFERENCE_DAYS - 1)
    real_build = segment_assets.build_segments_window

    def build_then_empty_a_segment(warehouse, *args, **kwargs):
        result = real_build(warehouse, *args, **kwargs)
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update marts.segment_summary set previous_size = 500, size = 0, size_change = -1, "
                        "size_change_flag = true where as_of_date = ? and segment = (select min(segment) "
                        "from marts.segment_summary where as_of_date = ?)", [day, day])
        return result

    monkeypatch.setattr(segment_assets, "build_segments_window", build_then_empty_a_segment)
    selection = dg.AssetSelection.assets(["marts", "customer_segments"], ["serving", "bi_copy"]).required_multi_asset_neighbors()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=list(selection.resolve(defs.resolve_asset_graph())), partition_key=day.isoformat(),
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts/segment_summary" in materialized and "serving/bi_copy" not in materialized
    evaluation = next(e.event_specific_data for e in result.all_events
                      if e.event_type_value == "ASSET_CHECK_EVALUATION"
                      and e.event_specific_data.check_name == "segment_sizes_stable")
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "dropped from 500 members to 0" in evaluation.description
    assert evaluation.metadata["shifted"].data[-1]["size"] == 0
