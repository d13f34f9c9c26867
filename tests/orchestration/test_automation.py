"""Which assets follow their inputs through an AutomationCondition."""

import dagster as dg

from orchestration.automation import FOLLOW_INPUTS, follows_inputs, with_automation

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)


def test_exports_and_unpartitioned_dimension_models_follow_their_inputs():
    assert follows_inputs(dg.AssetSpec(["exports", "cart_abandoners__email"], partitions_def=DAILY))
    assert follows_inputs(dg.AssetSpec(["staging", "stg_products"]))
    assert follows_inputs(dg.AssetSpec(["intermediate", "int_product_tags"]))


def test_the_daily_path_and_training_do_not():
    assert not follows_inputs(dg.AssetSpec(["marts", "customer_features"], partitions_def=DAILY))
    assert not follows_inputs(dg.AssetSpec(["models", "churn_risk"], partitions_def=DAILY))
    assert not follows_inputs(dg.AssetSpec(["lake", "customers"]))  # its input is an external landing file
    assert not follows_inputs(dg.AssetSpec(["serving", "bi_copy"], partitions_def=DAILY))


def test_with_automation_sets_eager_and_keeps_a_condition_already_chosen():
    assert with_automation(dg.AssetSpec(["staging", "stg_products"])).automation_condition == FOLLOW_INPUTS
    own = dg.AutomationCondition.on_cron("0 3 * * *")
    assert with_automation(dg.AssetSpec(["exports", "x"], automation_condition=own)).automation_condition == own
    assert with_automation(dg.AssetSpec(["marts", "customer_features"], partitions_def=DAILY)).automation_condition is None
