"""Segment definitions from YAML: load, validate (every problem, each naming its segment) and compile.

File shape (see segments.yml at the repository root):

    version: 1
    settings:            # all optional
      missing_inputs: fail | skip      # rule needs a table/column the warehouse lacks
      max_score_age_days: 7            # use the latest score/cluster snapshot at most this old
      clusters: true                   # one segment per behavioural cluster
      size_change_threshold: 0.25      # summary flag: |size - previous| / previous beyond this
      size_change_min_size: 50         # ... only when the segment has at least this many members
    segments:
      - name: repeat_buyers            # snake_case, unique, not starting with 'cluster_'
        description: ...
        owner: ...
        rule: frequency >= 2
        channels: [email, push]        # optional hints for activation
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from segmentation.columns import KNOWN_COLUMNS, ColumnInfo
from segmentation.compiler import CompiledRule, MissingInputError, RuleError, compile_rule
from segmentation.expression import RuleSyntaxError, parse_rule

SEGMENT_FIELDS = {"name", "description", "owner", "rule", "channels"}
REQUIRED_FIELDS = ("name", "description", "owner", "rule")
SETTINGS_FIELDS = {"missing_inputs", "max_score_age_days", "clusters", "size_change_threshold", "size_change_min_size"}
TOP_FIELDS = {"version", "settings", "segments"}
CHANNELS = ("email", "push", "sms", "onsite", "paid_social", "paid_search", "display", "direct_mail")
CLUSTER_PREFIX = "cluster_"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MAX_NAME_LENGTH = 63


class SegmentConfigError(ValueError):
    """Every problem found in a segment file, one line each, naming the segment."""

    def __init__(self, problems: list[str], source: str = "segments"):
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    missing_inputs: str = "fail"
    max_score_age_days: int = 7
    clusters: bool = True
    size_change_threshold: float = 0.25
    size_change_min_size: int = 50


@dataclass(frozen=True)
class SegmentDefinition:
    name: str
    description: str
    owner: str
    rule: str
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class SegmentConfig:
    segments: tuple[SegmentDefinition, ...]
    settings: Settings = field(default_factory=Settings)

    def names(self) -> list[str]:
        return [s.name for s in self.segments]


@dataclass(frozen=True)
class PlannedSegment:
    """A definition resolved against one warehouse: compiled, or skipped with the reason."""

    definition: SegmentDefinition
    compiled: CompiledRule | None
    skip_reason: str | None = None


def load_segments(path: str | Path, catalogue: dict[str, ColumnInfo] | None = None) -> SegmentConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SegmentConfigError([f"cannot read {path}: {exc}"], str(path)) from exc
    return parse_segments(text, catalogue, source=str(path))


def parse_segments(text: str, catalogue: dict[str, ColumnInfo] | None = None, source: str = "segments") -> SegmentConfig:
    """Validate YAML text into a SegmentConfig. Rules are type-checked against `catalogue` (default:
    the known mart schema; pass `warehouse_catalogue(con) | KNOWN_COLUMNS` to admit a shop's extra columns)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SegmentConfigError([f"not valid YAML: {exc}"], source) from exc
    if not isinstance(data, dict):
        raise SegmentConfigError(["the file must be a mapping with a 'segments' list"], source)
    problems: list[str] = []
    for key in sorted(set(data) - TOP_FIELDS, key=str):
        problems.append(f"unknown top-level field '{key}' (allowed: {', '.join(sorted(TOP_FIELDS))})")
    if data.get("version", 1) != 1:
        problems.append(f"unsupported version {data.get('version')!r} (this code reads version 1)")
    settings = _settings(data.get("settings") or {}, problems)
    raw = data.get("segments")
    if not isinstance(raw, list) or not raw:
        problems.append("'segments' must be a non-empty list")
        raw = []
    segments: list[SegmentDefinition] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        definition = _segment(entry, index, catalogue, problems)
        if definition is None:
            continue
        if definition.name in seen:
            problems.append(f"segment '{definition.name}': duplicate name (entries {seen[definition.name] + 1} and {index + 1})")
            continue
        seen[definition.name] = index
        segments.append(definition)
    if problems:
        raise SegmentConfigError(problems, source)
    return SegmentConfig(tuple(segments), settings)


def _settings(raw: object, problems: list[str]) -> Settings:
    if not isinstance(raw, dict):
        problems.append("'settings' must be a mapping")
        return Settings()
    for key in sorted(set(raw) - SETTINGS_FIELDS, key=str):
        problems.append(f"settings: unknown field '{key}' (allowed: {', '.join(sorted(SETTINGS_FIELDS))})")
    defaults = Settings()
    values = {}
    policy = raw.get("missing_inputs", defaults.missing_inputs)
    if policy not in ("fail", "skip"):
        problems.append(f"settings: missing_inputs must be 'fail' or 'skip', got {policy!r}")
    else:
        values["missing_inputs"] = policy
    for key, kind, low in (("max_score_age_days", int, 0), ("size_change_min_size", int, 0),
                           ("size_change_threshold", float, 0)):
        value = raw.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)) \
                or value < low:
            problems.append(f"settings: {key} must be a {'whole ' if kind is int else ''}number >= {low}, got {value!r}")
        else:
            values[key] = kind(value)
    clusters = raw.get("clusters", defaults.clusters)
    if not isinstance(clusters, bool):
        problems.append(f"settings: clusters must be true or false, got {clusters!r}")
    else:
        values["clusters"] = clusters
    return Settings(**values)


