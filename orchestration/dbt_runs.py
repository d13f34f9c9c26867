"""A home's dbt invocation folders (dbt/runs): how many are kept, and the parse state each starts from."""

from __future__ import annotations

import shutil
from pathlib import Path

# dbt invocations whose target folders (run results, compiled SQL, dbt.log, ~4 MB each) a home keeps.
DBT_RUNS_KEPT = 50
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def prune_dbt_runs(runs: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest run folders under `runs`; returns the removed ones."""
    if not runs.is_dir():
        return []
    folders = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = folders[max(keep, 0):]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def seed_partial_parse(runs: Path, target: Path) -> Path | None:
    """Copy the parse state of the newest earlier invocation under `runs` into `target`; returns its
    source. dbt re-parses only the files that changed since (none, from one day to the next: the
    window comes from the environment at execution), instead of the whole project (seconds a step),
    which it does with the project folder's state (parsed under another profile: the home's path).
    dbt checks the state itself and parses everything again when it does not match."""
    if not runs.is_dir():
        return None
    states = [p / PARTIAL_PARSE_FILE for p in runs.iterdir() if p != target and (p / PARTIAL_PARSE_FILE).is_file()]
    if not states:
        return None
    newest = max(states, key=lambda p: p.stat().st_mtime)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(newest, target / PARTIAL_PARSE_FILE)
    return newest
