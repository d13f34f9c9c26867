from decimal import Decimal

import duckdb
import pytest

from segmentation.columns import KNOWN_COLUMNS, ColumnInfo
from segmentation.compiler import CategoryMeasure, Decile, MissingInputError, RuleError, compile_rule
from segmentation.expression import RuleSyntaxError, parse_rule, tokenize


def sql(rule: str) -> str:
    return compile_rule(rule).sql


@pytest.mark.parametrize("rule, expected", [
    ("frequency = 2", '("frequency" = 2)'),
    ("frequency == 2", '("frequency" = 2)'),
    ("frequency != 2", '("frequency" <> 2)'),
    ("frequency <> 2", '("frequency" <> 2)'),
    ("frequency < 2", '("frequency" < 2)'),
    ("frequency <= 2.5", '("frequency" <= 2.5)'),
    ("frequency > -1", '("frequency" > (-1))'),
    ("frequency >= 0.25", '("frequency" >= 0.25)'),
    ("top_category = 'tech'", "(\"top_category\" = 'tech')"),
    ("email_opt_in", '"email_opt_in"'),
    ("email_opt_in = true", '("email_opt_in" = TRUE)'),
    ("email_opt_in != FALSE", '("email_opt_in" <> FALSE)'),
    ("country in ('DE', 'FR')", "(\"country\" IN ('DE', 'FR'))"),
    ("frequency not in (1, 2)", '("frequency" NOT IN (1, 2))'),
    ("p_churn is null", '("p_churn" IS NULL)'),
    ("p_churn IS NOT NULL", '("p_churn" IS NOT NULL)'),
    ("not email_opt_in", '(NOT "email_opt_in")'),
    ("frequency > 1 and recency_days < 30", '(("frequency" > 1) AND ("recency_days" < 30))'),
    ("frequency > 1 or recency_days < 30", '(("frequency" > 1) OR ("recency_days" < 30))'),
    # and binds tighter than or; parentheses override
    ("email_opt_in or push_opt_in and is_identified", '("email_opt_in" OR ("push_opt_in" AND "is_identified"))'),
    ("(email_opt_in or push_opt_in) and is_identified", '(("email_opt_in" OR "push_opt_in") AND "is_identified")'),
    ("not not email_opt_in", '(NOT (NOT "email_opt_in"))'),
    ("coalesce(frequency, 0) = 0", '(coalesce("frequency", 0) = 0)'),
    ("decile(p_churn) >= 9", '("decile__p_churn" >= 9)'),
    ("in_top_decile(expected_value_365d)", '("decile__expected_value_365d" = 10)'),
])
def test_every_operator_compiles_to_quoted_sql(rule, expected):
    assert sql(rule) == expected


def test_string_literal_quotes_are_doubled():
    assert sql("country = 'O''Brien'") == "(\"country\" = 'O''Brien')"


def test_category_functions_become_derived_columns():
    compiled = compile_rule("category_views('outerwear', 30) >= 3 and category_views('outerwear', 90) > 5 "
                            "and category_trend('tech') > 1.5")
    assert compiled.categories == {CategoryMeasure("outerwear", "views_30d"), CategoryMeasure("outerwear", "views_90d"),
                                   CategoryMeasure("tech", "trend_ratio")}
    assert '"cat__views_30d__' + "outerwear".encode().hex() + '" >= 3' in compiled.sql
    assert compile_rule("in_top_decile(monetary)").deciles == {Decile("monetary")}
    assert compile_rule("frequency > 1 and country = 'DE'").columns == {"frequency", "country"}


@pytest.mark.parametrize("rule, problem", [
    ("frequncy > 1", "unknown column 'frequncy' (did you mean 'frequency'?)"),
    ("frequency > 'a'", "cannot compare a number with a string"),
    ("top_category > 3", "cannot compare a string with a number"),
    ("email_opt_in > true", "does not apply to true/false"),
    ("country in ('DE', 1)", "cannot compare a string with a number"),
    ("frequency", "must be a condition"),
    ("frequency and email_opt_in", "'and' needs conditions"),
    ("not frequency", "'not' needs conditions"),
    ("category_views('tech', 14) > 1", "days must be one of 1, 7, 30, 90, got 14"),
    ("category_views('tech', 7.5) > 1", "days must be one of 1, 7, 30, 90, got 7.5"),
    ("category_view_share('tech', days) > 0.5", "days must be a number, one of 1, 7, 30, 90"),
    ("category_cart_adds('tech', 30) > 1", "days must be one of 7, 90, got 30"),
    ("category_views(top_category, 30) > 1", "category must be a non-empty quoted string"),
    ("category_views('tech') > 1", "takes 2 argument(s)"),
    ("category_trend('tech', 30) > 1", "takes 1 argument(s)"),
    ("decile(country) > 1", "needs a numeric column"),
    ("decile(1) > 1", "takes one numeric column"),
    ("sleep(5) > 1", "unknown function 'sleep'"),
    ("read_csv('x') > 1", "unknown function 'read_csv'"),
    ("coalesce(frequency) > 1", "at least two values"),
    ("customer_id = 'x'", "unknown column 'customer_id'"),
])
def test_semantic_errors_name_the_problem(rule, problem):
    with pytest.raises(RuleError, match=None) as info:
        compile_rule(rule)
    assert problem in str(info.value)


