from pathlib import Path

import pytest

from segmentation.columns import KNOWN_COLUMNS
from segmentation.compiler import compile_rule
from segmentation.rules import SegmentConfigError, Settings, load_segments, parse_segments, plan_segments

REPO = Path(__file__).resolve().parents[2]
STARTER = {"repeat_buyers", "first_time_visitors", "cart_abandoners", "price_sensitive_shoppers", "premium_buyers",
           "browses_a_lot_buys_rarely", "high_intent_winter_shoppers", "high_intent_tech_shoppers", "churn_risk",
           "lapsed", "likely_discount_responders", "high_predicted_ltv", "mobile_first", "eco_friendly_interest",
           *(f"browsing_{c}_now" for c in ("tech", "fashion", "outerwear", "home", "beauty", "sports", "premium",
                                           "eco_friendly"))}


def segment(**fields) -> dict:
    return {"name": "s", "description": "d", "owner": "o", "rule": "frequency >= 2", **fields}


def problems(yaml_text: str) -> list[str]:
    with pytest.raises(SegmentConfigError) as info:
        parse_segments(yaml_text)
    return info.value.problems


def yaml_of(*segments: dict, settings: dict | None = None) -> str:
    import yaml
    return yaml.safe_dump({"version": 1, **({"settings": settings} if settings else {}), "segments": list(segments)})


def test_starter_segments_load_and_compile_against_the_known_columns():
    config = load_segments(REPO / "segments.yml")
    assert set(config.names()) == STARTER
    for definition in config.segments:
        compiled = compile_rule(definition.rule, KNOWN_COLUMNS)
        assert compiled.columns or compiled.categories or compiled.tags, definition.name
    assert config.settings.missing_inputs == "skip"


def test_valid_file_gives_definitions_and_settings():
    config = parse_segments(yaml_of(segment(name="a", channels=["email"]), segment(name="b"),
                                    settings={"missing_inputs": "skip", "size_change_threshold": 0.5}))
    assert config.names() == ["a", "b"]
    assert config.segments[0].channels == ("email",)
    assert config.settings == Settings(missing_inputs="skip", size_change_threshold=0.5)


@pytest.mark.parametrize("entry, problem", [
    (segment(colour="red"), "segment 's': unknown field 'colour'"),
    (segment(rule="frequncy >= 2"), "segment 's': rule 'frequncy >= 2': unknown column 'frequncy'"),
    (segment(rule="frequency => 2"), "segment 's': rule 'frequency => 2': expected a literal, found '>'"),
    (segment(rule="frequency >= 'two'"), "type mismatch: cannot compare a number with a string"),
    (segment(rule="frequency > 1; drop table x"), "unexpected character ';'"),
    (segment(name="Repeat Buyers"), "segment 'Repeat Buyers': name must be snake_case"),
    (segment(name="cluster_vip"), "reserved for behavioural clusters"),
    (segment(owner=""), "segment 's': 'owner' is required"),
    (segment(rule=5), "segment 's': 'rule' is required and must be a non-empty string"),
    (segment(channels=["carrier_pigeon"]), "unknown channel 'carrier_pigeon'"),
    ({"description": "d", "owner": "o", "rule": "frequency > 1"}, "segment #1: 'name' is required"),
])
def test_each_problem_names_the_segment(entry, problem):
    found = problems(yaml_of(entry))
    assert any(problem in p for p in found), found


def test_duplicate_names_and_all_problems_are_reported_together():
    found = problems(yaml_of(segment(name="a"), segment(name="a"), segment(name="b", rule="nope > 1")))
    assert found == ["segment 'a': duplicate name (entries 1 and 2)",
                     "segment 'b': rule 'nope > 1': unknown column 'nope' (at character 0)"]


@pytest.mark.parametrize("settings, problem", [
    ({"missing_inputs": "ignore"}, "missing_inputs must be 'fail' or 'skip'"),
    ({"size_change_threshold": -1}, "size_change_threshold must be a number >= 0"),
    ({"size_change_min_size": 2.5}, "size_change_min_size must be a whole number"),
    ({"clusters": "yes"}, "clusters must be true or false"),
    ({"colour": 1}, "settings: unknown field 'colour'"),
])
def test_settings_are_validated(settings, problem):
    assert any(problem in p for p in problems(yaml_of(segment(), settings=settings)))


@pytest.mark.parametrize("text, problem", [
    ("segments: []", "'segments' must be a non-empty list"),
    ("[1, 2]", "must be a mapping"),
    ("segments: [\n  - {name: a", "not valid YAML"),
    ("version: 2\nsegments: [{name: a, description: d, owner: o, rule: frequency > 1}]", "unsupported version 2"),
    ("segmnts: []", "unknown top-level field 'segmnts'"),
])
def test_file_level_errors(text, problem):
    assert any(problem in p for p in problems(text))


def test_missing_inputs_fail_or_skip_per_policy():
    features_only = {k: v for k, v in KNOWN_COLUMNS.items() if v.source == "features"}
    entries = (segment(name="buyers"), segment(name="likely", rule="p_purchase_30d >= 0.6 and frequency > 0"))
    with pytest.raises(SegmentConfigError) as info:
        plan_segments(parse_segments(yaml_of(*entries)), features_only, category_available=True)
    assert len(info.value.problems) == 1
    assert "segment 'likely': needs inputs missing from the warehouse: column 'p_purchase_30d' (scores)" \
        in info.value.problems[0]
    planned = plan_segments(parse_segments(yaml_of(*entries, settings={"missing_inputs": "skip"})),
                            features_only, category_available=True)
    assert [(p.definition.name, p.compiled is not None) for p in planned] == [("buyers", True), ("likely", False)]
    assert "p_purchase_30d" in planned[1].skip_reason
