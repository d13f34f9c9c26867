"""The landing sensor's cursor logic, its run requests, and what the micro_batch job it starts selects."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration.defs.ingest.sensors import (
    changed_files,
    decide,
    decode_cursor,
    encode_cursor,
    landing_events_sensor,
    run_key,
    scan_folder,
    utc_today,
)
from shop.home import Home

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 23)


def _write(path: Path, text: str, mtime_ns: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def test_scan_day_lists_delivered_files_with_size_and_mtime_and_skips_what_the_loader_skips(tmp_path):
    _write(tmp_path / "a.parquet", "12345", mtime_ns=1_000_000_000)
    _write(tmp_path / ".a.parquet.tmp", "partial")
    _write(tmp_path / "_SUCCESS", "")
    (tmp_path / "sub").mkdir()
    assert scan_folder(tmp_path) == {"a.parquet": (5, 1_000_000_000)}
    assert scan_folder(tmp_path / "missing") == {}


def test_changed_files_are_new_ones_and_rewritten_ones():
    seen = {"a.csv": (10, 1), "b.csv": (20, 2)}
    assert changed_files(seen, dict(seen)) == []
    assert changed_files(seen, {**seen, "c.csv": (5, 3)}) == ["c.csv"]
    assert changed_files(seen, {**seen, "a.csv": (10, 9)}) == ["a.csv"]  # rewritten in place, same size
    assert changed_files(seen, {**seen, "b.csv": (21, 2)}) == ["b.csv"]
    assert changed_files(seen, {"a.csv": (10, 1)}) == []  # a removed file starts nothing


def test_a_cursor_remembers_one_day_only():
    files = {"a.csv": (10, 1)}
    cursor = encode_cursor(DAY, files)
    assert decode_cursor(cursor, DAY) == files
    assert decode_cursor(cursor, date(2026, 11, 24)) == {}
    assert decode_cursor(None, DAY) == {}


def test_decide_requests_once_per_state_of_the_folder():
    first = decide(None, DAY, {"a.csv": (10, 1)})
    assert first.changed == ["a.csv"] and first.run_key
    again = decide(first.cursor, DAY, {"a.csv": (10, 1)})
    assert again.run_key is None and again.changed == [] and again.cursor == first.cursor
    rewritten = decide(again.cursor, DAY, {"a.csv": (12, 5)})
    assert rewritten.changed == ["a.csv"] and rewritten.run_key not in (None, first.run_key)
    assert run_key(DAY, {"a.csv": (10, 1)}) == first.run_key  # the same state gives the same key
    assert run_key(date(2026, 11, 24), {"a.csv": (10, 1)}) != first.run_key


def _tick(cursor: str | None) -> tuple[dg.RunRequest | dg.SkipReason, str | None]:
    """One evaluation of the sensor function: what it returns and the cursor it leaves."""
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        return landing_events_sensor(context), context.cursor


def test_the_sensor_requests_a_micro_batch_for_today_then_nothing_until_a_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_HOME", str(tmp_path))
    today = utc_today().isoformat()
    nothing, cursor = _tick(None)
    assert isinstance(nothing, dg.SkipReason)

    landed = Home(tmp_path).landing_events_day(today) / "batch-001.parquet"
    _write(landed, "rows")
    _write(Home(tmp_path).landing_events_day("2020-01-01") / "old.parquet", "an old day is the schedule's job")
    request, cursor = _tick(cursor)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == today and request.run_key.startswith(today)
    assert request.tags["segments/changed_files"] == "batch-001.parquet"
    assert landing_events_sensor.job_name == "micro_batch"

    unchanged, cursor = _tick(cursor)
    assert isinstance(unchanged, dg.SkipReason)

    stat = landed.stat()
    _write(landed, "more rows", mtime_ns=stat.st_mtime_ns + 1_000_000_000)
    rewritten, _ = _tick(cursor)
    assert isinstance(rewritten, dg.RunRequest) and rewritten.run_key != request.run_key


def test_the_micro_batch_job_selects_exactly_the_daily_path(tmp_path):
    code = (
        "import json\n"
        "from orchestration.definitions import defs\n"
        "graph = defs.resolve_asset_graph()\n"
        "job = defs.resolve_job_def('micro_batch')\n"
        "groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}\n"
        "print(json.dumps({'selected': sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys),"
        " 'groups': groups}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "SEGMENTS_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    manifest = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())  # parsed by that load
    partitioned_models = {
        f"{node['config'].get('schema') or node['schema']}/{node.get('alias') or node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "partitioned" in node["tags"]
    }
    selected, groups = set(out["selected"]), out["groups"]
    scores_and_segments = {key for key, group in groups.items() if group in ("scores", "segments")}
    assert {"marts/customer_scores", "marts/customer_segments"} <= scores_and_segments
    assert partitioned_models and "marts/customer_features" in partitioned_models
    daily_run_only = {"marts/customer_recommendations", "marts/campaign_results", "intermediate/int_product_pairs_daily"}
    assert daily_run_only <= partitioned_models
    assert selected == {"lake/events", "serving/bi_copy", *(partitioned_models - daily_run_only), *scores_and_segments}
    assert not {key for key in selected if groups[key] == "models" or key.startswith(("exports/", "landing/"))}
    assert not {"staging/stg_customers", "staging/stg_products", "lake/customers"} & selected
