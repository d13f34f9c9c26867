"""A run left STARTED by a killed `segments run` is failed and its pool slots freed by the next one."""

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from orchestration.environment import DAGSTER_INSTANCE
from orchestration.recovery import LAUNCHER, LAUNCHER_TAG, RunInProgress, exclusive_cli_run, fail_abandoned_runs

POOL = "duckdb_warehouse"


def test_abandoned_cli_runs_are_failed_and_release_their_slot(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides={"concurrency": DAGSTER_INSTANCE["concurrency"]}) as instance:
        killed = create_run_for_test(instance, job_name="daily_pipeline", status=dg.DagsterRunStatus.STARTED,
                                     tags={LAUNCHER_TAG: LAUNCHER})
        elsewhere = create_run_for_test(instance, job_name="daily_pipeline", status=dg.DagsterRunStatus.STARTED)
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)
        assert storage.claim_concurrency_slot(POOL, killed.run_id, "score_customers").is_claimed
        assert not storage.claim_concurrency_slot(POOL, "next-run", "score_customers").is_claimed

        assert fail_abandoned_runs(instance) == [killed.run_id]

        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(elsewhere.run_id).status == dg.DagsterRunStatus.STARTED  # not a CLI run
        assert storage.claim_concurrency_slot(POOL, "next-run", "score_customers").is_claimed
        assert fail_abandoned_runs(instance) == []


def test_a_second_cli_run_on_the_same_home_is_refused_while_the_first_lives(tmp_path):
    with exclusive_cli_run(tmp_path):
        with pytest.raises(RunInProgress, match="another `segments run`"):
            with exclusive_cli_run(tmp_path):
                pass
    with exclusive_cli_run(tmp_path):  # released when the holder ends
        pass
