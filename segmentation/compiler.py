"""Type-check a parsed rule against a column catalogue and emit DuckDB SQL from the AST (pure).

The SQL is a boolean expression over one row of the *segment base* relation built by
`membership.py`: one column per catalogue column (same name) plus derived columns named by
`Requirement.alias` (category and tag lookups, per-day deciles). Identifiers come only from the
catalogue and are always double-quoted; literals are re-emitted from their parsed value
(strings with quotes doubled, numbers from the digits the tokenizer accepted).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from segmentation.columns import BOOLEAN, KNOWN_COLUMNS, NUMBER, STRING, ColumnInfo
from segmentation.expression import (BoolOp, Call, Column, Compare, InList, IsNull, Literal, Node, Not,
                                     parse_rule)


class RuleError(ValueError):
    """A rule that can never work: unknown column or function, type mismatch, bad arguments."""

    def __init__(self, problem: str, position: int | None = None):
        super().__init__(problem if position is None else f"{problem} (at character {position})")
        self.problem = problem
        self.position = position


class MissingInputError(ValueError):
    """A valid rule whose inputs this warehouse does not have (yet): a table or a known column."""

    def __init__(self, missing: list[str]):
        super().__init__("needs inputs missing from the warehouse: " + "; ".join(missing))
        self.missing = missing


# category function -> (allowed window days, measure per days); 1 = the as-of day itself ("today")
CATEGORY_FUNCTIONS: dict[str, dict[int | None, str]] = {
    "category_views": {1: "views_1d", 7: "views_7d", 30: "views_30d", 90: "views_90d"},
    "category_cart_adds": {7: "cart_adds_7d", 90: "cart_adds_90d"},
    "category_orders": {90: "orders_90d"},
    "category_revenue": {90: "revenue_90d"},
    "category_view_share": {1: "share_of_views_1d", 7: "share_of_views_7d", 30: "share_of_views_30d",
                            90: "share_of_views_90d"},
    "category_trend": {None: "trend_ratio"},
}
# tag function -> (allowed window days, measure per days), read from marts.customer_tag_features
TAG_FUNCTIONS: dict[str, dict[int, str]] = {
    "tag_views": {1: "views_1d", 7: "views_7d", 30: "views_30d", 90: "views_90d"},
    "tag_orders": {90: "orders_90d"},
    "tag_view_share": {1: "share_of_views_1d", 7: "share_of_views_7d", 90: "share_of_views_90d"},
}
# Table columns each measure is read from (membership.py sums views_90d from the 30 + prior 60 days).
# A warehouse built before a measure existed lacks its column: a missing input, not a broken rule.
CATEGORY_MEASURE_COLUMNS: dict[str, tuple[str, ...]] = {
    measure: (measure,) for windows in CATEGORY_FUNCTIONS.values() for measure in windows.values()
} | {"views_90d": ("views_30d", "views_prior_60d")}
TAG_MEASURE_COLUMNS: dict[str, tuple[str, ...]] = {
    measure: (measure,) for windows in TAG_FUNCTIONS.values() for measure in windows.values()
}
FUNCTIONS = (*CATEGORY_FUNCTIONS, *TAG_FUNCTIONS, "decile", "in_top_decile", "coalesce")


@dataclass(frozen=True)
class CategoryMeasure:
    category: str
    measure: str  # a value of CATEGORY_FUNCTIONS, e.g. views_7d | share_of_views_1d | trend_ratio

    @property
    def alias(self) -> str:
        # The category is user text: hex keeps the column name a plain identifier.
        return f"cat__{self.measure}__{self.category.encode('utf-8').hex()}"


@dataclass(frozen=True)
class TagMeasure:
    tag: str  # trimmed, lower-case: the form marts.customer_tag_features stores
    measure: str  # a value of TAG_FUNCTIONS, e.g. views_7d | share_of_views_90d

    @property
    def alias(self) -> str:
        return f"tag__{self.measure}__{self.tag.encode('utf-8').hex()}"


@dataclass(frozen=True)
class Decile:
    column: str

    @property
    def alias(self) -> str:
        return f"decile__{self.column}"


@dataclass
class CompiledRule:
    sql: str
    columns: frozenset[str]
    categories: frozenset[CategoryMeasure]
    deciles: frozenset[Decile]
    tags: frozenset[TagMeasure] = frozenset()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    if "\x00" in value:
        raise RuleError("NUL character in string")
    return "'" + value.replace("'", "''") + "'"


def sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return f"({text})" if value < 0 else text
    if isinstance(value, str):
        return sql_string(value)
    raise RuleError(f"unsupported literal {value!r}")


def literal_type(value: object) -> str:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, Decimal):
        return NUMBER
    return STRING


@dataclass
class _Context:
    catalogue: dict[str, ColumnInfo]
    known: dict[str, ColumnInfo]
    category_available: bool
    tag_available: bool = True
    category_columns: frozenset[str] | None = None  # None: every measure's column is there
    tag_columns: frozenset[str] | None = None
    missing: list[str] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)
    categories: set[CategoryMeasure] = field(default_factory=set)
    deciles: set[Decile] = field(default_factory=set)
    tags: set[TagMeasure] = field(default_factory=set)


def compile_rule(rule: str | Node, catalogue: dict[str, ColumnInfo] | None = None,
                 known: dict[str, ColumnInfo] | None = None, category_available: bool = True,
                 tag_available: bool = True, category_columns: Collection[str] | None = None,
                 tag_columns: Collection[str] | None = None) -> CompiledRule:
    """Rule text or AST -> CompiledRule. `catalogue`: columns present (default: the known schema);
    `known`: columns that may legitimately be absent (missing input rather than typo);
    `category_available` / `tag_available`: the tables behind the category_* / tag_* functions exist;
    `category_columns` / `tag_columns`: their columns, when known (a measure whose column is absent,
    e.g. views_7d in a warehouse built before it existed, is a missing input).
    Raises RuleSyntaxError / RuleError for a broken rule, MissingInputError when inputs are absent."""
    catalogue = KNOWN_COLUMNS if catalogue is None else catalogue
    known = KNOWN_COLUMNS if known is None else known
    node = parse_rule(rule) if isinstance(rule, str) else rule
    ctx = _Context(catalogue, known, category_available, tag_available,
                   None if category_columns is None else frozenset(category_columns),
                   None if tag_columns is None else frozenset(tag_columns))
    sql, kind = _emit(node, ctx)
    if kind != BOOLEAN:
        raise RuleError(f"a rule must be a condition (true/false), this one is a {kind}", node.position)
    if ctx.missing:
        raise MissingInputError(sorted(set(ctx.missing)))
    return CompiledRule(sql, frozenset(ctx.columns), frozenset(ctx.categories), frozenset(ctx.deciles),
                        frozenset(ctx.tags))


def _emit(node: Node, ctx: _Context) -> tuple[str, str]:
    if isinstance(node, Literal):
        return sql_literal(node.value), literal_type(node.value)
    if isinstance(node, Column):
        return _column(node, ctx)
    if isinstance(node, Call):
        return _call(node, ctx)
    if isinstance(node, Compare):
        left, lt = _emit(node.left, ctx)
        right, rt = _emit(node.right, ctx)
        _comparable(lt, rt, node)
        if lt == BOOLEAN and node.op not in ("=", "!="):
            raise RuleError(f"'{node.op}' does not apply to true/false values", node.position)
        op = "<>" if node.op == "!=" else node.op
        return f"({left} {op} {right})", BOOLEAN
    if isinstance(node, InList):
        operand, kind = _emit(node.operand, ctx)
        values = []
        for value in node.values:
            _comparable(kind, literal_type(value.value), value)
            values.append(sql_literal(value.value))
        keyword = "NOT IN" if node.negated else "IN"
        return f"({operand} {keyword} ({', '.join(values)}))", BOOLEAN
    if isinstance(node, IsNull):
        operand, _ = _emit(node.operand, ctx)
        return f"({operand} IS {'NOT ' if node.negated else ''}NULL)", BOOLEAN
    if isinstance(node, BoolOp):
        parts = [_boolean(operand, ctx, node.op) for operand in node.operands]
        return "(" + f" {node.op.upper()} ".join(parts) + ")", BOOLEAN
    if isinstance(node, Not):
        return f"(NOT {_boolean(node.operand, ctx, 'not')})", BOOLEAN
    raise RuleError(f"unsupported expression {type(node).__name__}")


def _boolean(node: Node, ctx: _Context, word: str) -> str:
    sql, kind = _emit(node, ctx)
    if kind != BOOLEAN:
        raise RuleError(f"'{word}' needs conditions, got a {kind}", node.position)
    return sql


def _comparable(left: str, right: str, node: Node) -> None:
    if left != right or left not in (NUMBER, STRING, BOOLEAN):
        raise RuleError(f"type mismatch: cannot compare a {left} with a {right}", node.position)


def _column(node: Column, ctx: _Context) -> tuple[str, str]:
    info = ctx.catalogue.get(node.name)
    if info is None:
        info = ctx.known.get(node.name)
        if info is None:
            hint = difflib.get_close_matches(node.name, [*ctx.catalogue, *ctx.known], n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise RuleError(f"unknown column '{node.name}'{extra}", node.position)
        ctx.missing.append(f"column '{node.name}' ({info.source})")
    ctx.columns.add(node.name)
    return quote_ident(node.name), info.type


def _call(node: Call, ctx: _Context) -> tuple[str, str]:
    if node.name in CATEGORY_FUNCTIONS:
        return _category_call(node, ctx)
    if node.name in TAG_FUNCTIONS:
        return _tag_call(node, ctx)
    if node.name in ("decile", "in_top_decile"):
        if len(node.args) != 1 or not isinstance(node.args[0], Column):
            raise RuleError(f"{node.name}() takes one numeric column", node.position)
        _, kind = _column(node.args[0], ctx)
        if kind != NUMBER:
            raise RuleError(f"{node.name}() needs a numeric column, '{node.args[0].name}' is a {kind}", node.position)
        decile = Decile(node.args[0].name)
        ctx.deciles.add(decile)
        if node.name == "decile":
            return quote_ident(decile.alias), NUMBER
        return f"({quote_ident(decile.alias)} = 10)", BOOLEAN
    if node.name == "coalesce":
        if len(node.args) < 2:
            raise RuleError("coalesce() takes at least two values", node.position)
        parts = [_emit(arg, ctx) for arg in node.args]
        for _, kind in parts[1:]:
            _comparable(parts[0][1], kind, node)
        return "coalesce(" + ", ".join(sql for sql, _ in parts) + ")", parts[0][1]
    hint = difflib.get_close_matches(node.name, FUNCTIONS, n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else f"; available: {', '.join(FUNCTIONS)}"
    raise RuleError(f"unknown function '{node.name}'{extra}", node.position)


def _lookup_args(node: Call, windows: dict, noun: str) -> tuple[str, int | None]:
    """('name' literal, days) of a category_* / tag_* call; only literals are accepted, so the
    value is data (compared as a string, hex-encoded in the alias), never SQL."""
    takes_days = None not in windows
    expected = 2 if takes_days else 1
    usage = f"{node.name}('{noun}'{', days' if takes_days else ''})"
    if len(node.args) != expected:
        raise RuleError(f"{node.name}() takes {expected} argument(s): {usage}", node.position)
    name = node.args[0]
    if not isinstance(name, Literal) or not isinstance(name.value, str) or not name.value.strip():
        raise RuleError(f"{node.name}(): the {noun} must be a non-empty quoted string, e.g. {usage}", node.position)
    days: int | None = None
    if takes_days:
        arg = node.args[1]
        allowed = ", ".join(str(d) for d in windows)
        if not isinstance(arg, Literal) or literal_type(arg.value) != NUMBER:
            raise RuleError(f"{node.name}(): days must be a number, one of {allowed}", node.position)
        if arg.value != int(arg.value) or int(arg.value) not in windows:
            raise RuleError(f"{node.name}(): days must be one of {allowed}, got {format(arg.value, 'f')} "
                            "(the windows the feature marts compute)", node.position)
        days = int(arg.value)
    return name.value, days


def _category_call(node: Call, ctx: _Context) -> tuple[str, str]:
    windows = CATEGORY_FUNCTIONS[node.name]
    category, days = _lookup_args(node, windows, "category")
    if not ctx.category_available:
        ctx.missing.append("table marts.customer_category_features")
    elif ctx.category_columns is not None:
        ctx.missing += [f"column '{c}' of marts.customer_category_features (rebuild it with the current dbt project)"
                        for c in CATEGORY_MEASURE_COLUMNS[windows[days]] if c not in ctx.category_columns]
    measure = CategoryMeasure(category, windows[days])
    ctx.categories.add(measure)
    return quote_ident(measure.alias), NUMBER


def _tag_call(node: Call, ctx: _Context) -> tuple[str, str]:
    windows = TAG_FUNCTIONS[node.name]
    tag, days = _lookup_args(node, windows, "tag")
    if not ctx.tag_available:
        ctx.missing.append("table marts.customer_tag_features")
    elif ctx.tag_columns is not None:
        ctx.missing += [f"column '{c}' of marts.customer_tag_features (rebuild it with the current dbt project)"
                        for c in TAG_MEASURE_COLUMNS[windows[days]] if c not in ctx.tag_columns]
    # Tags are stored trimmed and lower-case, so 'Eco-Friendly ' finds 'eco-friendly'.
    measure = TagMeasure(tag.strip().lower(), windows[days])
    ctx.tags.add(measure)
    return quote_ident(measure.alias), NUMBER
