"""exports.yml: which audiences every daily run exports. Validated with clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

CHANNELS = ("email", "push", "any")
FORMATS = ("csv", "parquet", "jsonl")
FIELDS = {"segment", "channel", "format", "control_share"}


@dataclass(frozen=True)
class AudienceExport:
    segment: str
    channel: str = "email"
    format: str = "csv"
    control_share: float = 0.1

    @property
    def asset_name(self) -> str:
        return f"{self.segment}__{self.channel}"


def parse_exports(data: dict | None, source: str = "exports.yml") -> list[AudienceExport]:
    entries = (data or {}).get("exports") or []
    if not isinstance(entries, list):
        raise ValueError(f"{source}: 'exports' must be a list")
    out, problems, seen = [], [], set()
    for i, entry in enumerate(entries):
        where = f"{source}: exports[{i}]"
        if not isinstance(entry, dict) or "segment" not in entry:
            problems.append(f"{where}: needs a 'segment'")
            continue
        unknown = set(entry) - FIELDS
        if unknown:
            problems.append(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(FIELDS)}")
        export = AudienceExport(str(entry["segment"]), str(entry.get("channel", "email")), str(entry.get("format", "csv")),
                                float(entry.get("control_share", 0.1)))
        if export.channel not in CHANNELS:
            problems.append(f"{where}: channel {export.channel!r} not in {CHANNELS}")
        if export.format not in FORMATS:
            problems.append(f"{where}: format {export.format!r} not in {FORMATS}")
        if not 0 <= export.control_share < 1:
            problems.append(f"{where}: control_share must be in [0, 1)")
        if export.asset_name in seen:
            problems.append(f"{where}: {export.segment} / {export.channel} is listed twice")
        seen.add(export.asset_name)
        out.append(export)
    if problems:
        raise ValueError("\n".join(problems))
    return out


def load_exports(path: Path) -> list[AudienceExport]:
    if not path.exists():
        return []
    return parse_exports(yaml.safe_load(path.read_text(encoding="utf-8")), source=path.name)
