"""Evaluates the assets' AutomationConditions (orchestration/automation.py) while the daemon runs."""

import dagster as dg

follow_inputs_sensor = dg.AutomationConditionSensorDefinition(
    "follow_inputs",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes assets whose inputs changed: audience exports after a micro-batch, dimension models after new dimension files.",
)