@pytest.mark.parametrize("rule, problem, position", [
    ("", "empty rule", 0),
    ("frequency >", "expected a literal, found end of rule", 11),
    ("frequency => 2", "expected a literal, found '>'", 11),
    ("(frequency > 1", "expected ')'", 14),
    ("frequency > 1)", "unexpected ')'", 13),
    ("p_churn is 1", "expected 'null' after 'is'", 11),
    ("p_churn = null", "null is not a value", 10),
    ("country not like 'x'", "expected 'in' after 'not'", 12),
    ("country = 'open", "unterminated string literal", 10),
    ("frequency > 1x", "malformed number", 12),
    ("frequency > 1.2.3", "malformed number", 12),
    ("frequency + 1 > 2", "unexpected character '+'", 10),
])
def test_syntax_errors_have_positions(rule, problem, position):
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(rule)
    assert problem in info.value.problem
    assert info.value.position == position


@pytest.mark.parametrize("rule", [
    "frequency > 1; drop table x",
    "'a' || (select 1) = 'a'",
    "frequency > 1 -- comment",
    "frequency > 1 /* comment */",
    "frequency > 1 union select * from x",
    "frequency > (select max(frequency) from marts.customer_features)",
    '"frequency" > 1',
    "frequency > 1 or 1 = 1; delete from marts.customer_features",
    "frequency::varchar = '1'",
    "frequency > 1 and country = E'\\x27'",
    "top_category = $1",
    "marts.customer_features.frequency > 1",
    "frequency > 1\x00",
    "country = 'x' collate nocase",
])
def test_injection_attempts_are_refused(rule):
    with pytest.raises((RuleSyntaxError, RuleError)):
        compile_rule(rule)


def test_sql_inside_a_string_literal_stays_a_string():
    rule = "country = 'x'' or 1=1; drop table marts.victim; --'"
    compiled = compile_rule(rule)
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.victim (country VARCHAR)")
    con.execute("insert into marts.victim values ('DE'), ('x'' or 1=1; drop table marts.victim; --')")
    rows = con.execute(f"select country from marts.victim where {compiled.sql}").fetchall()
    assert rows == [("x' or 1=1; drop table marts.victim; --",)]
    assert con.execute("select count(*) from marts.victim").fetchone()[0] == 2


def test_tokens_carry_parsed_values():
    tokens = tokenize("frequency >= 2.50 and country = 'D''E'")
    assert [t.kind for t in tokens] == ["ident", "op", "number", "keyword", "ident", "op", "string", "end"]
    assert tokens[2].value == Decimal("2.50") and tokens[6].value == "D'E"


def test_deep_nesting_is_bounded():
    with pytest.raises(RuleSyntaxError, match="nests deeper"):
        parse_rule("(" * 60 + "email_opt_in" + ")" * 60)


def test_known_but_absent_columns_are_missing_inputs_not_typos():
    present = {k: v for k, v in KNOWN_COLUMNS.items() if v.source == "features"}
    with pytest.raises(MissingInputError) as info:
        compile_rule("p_purchase_30d >= 0.6 and frequency > 1", present)
    assert info.value.missing == ["column 'p_purchase_30d' (scores)"]
    with pytest.raises(MissingInputError, match="customer_category_features"):
        compile_rule("category_views('tech', 30) > 1", present, category_available=False)
    with pytest.raises(RuleError, match="unknown column 'p_purchase_31d'"):
        compile_rule("p_purchase_31d >= 0.6", present)


def test_extra_warehouse_columns_are_allowed_with_their_type():
    catalogue = {**KNOWN_COLUMNS, "loyalty_tier": ColumnInfo("loyalty_tier", "string", "features")}
    assert compile_rule("loyalty_tier = 'gold'", catalogue).sql == "(\"loyalty_tier\" = 'gold')"
    with pytest.raises(RuleError, match="cannot compare"):
        compile_rule("loyalty_tier > 2", catalogue)
