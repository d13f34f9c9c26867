"""Benchmark of the synthetic shop: events generated and written per second, peak memory.

    .venv/bin/python bench/bench_generate.py --customers 200000 --days 30

Writes into a temporary home (removed afterwards unless --keep) and prints events, seconds,
events/s, peak RSS and the target (10 million events in under 60 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shop.home import Home  # noqa: E402
from shop.simulator import generate  # noqa: E402

TARGET_EVENTS = 10_000_000
TARGET_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: days ago)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", type=Path, default=None, help="write here instead of a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args(argv)

    root = args.home or Path(tempfile.mkdtemp(prefix="segments-bench-"))
    try:
        began = time.perf_counter()
        summary = generate(Home(root), args.customers, args.days, start=args.start, seed=args.seed)
        seconds = time.perf_counter() - began
    finally:
        if args.home is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    events = summary["events"]
    rate = events / seconds if seconds > 0 else float("inf")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    projected = TARGET_EVENTS / rate
    print(f"customers:   {args.customers:,}  days: {args.days}  start: {summary['start']}  seed: {args.seed}")
    print(f"cpus:        {os.cpu_count()}")
    print(f"events:      {events:,}")
    print(f"files:       {summary['files_written']}")
    print(f"seconds:     {seconds:.2f}")
    print(f"events/s:    {rate:,.0f}")
    print(f"peak RSS:    {peak_mb:,.0f} MB")
    verdict = "PASS" if projected < TARGET_SECONDS else "FAIL"
    print(f"target:      {TARGET_EVENTS:,} events < {TARGET_SECONDS:.0f} s -> "
          f"{projected:.1f} s at this rate: {verdict}")
    if args.home is not None or args.keep:
        print(f"home:        {root}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
