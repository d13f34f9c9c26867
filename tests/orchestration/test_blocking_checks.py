"""Blocking checks stop what is downstream in the same run; dbt tests are Dagster asset checks."""

import json
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from orchestration.defs.dbt.table_metadata import with_table_metadata
from orchestration.defs.dbt.translator import asset_key_for
from orchestration.resources import dbt_project
from tests.orchestration.conftest import REFERENCE_DAYS, REFERENCE_START
from tests.shared_homes import copy_home


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


PUBLISHED_DAY = date.fromisoformat(REFERENCE_START) + timedelta(days=REFERENCE_DAYS - 1)


@pytest.fixture
def reference_home(clean_reference, tmp_path, monkeypatch):
    """A copy of the clean reference home (trained models, a published serving copy) as SEGMENTS_HOME."""
    home = copy_home(clean_reference[0], tmp_path / "home")
    monkeypatch.setenv("SEGMENTS_HOME", str(home))
    return home


def _corrupt_after(monkeypatch, module, name: str, sql: str):
    """Wrap module.name (called with the warehouse path first) to run `sql` on the warehouse after it,
    with the published day bound twice."""
    real = getattr(module, name)

    def wrapped(warehouse, *args, **kwargs):
        result = real(warehouse, *args, **kwargs)
        with duckdb.connect(str(warehouse)) as con:
            con.execute(sql, [PUBLISHED_DAY, PUBLISHED_DAY])
        return result

    monkeypatch.setattr(module, name, wrapped)


def _materialize_published_day(*roots: list[str]):
    """Run `roots` and the multi-asset neighbours they need for the published day; (result, materialized keys)."""
    from orchestration.definitions import defs

    selection = dg.AssetSelection.assets(*roots).required_multi_asset_neighbors()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=list(selection.resolve(defs.resolve_asset_graph())), partition_key=PUBLISHED_DAY.isoformat(),
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    return result, {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _check_evaluation(result, check_name: str):
    return next(e.event_specific_data for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == check_name)


@pytest.mark.slow
def test_a_failing_blocking_check_keeps_the_serving_copy_from_being_published(reference_home, monkeypatch):
    """Corrupt one score on the published day: scores_in_range fails, segments and bi_copy do not run."""
    from ml import score

    _corrupt_after(monkeypatch, score, "score_window",
                   "update marts.customer_scores set p_purchase_30d = 1.7 where as_of_date = ? and customer_id = "
                   "(select min(customer_id) from marts.customer_scores where as_of_date = ?)")
    published_before = (reference_home / "serving" / "manifest.json").read_text()
    # scoring, segments and the serving copy: no dbt, no training (the copied home has its models)
    result, materialized = _materialize_published_day(["marts", "customer_scores"], ["marts", "customer_segments"],
                                                      ["serving", "bi_copy"])

    assert "marts/customer_scores" in materialized
    assert "serving/bi_copy" not in materialized and "marts/customer_segments" not in materialized
    evaluation = _check_evaluation(result, "scores_in_range")
    assert not evaluation.passed
    assert evaluation.metadata["violations"].data == {"p_purchase_30d_outside_0_1": 1}
    assert "p_purchase_30d_outside_0_1: 1 row(s)" in evaluation.description
    assert "nothing downstream is published" in evaluation.description
    assert (reference_home / "serving" / "manifest.json").read_text() == published_before


@pytest.mark.slow
def test_a_segment_emptied_on_the_published_day_blocks_the_serving_copy(reference_home, monkeypatch):
    """The separate @asset_check(blocking=True) form in the real definitions: segments are built, the
    summary says a big segment dropped to zero, segment_sizes_stable fails and bi_copy does not run."""
    from orchestration.defs.segments import assets as segment_assets

    _corrupt_after(monkeypatch, segment_assets, "build_segments_window",
                   "update marts.segment_summary set previous_size = 500, size = 0, size_change = -1, "
                   "size_change_flag = true where as_of_date = ? and segment = (select min(segment) "
                   "from marts.segment_summary where as_of_date = ?)")
    result, materialized = _materialize_published_day(["marts", "customer_segments"], ["serving", "bi_copy"])

    assert "marts/segment_summary" in materialized and "serving/bi_copy" not in materialized
    evaluation = _check_evaluation(result, "segment_sizes_stable")
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "dropped from 500 members to 0" in evaluation.description
    assert evaluation.metadata["shifted"].data[-1]["size"] == 0
