"""dbt models as Dagster assets: the daily-partitioned (incremental) ones and the rest."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.lookback import partition_rebuild_window
from orchestration.partitions import PARTITIONED, daily_partitions, dbt_build_args, dbt_window_environment
from orchestration.resources import WAREHOUSE_POOL, current_home, dbt_project, environment_set
from orchestration.retries import permanent_failures
from orchestration.defs.dbt.table_metadata import with_table_metadata
from orchestration.defs.dbt.translator import SegmentsDbtTranslator

translator = SegmentsDbtTranslator()

def _stream(dbt: DbtCliResource, context: dg.AssetExecutionContext, args: list[str], environment: dict[str, str]):
    with environment_set(environment):  # the resource starts dbt with a copy of this process's environment
        invocation = dbt.cli(args, context=context)
    return with_table_metadata(invocation.stream(), current_home().warehouse, context.assets_def.keys_by_output_name.__getitem__)

@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=PARTITIONED,
    name="dbt_daily_models",
    partitions_def=daily_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    first, last = partition_rebuild_window(current_home(), context.partition_time_window)  # + days late data corrected
    context.log.info(f"dbt window {first}..{last}")
    with permanent_failures(f"dbt build {first}..{last}"):
        yield from _stream(dbt, context, dbt_build_args(), dbt_window_environment(first, last))

@dbt_assets(
    manifest=dbt_project.manifest_path,
    exclude=PARTITIONED,
    name="dbt_reference_models",
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_reference_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    with permanent_failures("dbt build (reference models)"):
        yield from _stream(dbt, context, dbt_build_args(), dbt_window_environment())
