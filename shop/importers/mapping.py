"""Declarative import mappings: parse and check a mapping YAML (format: mappings/README.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from shop import reasons as R
from shop.contract import EVENTS, TABLES
from shop.readers import ReadOptions

MAPPINGS_DIR = Path(__file__).parent / "mappings"
SOURCE_TYPES = {"string": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "timestamp": pl.Datetime}
UNIQUE_MODES = ("row_order", "distinct_content")
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


class MappingError(ValueError):
    """A mapping file that cannot be used (unknown key, bad expression, unknown reason, ...)."""


@dataclass(frozen=True)
class FieldSpec:
    """How one output column is computed from the source row. Exactly one of column/const/template/sql."""

    target: str
    column: str | None = None
    const: Any = None
    template: str | None = None
    sql: str | None = None
    value_map: dict[str, Any] | None = None
    unmapped: str = "keep"  # keep | null
    formats: tuple[str, ...] = ()
    timezone: str = "UTC"
    unique: str | None = None

    @property
    def source_columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        if self.template is not None:
            return TEMPLATE_FIELD.findall(self.template)
        return []


@dataclass(frozen=True)
class TypeSpec:
    column: str
    dtype: pl.DataType
    reason: str


@dataclass(frozen=True)
class RuleSpec:
    when: str
    reason: str


@dataclass(frozen=True)
class Mapping:
    name: str
    description: str
    read: ReadOptions
    required: tuple[str, ...]
    types: tuple[TypeSpec, ...]
    rules: tuple[RuleSpec, ...]
    events: tuple[FieldSpec, ...]
    dimensions: dict[str, tuple[FieldSpec, ...]] = field(default_factory=dict)
    source: str = ""

    @property
    def required_columns(self) -> list[str]:
        """Source columns a file must have: the declared ones plus those named by column/template/types."""
        out = list(self.required)
        for spec in (*self.events, *(f for fields in self.dimensions.values() for f in fields)):
            out.extend(spec.source_columns)
        out.extend(t.column for t in self.types)
        return list(dict.fromkeys(out))


def shipped_mappings() -> list[str]:
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.yml"))


def load_mapping(mapping: str | Path) -> Mapping:
    """A shipped mapping by name (see shipped_mappings()) or a path to a YAML mapping file."""
    candidate = MAPPINGS_DIR / f"{mapping}.yml"
    path = candidate if isinstance(mapping, str) and candidate.is_file() else Path(mapping)
    if not path.is_file():
        raise MappingError(f"no mapping {mapping!r}: not a shipped mapping {shipped_mappings()} nor a file")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise MappingError(f"{path}: a mapping must be a YAML object")
    return parse_mapping(doc, default_name=path.stem, source=str(path))


def _keys(where: str, obj: Any, allowed: set[str]) -> dict:
    if not isinstance(obj, dict):
        raise MappingError(f"{where}: expected an object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return obj


def _check_sql(where: str, text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise MappingError(f"{where}: expected an SQL expression string")
    try:
        pl.sql_expr(text)
    except Exception as exc:  # polars raises several error types for bad SQL
        raise MappingError(f"{where}: invalid SQL expression {text!r}: {exc}") from exc
    return text


def _check_reason(where: str, reason: Any) -> str:
    if not isinstance(reason, str) or not R.is_known(reason):
        raise MappingError(f"{where}: reason {reason!r} is not in shop.reasons.QUARANTINE_REASONS")
    return reason


def _field(where: str, target: str, spec: Any) -> FieldSpec:
    if not isinstance(spec, dict):
        spec = {"column": spec} if isinstance(spec, str) else {"const": spec}
    spec = _keys(where, spec, {"column", "const", "template", "sql", "map", "unmapped", "format", "timezone", "unique"})
    sources = [k for k in ("column", "const", "template", "sql") if k in spec]
    if len(sources) != 1:
        raise MappingError(f"{where}: give exactly one of column, const, template, sql (got {sources or 'none'})")
    value_map = spec.get("map")
    if value_map is not None and not isinstance(value_map, dict):
        raise MappingError(f"{where}: map must be an object of from: to")
    unmapped = spec.get("unmapped", "keep")
    unmapped = "null" if unmapped is None else unmapped
    if unmapped not in ("keep", "null"):
        raise MappingError(f"{where}: unmapped must be keep or null")
    formats = spec.get("format", ())
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unique = spec.get("unique")
    if unique is not None and unique not in UNIQUE_MODES:
        raise MappingError(f"{where}: unique must be one of {UNIQUE_MODES}")
    if "template" in spec and not TEMPLATE_FIELD.findall(str(spec["template"])):
        raise MappingError(f"{where}: template names no {{column}}")
    return FieldSpec(
        target=target,
        column=spec.get("column"),
        const=spec.get("const"),
        template=spec.get("template"),
        sql=_check_sql(where, spec["sql"]) if "sql" in spec else None,
        value_map={str(k): v for k, v in value_map.items()} if value_map else None,
        unmapped=unmapped,
        formats=formats,
        timezone=str(spec.get("timezone", "UTC")),
        unique=unique,
    )


def _fields(where: str, table: str, obj: Any) -> tuple[FieldSpec, ...]:
    obj = _keys(where, obj, set(TABLES[table].names))
    fields = tuple(_field(f"{where}.{target}", target, spec) for target, spec in obj.items())
    missing = [c for c in TABLES[table].key if c not in obj]
    if missing:
        raise MappingError(f"{where}: must map the key column(s) {missing}")
    return fields


def parse_mapping(doc: dict, default_name: str = "mapping", source: str = "") -> Mapping:
    doc = _keys("mapping", doc, {"name", "description", "input", "types", "quarantine", "events", "dimensions"})
    name = str(doc.get("name", default_name))
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise MappingError(f"mapping name {name!r}: use letters, digits, _ . - only (it goes into file names)")
    inp = _keys(
        "input",
        doc.get("input", {}),
        {"format", "delimiter", "header", "columns", "encoding", "null_values", "quote_char", "required"},
    )
    read = ReadOptions(
        format=inp.get("format"),
        delimiter=str(inp.get("delimiter", ",")),
        header=bool(inp.get("header", True)),
        columns=tuple(inp["columns"]) if inp.get("columns") else None,
        encoding=str(inp.get("encoding", "utf-8")),
        null_values=tuple(str(v) for v in inp.get("null_values", ())),
        quote_char=inp.get("quote_char", '"'),
    )
    types_doc = doc.get("types") or {}
    if not isinstance(types_doc, dict):
        raise MappingError("types: expected an object of column: {type, reason}")
    types = []
    for col, spec in types_doc.items():
        where = f"types.{col}"
        spec = _keys(where, spec, {"type", "reason"})
        if spec.get("type") not in SOURCE_TYPES:
            raise MappingError(f"{where}: type must be one of {sorted(SOURCE_TYPES)}")
        types.append(TypeSpec(col, SOURCE_TYPES[spec["type"]], _check_reason(where, spec.get("reason"))))
    rules = []
    for i, rule in enumerate(doc.get("quarantine") or []):
        where = f"quarantine[{i}]"
        rule = _keys(where, rule, {"when", "reason"})
        rules.append(RuleSpec(_check_sql(f"{where}.when", rule.get("when")), _check_reason(where, rule.get("reason"))))
    if "events" not in doc:
        raise MappingError("mapping: an events section is required")
    events = _fields("events", "events", doc["events"])
    for required in EVENTS.required:
        if required not in {f.target for f in events}:
            raise MappingError(f"events: must map the required column {required}")
    dimensions = {}
    for table, fields in (doc.get("dimensions") or {}).items():
        if table not in TABLES or table == "events":
            raise MappingError(f"dimensions.{table}: not a dimension table ({[t for t in TABLES if t != 'events']})")
        dimensions[table] = _fields(f"dimensions.{table}", table, fields)
    return Mapping(
        name=name,
        description=str(doc.get("description", "")).strip(),
        read=read,
        required=tuple(inp.get("required", ())),
        types=tuple(types),
        rules=tuple(rules),
        events=events,
        dimensions=dimensions,
        source=source,
    )
