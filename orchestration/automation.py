"""Which assets follow their inputs (an AutomationCondition) instead of a job or an extra schedule."""

from __future__ import annotations

import dagster as dg

FOLLOW_INPUTS = dg.AutomationCondition.eager()


def follows_inputs(spec: dg.AssetSpec) -> bool:
    """Audience exports (today's partition, after each micro-batch refreshes the segments) and the
    unpartitioned dimension models (after new customer, product or campaign files are loaded)."""
    layer = spec.key.path[0]
    if layer == "exports":
        return True
    return spec.partitions_def is None and layer in ("staging", "intermediate", "marts")


def with_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.automation_condition is None and follows_inputs(spec):
        return spec.replace_attributes(automation_condition=FOLLOW_INPUTS)
    return spec
