"""How dbt nodes appear in Dagster: keys by schema, groups by layer, lake sources mapped to the loader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


def asset_key_for(resource_props: Mapping[str, Any]) -> dg.AssetKey:
    """Sources keep their source name as prefix (lake/events); models use their schema (marts/...)."""
    if resource_props["resource_type"] == "source":
        return dg.AssetKey([resource_props["source_name"], resource_props["name"]])
    schema = resource_props.get("config", {}).get("schema") or resource_props.get("schema") or "main"
    alias = resource_props.get("alias") or resource_props["name"]
    return dg.AssetKey([schema, alias])


def group_for(resource_props: Mapping[str, Any]) -> str:
    if resource_props["resource_type"] == "source":
        return "ingest"
    fqn = resource_props.get("fqn", [])
    layer = fqn[1] if len(fqn) > 2 else "models"
    return {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}.get(layer, "models")


class SegmentsDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=False))

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        return spec.replace_attributes(key=asset_key_for(props), group_name=group_for(props))
