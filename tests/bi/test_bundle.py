"""Fast checks of the Superset bundle and provisioning logic (no Superset needed; runs in every test run).

The opt-in end-to-end test (test_superset.py) proves Superset accepts the bundle; these catch, in seconds,
a bundle that refers to itself wrongly or has drifted from the marts it reads (a renamed column in
segmentation/tables.py or ml/score.py fails here, not only in the opt-in run).
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from ml.score import score_specs
from segmentation.tables import ensure_tables

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "bi" / "superset" / "bundle"


def _load_provision():
    spec = importlib.util.spec_from_file_location("bi_superset_provision", REPO / "bi" / "superset" / "provision.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


provision = _load_provision()


def _load(folder: str) -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((BUNDLE / folder).rglob("*.yaml"))}


DATABASES, DATASETS, CHARTS, DASHBOARDS = _load("databases"), _load("datasets"), _load("charts"), _load("dashboards")


def _column_refs(query: dict) -> list[str]:
    refs = []
    for column in query.get("columns", []):
        refs.append(column["sqlExpression"] if isinstance(column, dict) else column)
    return refs


def test_bundle_references_resolve():
    [database] = DATABASES.values()
    assert database["sqlalchemy_uri"] == provision.SERVING_URI_TOKEN
    assert database["allow_dml"] is False
    datasets = {d["uuid"]: d for d in DATASETS.values()}
    assert all(d["database_uuid"] == database["uuid"] for d in datasets.values())
    assert len({c["uuid"] for c in CHARTS.values()}) == len(CHARTS) == 5

    for name, chart in CHARTS.items():
        assert chart["dataset_uuid"] in datasets, name
        assert chart["params"]["viz_type"] == chart["viz_type"], name
        dataset = datasets[chart["dataset_uuid"]]
        columns = {c["column_name"] for c in dataset["columns"]}
        saved_metrics = {m["metric_name"] for m in dataset.get("metrics", [])}
        [query] = chart["query_context"]["queries"]
        assert set(_column_refs(query)) <= columns, name
        labels = []
        for metric in query["metrics"]:
            if isinstance(metric, str):
                assert metric in saved_metrics, f"{name}: unknown saved metric {metric}"
                labels.append(metric)
            else:
                labels.append(metric["label"])
        assert query["metrics"] == chart["params"].get("metrics", []), f"{name}: params and query_context differ"
        for step in query.get("post_processing", []):
            if step["operation"] == "boxplot":
                assert step["options"]["metrics"] == labels, name
                assert step["options"]["groupby"] == chart["params"]["groupby"], name
            if step["operation"] == "pivot":
                assert set(step["options"]["aggregates"]) == set(labels), name


def test_dashboard_places_every_chart_once():
    [dashboard] = DASHBOARDS.values()
    placed = [node["meta"]["uuid"] for node in dashboard["position"].values()
              if isinstance(node, dict) and node.get("type") == "CHART"]
    assert sorted(placed) == sorted(c["uuid"] for c in CHARTS.values())
    position = dashboard["position"]
    for key, node in position.items():
        if isinstance(node, dict) and "children" in node:
            for child in node["children"]:
                assert child in position, f"{key} -> missing {child}"
    for node in position.values():
        if isinstance(node, dict) and node.get("type") == "ROW":
            assert sum(position[c]["meta"]["width"] for c in node["children"]) <= 12


def test_bundle_files_fill_the_uri_and_store_query_context_as_json(tmp_path):
    uri = provision.serving_uri(tmp_path / "serving" / "segments.duckdb")
    contents = provision.bundle_files(BUNDLE, uri)
    assert all(name.startswith(f"{provision.BUNDLE_ROOT}/") for name in contents)
    assert f"{provision.BUNDLE_ROOT}/metadata.yaml" in contents
    database = yaml.safe_load(contents[f"{provision.BUNDLE_ROOT}/databases/segments_serving.yaml"])
    assert database["sqlalchemy_uri"] == uri
    charts = [yaml.safe_load(text) for name, text in contents.items() if "/charts/" in name]
    assert len(charts) == len(CHARTS)
    for chart in charts:
        context = json.loads(chart["query_context"])
        assert context["queries"] and context["form_data"]["viz_type"] == chart["viz_type"]
        assert context["form_data"]["slice_name"] == chart["slice_name"]
    target = provision.write_bundle_zip(contents, tmp_path / "bundle.zip")
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == sorted(contents)


def test_serving_uri_is_absolute_read_only_and_closed_to_other_files(tmp_path):
    uri = provision.serving_uri(tmp_path / "x" / ".." / "segments.duckdb")
    assert uri == f"duckdb:///{(tmp_path / 'segments.duckdb').resolve()}?access_mode=read_only&enable_external_access=false"
    assert uri.startswith("duckdb:////")


def test_a_chart_without_query_context_is_refused():
    chart = dict(next(iter(CHARTS.values())))
    chart["query_context"] = None
    with pytest.raises(ValueError, match="no query_context"):
        provision.chart_with_query_context(chart, "x.yaml")
    exported = {**chart, "query_context": json.dumps({"queries": [{}]})}
    assert provision.chart_with_query_context(exported, "x.yaml") is exported  # an export's JSON string passes as is


def test_config_holds_no_secret_and_secrets_survive_reprovisioning(tmp_path):
    config = provision.write_config(tmp_path, 8099)
    secret = (tmp_path / provision.SECRET_FILE).read_text().strip()
    password = (tmp_path / provision.PASSWORD_FILE).read_text().strip()
    assert len(secret) >= 48 and len(password) >= 18
    for name in (provision.SECRET_FILE, provision.PASSWORD_FILE):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    text = config.read_text()
    assert secret not in text and password not in text
    namespace = {"__file__": str(config)}
    exec(compile(text, str(config), "exec"), namespace)  # the config Superset will import
    assert namespace["SECRET_KEY"] == secret
    assert namespace["WTF_CSRF_ENABLED"] is False
    assert namespace["SQLALCHEMY_DATABASE_URI"].startswith(f"sqlite:///{tmp_path}/superset.db")

    provision.write_config(tmp_path, 8099)
    assert (tmp_path / provision.SECRET_FILE).read_text().strip() == secret
    assert (tmp_path / provision.PASSWORD_FILE).read_text().strip() == password


# ---------------------------------------------------------------- datasets against the real marts shapes

DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


@pytest.fixture
def marts(tmp_path):
    """A tiny serving-shaped DuckDB: segment tables from segmentation.tables' DDL, customer_scores with the
    columns ml.score fills."""
    con = duckdb.connect(str(tmp_path / "segments.duckdb"))
    ensure_tables(con)
    outputs = [column for _, columns in score_specs() for column in columns]
    typed = ", ".join(f"{c} {'VARCHAR' if c == 'next_category' else 'DOUBLE'}" for c in outputs)
    con.execute(f"create table marts.customer_scores (customer_id VARCHAR, as_of_date DATE, {typed})")
    for day, sizes in ((DAY1, {"vip": 2, "at_risk": 1}), (DAY2, {"vip": 3})):
        for segment, size in sizes.items():
            con.execute("""insert into marts.segment_summary (as_of_date, segment, kind, size, entries, exits,
                           size_change_flag) values (?, ?, 'rule', ?, 1, 0, false)""", [day, segment, size])
    members = [(DAY1, "vip", "c1"), (DAY1, "vip", "c2"), (DAY1, "at_risk", "c3"),
               (DAY2, "vip", "c1"), (DAY2, "vip", "c2"), (DAY2, "vip", "007")]
    con.executemany("insert into marts.customer_segments values (?, ?, ?, 'rule', null)", [list(m) for m in members])
    for day in (DAY1, DAY2):
        for i, customer in enumerate(("c1", "c2", "c3")):  # "007" has no score row on DAY2
            con.execute(f"insert into marts.customer_scores (customer_id, as_of_date, p_purchase_30d, p_churn, "
                        f"expected_value_365d, discount_uplift) values (?, ?, {0.1 * i}, 0.2, {10 * i}, 0.01)",
                        [customer, day])
    yield con
    con.close()


def _source(dataset: dict) -> str:
    return f"({dataset['sql']})" if dataset.get("sql") else f"{dataset['schema']}.{dataset['table_name']}"


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_columns_and_metrics_match_the_marts(marts, name):
    dataset = DATASETS[name]
    described = marts.execute(f"describe select * from {_source(dataset)} as d").fetchall()
    actual = {row[0]: row[1] for row in described}
    declared = {c["column_name"]: c["type"] for c in dataset["columns"]}
    assert declared == actual, f"{name}: declared columns differ from what the marts return"
    assert dataset["main_dttm_col"] in actual and actual[dataset["main_dttm_col"]] == "DATE"
    for metric in dataset.get("metrics", []):
        marts.execute(f"select {metric['expression']} from {_source(dataset)} as d").fetchone()


def test_virtual_datasets_read_the_latest_day_only(marts):
    latest = DATASETS["segment_summary_latest.yaml"]
    rows = marts.execute(f"select as_of_date, segment, size from {_source(latest)} as d order by segment").fetchall()
    assert rows == [(DAY2, "vip", 3)]
    scores = DATASETS["segment_member_scores.yaml"]
    rows = marts.execute(f"select as_of_date, segment, customer_id, p_purchase_30d from {_source(scores)} as d "
                         "order by customer_id").fetchall()
    assert rows == [(DAY2, "vip", "c1", 0.0), (DAY2, "vip", "c2", 0.1)]  # 007: member without a score row
