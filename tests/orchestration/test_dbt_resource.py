"""The dbt resource knows dbt's version without starting `dbt --version` (which also calls pypi.org)."""

from importlib.metadata import version

import dagster_dbt.core.resource as stock

from orchestration.resources import dbt_cli


def test_the_version_comes_from_the_installed_package_without_a_process(monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError(f"started {args[0] if args else kwargs}")

    monkeypatch.setattr(stock, "check_output", no_process)
    assert str(dbt_cli()._cli_version) == version("dbt-core")


def test_a_dbt_elsewhere_is_still_asked(monkeypatch):
    monkeypatch.setattr(stock, "check_output", lambda args: b"Core:\n  - installed: 1.10.3\n")
    resource = dbt_cli().model_copy(update={"dbt_executable": "/opt/other/dbt"})
    assert str(resource._cli_version) == "1.10.3"