def _segment(entry: object, index: int, catalogue, problems: list[str]) -> SegmentDefinition | None:
    if not isinstance(entry, dict):
        problems.append(f"segment #{index + 1}: must be a mapping with name, description, owner, rule")
        return None
    name = entry.get("name")
    label = f"segment '{name}'" if isinstance(name, str) and name else f"segment #{index + 1}"
    before = len(problems)
    for key in sorted(set(entry) - SEGMENT_FIELDS, key=str):
        problems.append(f"{label}: unknown field '{key}' (allowed: {', '.join(sorted(SEGMENT_FIELDS))})")
    for key in REQUIRED_FIELDS:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{label}: '{key}' is required and must be a non-empty string")
    if isinstance(name, str) and name:
        if not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH:
            problems.append(f"{label}: name must be snake_case (a-z, 0-9, single underscores, "
                            f"starting with a letter, at most {MAX_NAME_LENGTH} characters)")
        elif name.startswith(CLUSTER_PREFIX):
            problems.append(f"{label}: names starting with '{CLUSTER_PREFIX}' are reserved for behavioural clusters")
    channels = entry.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        problems.append(f"{label}: channels must be a list of names")
        channels = []
    for channel in channels:
        if channel not in CHANNELS:
            problems.append(f"{label}: unknown channel '{channel}' (known: {', '.join(CHANNELS)})")
    rule = entry.get("rule")
    if isinstance(rule, str) and rule.strip():
        try:
            # Missing inputs are fine here: whether they are present is decided per warehouse at build time.
            compile_rule(rule, catalogue if catalogue is not None else KNOWN_COLUMNS, KNOWN_COLUMNS)
        except MissingInputError:
            pass
        except (RuleSyntaxError, RuleError) as exc:
            problems.append(f"{label}: rule {rule!r}: {exc}")
    if len(problems) > before:
        return None
    return SegmentDefinition(name, entry["description"].strip(), entry["owner"].strip(), rule.strip(), tuple(channels))


def plan_segments(config: SegmentConfig, catalogue: dict[str, ColumnInfo], category_available: bool,
                  tag_available: bool = True, category_columns: Collection[str] | None = None,
                  tag_columns: Collection[str] | None = None) -> list[PlannedSegment]:
    """Compile every segment against one warehouse. Missing inputs: raise (policy 'fail', all
    offending segments listed) or skip with the reason (policy 'skip'). Broken rules always raise.
    `category_columns` / `tag_columns`: the category / tag marts' columns (None: all of them)."""
    planned: list[PlannedSegment] = []
    problems: list[str] = []
    for definition in config.segments:
        try:
            compiled = compile_rule(parse_rule(definition.rule), catalogue, KNOWN_COLUMNS, category_available,
                                    tag_available, category_columns, tag_columns)
            planned.append(PlannedSegment(definition, compiled))
        except MissingInputError as exc:
            if config.settings.missing_inputs == "skip":
                planned.append(PlannedSegment(definition, None, str(exc)))
            else:
                problems.append(f"segment '{definition.name}': {exc} "
                                "(build the missing models, or set settings.missing_inputs: skip)")
        except (RuleSyntaxError, RuleError) as exc:
            problems.append(f"segment '{definition.name}': rule {definition.rule!r}: {exc}")
    if problems:
        raise SegmentConfigError(problems, "segments against this warehouse")
    return planned
