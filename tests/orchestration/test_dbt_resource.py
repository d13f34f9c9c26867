"""The dbt resource knows dbt's version without starting `dbt --version` (which also calls pypi.org)."""

import os
from importlib.metadata import version

import dagster_dbt.core.resource as stock

from orchestration.dbt_runs import PARTIAL_PARSE_FILE, prune_dbt_runs, seed_partial_parse
from orchestration.resources import dbt_cli, environment_set


def test_the_version_comes_from_the_installed_package_without_a_process(monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError(f"started {args[0] if args else kwargs}")

    monkeypatch.setattr(stock, "check_output", no_process)
    assert str(dbt_cli()._cli_version) == version("dbt-core")


def test_a_dbt_elsewhere_is_still_asked(monkeypatch):
    monkeypatch.setattr(stock, "check_output", lambda args: b"Core:\n  - installed: 1.10.3\n")
    resource = dbt_cli().model_copy(update={"dbt_executable": "/opt/other/dbt"})
    assert str(resource._cli_version) == "1.10.3"


def test_each_invocation_writes_its_target_folder_under_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_HOME", str(tmp_path))
    target = dbt_cli()._get_unique_target_path(context=None)
    assert target.parent == tmp_path / "dbt" / "runs"


def test_only_the_newest_run_folders_are_kept(tmp_path):
    runs = tmp_path / "runs"
    for age in range(5):
        folder = runs / f"run-{age}"
        folder.mkdir(parents=True)
        os.utime(folder, (1_000_000 - age, 1_000_000 - age))
    removed = prune_dbt_runs(runs, 2)
    assert sorted(p.name for p in removed) == ["run-2", "run-3", "run-4"]
    assert sorted(p.name for p in runs.iterdir()) == ["run-0", "run-1"]
    assert prune_dbt_runs(tmp_path / "missing", 2) == []


def test_an_invocation_starts_from_the_newest_parse_state_of_the_home(tmp_path):
    runs = tmp_path / "runs"
    for age, name in enumerate(["newest", "older"]):
        folder = runs / name
        folder.mkdir(parents=True)
        (folder / PARTIAL_PARSE_FILE).write_text(name)
        os.utime(folder / PARTIAL_PARSE_FILE, (1_000_000 - age, 1_000_000 - age))
    (runs / "no-state").mkdir()
    target = runs / "next"
    assert seed_partial_parse(runs, target) == runs / "newest" / PARTIAL_PARSE_FILE
    assert (target / PARTIAL_PARSE_FILE).read_text() == "newest"
    assert seed_partial_parse(tmp_path / "no-runs-yet", tmp_path / "first") is None


def test_no_dbt_adapter_is_loaded_into_the_dagster_process():
    assert dbt_cli()._initialize_dbt_core_adapter(["build"]) is None


def test_environment_set_restores_what_was_there(monkeypatch):
    monkeypatch.setenv("SEGMENTS_TEST_KEPT", "before")
    monkeypatch.delenv("SEGMENTS_TEST_ADDED", raising=False)
    with environment_set({"SEGMENTS_TEST_KEPT": "during", "SEGMENTS_TEST_ADDED": "during"}):
        assert os.environ["SEGMENTS_TEST_KEPT"] == os.environ["SEGMENTS_TEST_ADDED"] == "during"
    assert os.environ["SEGMENTS_TEST_KEPT"] == "before" and "SEGMENTS_TEST_ADDED" not in os.environ
