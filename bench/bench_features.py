"""The per-customer feature table four ways on the same lake: one DuckDB query, polars lazy, plain
pandas, and the project's dbt marts (the partitioned models for the window, as the daily pipeline
builds them: `dbt build --select tag:partitioned`, called directly, not through Dagster).

    .venv/bin/python bench/bench_features.py --events 10M [--days 30] [--repeats 3]
    .venv/bin/python bench/bench_features.py --customers 20000 --days 30 --engines duckdb,dbt

Generates a synthetic shop, loads it landing -> lake with the real loader, builds the dbt
reference models once, then runs each engine in a fresh process `--repeats` times (interleaved)
and prints the median wall time, peak RSS, events/s and the targets: dbt within 1.5x of the DuckDB
query, and at least 5x faster than pandas. Each dbt repetition starts from the same warehouse
(reference models only), so it builds the whole window from scratch like the others.
The hand-written tables are checked to agree with each other (bench/feature_table.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import feature_table  # noqa: E402
from bench.harness import (  # noqa: E402
    GIB, Measured, customers_for, dbt_command, dbt_env, dbt_node_seconds, dbt_seconds_by_kind, load_average,
    median_of, parse_count,
    prepare_shop, run_measured, verdict, window_vars,
)

DBT_VS_DUCKDB_MAX = 1.5
PANDAS_VS_DBT_MIN = 5.0
# dbt: the whole window from an empty warehouse (a point-in-time snapshot for every day of it);
# dbt-day: the window's last day only, on a warehouse holding the days before (the daily run).
ALL_ENGINES = (*feature_table.ENGINES, "dbt", "dbt-day")
DBT_ENGINES = ("dbt", "dbt-day")


def child(engine: str, lake: Path, as_of: date, out: Path) -> None:
    rows = feature_table.compute(engine, lake, as_of, out)
    print(f"rows={rows}")


def run_engine(engine: str, home: Path, as_of: date, first: date) -> Measured:
    if engine in DBT_ENGINES:
        start = first if engine == "dbt" else as_of
        shutil.copyfile(home / f"warehouse.{engine}.duckdb", home / "warehouse.duckdb")
        cmd = dbt_command(home, "build", "--select", "tag:partitioned", "--vars", window_vars(start, as_of), target=f"target-{engine}")
        return run_measured(cmd, env=dbt_env(home))
    out = home / f"features_{engine}.parquet"
    cmd = [sys.executable, __file__, "--child", engine, "--home", str(home), "--as-of", as_of.isoformat(), "--out", str(out)]
    return run_measured(cmd)


def prepare(home: Path, customers: int, days: int, seed: int, engines: list[str]) -> dict:
    """Shop in the lake; for dbt, the starting warehouses (reference models; + all days but the last)."""
    shop = prepare_shop(home, customers, days, seed) if not reusable(home) else reuse(home)
    first, last = shop["first"], shop["last"]
    env = dbt_env(home)
    if not set(engines) & set(DBT_ENGINES):
        return shop
    if not (home / "warehouse.dbt.duckdb").exists():
        run_measured(dbt_command(home, "build", "--exclude", "tag:partitioned"), env=env)
        shutil.copyfile(home / "warehouse.duckdb", home / "warehouse.dbt.duckdb")
    if "dbt-day" in engines and not (home / "warehouse.dbt-day.duckdb").exists():
        if days < 2:
            raise SystemExit("dbt-day needs --days >= 2 (history before the timed day)")
        shutil.copyfile(home / "warehouse.dbt.duckdb", home / "warehouse.duckdb")
        run_measured(dbt_command(home, "build", "--select", "tag:partitioned", "--vars",
                                 window_vars(first, last - timedelta(days=1))), env=env)
        shutil.copyfile(home / "warehouse.duckdb", home / "warehouse.dbt-day.duckdb")
    # parse once with the timed vars, so timed runs use dbt's partial parse like a repeated daily run
    for engine in DBT_ENGINES:
        start = first if engine == "dbt" else last
        run_measured(dbt_command(home, "parse", "--vars", window_vars(start, last), target=f"target-{engine}"), env=env)
    return shop


def reusable(home: Path) -> bool:
    return (home / "lake" / "events").is_dir()


def reuse(home: Path) -> dict:
    """A home prepared by an earlier run (--home): its lake and the dbt starting warehouses."""
    import duckdb

    glob = home / "lake" / "events" / "*" / "*.parquet"
    with duckdb.connect() as con:
        events, first, last = con.execute(
            f"select count(*), min(event_date), max(event_date) from read_parquet('{glob}', hive_partitioning = true)"
        ).fetchone()
    return {"events": events, "first": first, "last": last, "generate_s": 0.0, "load_s": 0.0, "reused": True}


def dbt_rows(home: Path, as_of: date) -> int:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from marts.customer_features where as_of_date = ?", [as_of]).fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=parse_count, help="approximate size, e.g. 10M (sets --customers from --days)")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ALL_ENGINES), help=f"comma list of {', '.join(ALL_ENGINES)}")
    parser.add_argument("--home", type=Path, help="use this home; one prepared by an earlier --keep run is reused as is")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    parser.add_argument("--child", choices=feature_table.ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(args.child, args.home / "lake", args.as_of, args.out)
        return 0

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - set(ALL_ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}")
    customers = customers_for(args.events, args.days) if args.events else args.customers
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        print(f"before: {load_average()}", flush=True)
        shop = prepare(home, customers, args.days, args.seed, engines)
        first, as_of, events = shop["first"], shop["last"], shop["events"]
        made = ("reused" if shop.get("reused") else
                f"{customers:,} customers x {args.days} days, generated in {shop['generate_s']:.1f} s, "
                f"loaded landing -> lake in {shop['load_s']:.1f} s")
        print(f"shop: {events:,} events ({first}..{as_of}; {made}); home {home}", flush=True)

        runs: dict[str, list[Measured]] = {e: [] for e in engines}
        for repeat in range(args.repeats):
            for engine in engines:
                measured = run_engine(engine, home, as_of, first)
                runs[engine].append(measured)
                print(f"  run {repeat + 1}/{args.repeats} {engine}: {measured.seconds:.2f} s, "
                      f"peak {measured.peak_bytes / GIB:.2f} GiB", flush=True)

        seconds = {e: median_of([m.seconds for m in runs[e]]) for e in engines}
        print(f"\n| engine | median wall s (of {args.repeats}, fresh process) | min-max s | peak RSS GiB | events/s | rows |")
        print("|---|---|---|---|---|---|")
        for engine in engines:
            times = [m.seconds for m in runs[engine]]
            peak = max(m.peak_bytes for m in runs[engine]) / GIB
            rows = dbt_rows(home, as_of) if engine in DBT_ENGINES else int(runs[engine][-1].stdout.split("rows=")[-1].split()[0])
            print(f"| {engine} | {seconds[engine]:.2f} | {min(times):.2f}-{max(times):.2f} | {peak:.2f} | "
                  f"{events / seconds[engine]:,.0f} | {rows:,} |")

        hand = [e for e in engines if e in feature_table.ENGINES]
        if len(hand) > 1:
            import polars as pl

            problems = feature_table.disagreements({e: pl.read_parquet(home / f"features_{e}.parquet") for e in hand})
            print(f"\nhand-written tables agree ({', '.join(hand)}): {'yes' if not problems else 'NO: ' + '; '.join(problems)}")
        for engine in [e for e in engines if e in DBT_ENGINES]:
            kinds = dbt_seconds_by_kind(home, target=f"target-{engine}")
            print(f"\n{engine}, last repetition: execution seconds by kind (2 threads) "
                  + ", ".join(f"{kind} {s:.1f}" for kind, s in sorted(kinds.items())) + "; slowest nodes:")
            for node, node_seconds in dbt_node_seconds(home, top=10, target=f"target-{engine}"):
                print(f"  {node_seconds:7.2f}  {node[:110]}")
        print()
        if "dbt" in engines:
            if "duckdb" in engines:
                ratio = seconds["dbt"] / seconds["duckdb"]
                print(f"dbt / DuckDB query: {ratio:.2f}x (target <= {DBT_VS_DUCKDB_MAX}x): {verdict(ratio <= DBT_VS_DUCKDB_MAX)}")
            if "pandas" in engines:
                ratio = seconds["pandas"] / seconds["dbt"]
                print(f"pandas / dbt: {ratio:.2f}x faster (target >= {PANDAS_VS_DBT_MIN}x): {verdict(ratio >= PANDAS_VS_DBT_MIN)}")
        if "dbt-day" in engines and "duckdb" in engines:
            print(f"dbt, one new day on top of the history / DuckDB query over all days: "
                  f"{seconds['dbt-day'] / seconds['duckdb']:.2f}x (the daily run; no target)")
        print(f"after: {load_average()}")
    finally:
        if args.home is None and not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
