"""The real pipeline at a chosen size: generate a synthetic shop, run every day through Dagster
(ingest, dbt, models, scoring, segments, exports, serving) as one run, and print wall time per step,
events per second and the peak memory of the run.

    .venv/bin/python bench/bench_pipeline.py --customers 20000 --days 30 [--home PATH] [--keep]

Each stage runs in a child process (`segments generate`, `segments run --all`), so the peak RSS
printed is that of the process tree's largest child.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEGMENTS = Path(sys.executable).with_name("segments")


def run(home: Path, *args: str) -> float:
    started = time.perf_counter()
    env = {**os.environ, "SEGMENTS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    subprocess.run([str(SEGMENTS), *args], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def step_seconds(home: Path) -> list[tuple[str, float]]:
    """Step durations of the latest run, from the Dagster instance under the home."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        run_record = instance.get_run_records(limit=1)[0]
        stats = instance.get_run_step_stats(run_record.dagster_run.run_id)
    return sorted(((s.step_key, (s.end_time or 0) - (s.start_time or 0)) for s in stats), key=lambda x: -x[1])


def count_events(home: Path) -> int:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from staging.stg_events").fetchall()[0][0]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", type=Path, help="use this home (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    print(f"before: {load_average()}", flush=True)
    try:
        generate = run(home, "generate", "--customers", str(args.customers), "--days", str(args.days), "--seed", str(args.seed))
        pipeline = run(home, "run", "--all")
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
        events = count_events(home)
        print(f"shop: {args.customers:,} customers x {args.days} days = {events:,} events (home {home})")
        print(f"generate: {generate:.1f} s; pipeline run (all days, one run): {pipeline:.1f} s = {events / pipeline:,.0f} events/s")
        print(f"peak RSS of the largest child process: {peak_gb:.2f} GB")
        print("\n| step | seconds |\n|---|---|")
        for step, seconds in step_seconds(home):
            print(f"| {step} | {seconds:.1f} |")
        print(f"\nafter: {load_average()}")
    finally:
        if args.home is None and not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
