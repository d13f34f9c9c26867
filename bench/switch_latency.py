"""How fast segment membership history shows a synthetic customer's persona switch.

    .venv/bin/python bench/switch_latency.py --home PATH      # a home after `segments demo` / `segments run`
    .venv/bin/python bench/switch_latency.py [--customers 2000 --days 120 --seed 42 --switch-share 0.1] [--keep]

Without --home, builds a temporary home: simulate, load, dbt (feature marts only) and segments.yml over
every day; score-based segments are skipped there (no models), the category segments are evaluated.
Prints: switched customers, those whose switch moves their browsing to a category (eligible), how many
entered a segment of that category (or left one of the category they browse less) within 0 / 1 / 7
days, the same customers' rate in 2-day windows before their switch (placebo), and the rate among
those who visited within a day of the switch. See segmentation/switch_detection.py for the definitions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from segmentation.columns import KNOWN_COLUMNS, warehouse_catalogue  # noqa: E402
from segmentation.membership import build_daily_segments, build_membership_history  # noqa: E402
from segmentation.rules import load_segments  # noqa: E402
from segmentation.switch_detection import report_for_warehouse  # noqa: E402

FEATURE_MODELS = ("+customer_features", "+customer_category_features", "+customer_tag_features")


def build_home(home: Path, customers: int, days: int, seed: int, switch_share: float, segments_file: Path) -> None:
    """Simulate and load a shop, build the feature marts with dbt and the segments over every day."""
    from dbt.cli.main import dbtRunner

    from shop.home import Home
    from shop.loader import load_dimensions, load_events
    from shop.simulator import generate

    start = date(2025, 10, 1)
    end = start + timedelta(days=days - 1)
    generate(Home(home).ensure(), customers=customers, days=days, start=start, seed=seed, switch_share=switch_share)
    load_events(Home(home), start, end)
    load_dimensions(Home(home))
    os.environ.update(SEGMENTS_HOME=str(home), DO_NOT_TRACK="1")
    project = REPO / "dbt_project"
    result = dbtRunner().invoke(["run", "--select", *FEATURE_MODELS, "--project-dir", str(project),
                                 "--profiles-dir", str(project), "--target-path", str(home / "target"),
                                 "--log-path", str(home / "logs"), "--quiet"])
    if not result.success:
        raise SystemExit(f"dbt failed: {result.exception}")
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        config = load_segments(segments_file, warehouse_catalogue(con) | KNOWN_COLUMNS)
        build_daily_segments(con, config, start, end)
        build_membership_history(con, start, end, config.settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="an existing home (default: build a temporary one)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--switch-share", type=float, default=0.1)
    parser.add_argument("--segments", type=Path, default=REPO / "segments.yml")
    parser.add_argument("--min-gain", type=float, default=0.15,
                        help="eligible switches raise one category's expected share of views by at least this")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()

    home = args.home
    temporary = home is None
    if temporary:
        home = Path(tempfile.mkdtemp(prefix="switch-latency-"))
        started = time.perf_counter()
        build_home(home, args.customers, args.days, args.seed, args.switch_share, args.segments)
        print(f"built {home} ({args.customers} customers x {args.days} days, switch share {args.switch_share}) "
              f"in {time.perf_counter() - started:.0f} s")
    try:
        # read-only for a home of its own; dbt keeps its read-write connection open in this process otherwise
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=not temporary) as con:
            config = load_segments(args.segments, warehouse_catalogue(con) | KNOWN_COLUMNS)
            report = report_for_warehouse(con, home / "ground_truth", config, args.min_gain)
        print("\n".join(report.lines()))
    finally:
        if temporary and not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
