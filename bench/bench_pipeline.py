"""The real pipeline at a chosen size: generate a synthetic shop, run every day through Dagster
(ingest, dbt, models, scoring, segments, exports, serving) as one run, and print the run's wall time,
events per second and peak memory, then the same three for each step.

    .venv/bin/python bench/bench_pipeline.py --customers 20000 --days 30 [--home PATH] [--keep]

Each stage runs in a child process (`segments generate`, `segments run --all`); the run's peak RSS is
the largest process of its tree (wait4), a step's the largest one sampled every second while it ran.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dagster_runs import latest_run, step_peaks, step_table  # noqa: E402
from bench.harness import GIB, load_average, segments  # noqa: E402

def count_events(home: Path) -> int:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from staging.stg_events").fetchall()[0][0]


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
        generate = segments(home, "generate", "--customers", str(args.customers), "--days", str(args.days), "--seed", str(args.seed))
        pipeline = segments(home, "run", "--all", sample_every=1.0)
        events = count_events(home)
        run_id, steps, _ = latest_run(home)
        print(f"shop: {args.customers:,} customers x {args.days} days = {events:,} events (home {home})")
        print(f"generate: {generate.seconds:.1f} s; pipeline run (all days, one run): {pipeline.seconds:.1f} s = "
              f"{events / pipeline.seconds:,.0f} events/s")
        print(f"peak RSS of the largest process: {pipeline.peak_bytes / GIB:.2f} GiB\n")
        print("\n".join(step_table(steps, step_peaks(home, run_id, pipeline), events)))
        print(f"\nafter: {load_average()}")
    finally:
        if args.home is None and not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
