"""Dagster entry point: everything under defs/, plus the resources they share."""

from pathlib import Path

import dagster as dg

from orchestration.automation import with_automation
from orchestration.environment import configure_process
from orchestration.policies import with_freshness
from orchestration.resources import dbt_cli, ensure_dbt_manifest

configure_process()
ensure_dbt_manifest()

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent),
    dg.Definitions(resources={"dbt": dbt_cli()}, executor=dg.in_process_executor),
).map_asset_specs(func=with_freshness).map_asset_specs(func=with_automation)
