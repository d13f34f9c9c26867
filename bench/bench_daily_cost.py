"""What a daily run costs, through the real pipeline (`segments run`: Dagster, dbt, scoring,
segments, exports, serving copy), each run in a fresh process. Five checks, each printing its
figure, its target and PASS/MISS:

  history   one day at day 30 vs day 360 of history, same daily volume (target: within 1.2x);
            the history is a small shop over many days, built by backfills between the timed days
  dbt-history  the same with dbt alone (dbt run of the partitioned models), per-model seconds
  bigday    one daily partition of --big-events events (default 10 M, about 1 M active customers)
            on top of one day of history: < 60 s, peak RSS < 4 GiB
  longrun   a --long-events history (default 100 M) with `segments run --all` (consecutive runs sized by
            SEGMENTS_RUN_ROW_BUDGET): finishes, peak RSS printed; with --home H --resume, a history
            stopped part-way carries on from the day after its last snapshot
  backfill  a 90-day backfill of the demo shop (2,000 customers) is one run with one dbt
            invocation per dbt stage (counted in the run's event log), not one per day

    .venv/bin/python bench/bench_daily_cost.py history [--customers 2000 --days 360]
    .venv/bin/python bench/bench_daily_cost.py bigday [--big-events 10M] [--keep]
    .venv/bin/python bench/bench_daily_cost.py bigday --home <its home> --resume
    .venv/bin/python bench/bench_daily_cost.py longrun [--long-events 100M] [--keep]
    .venv/bin/python bench/bench_daily_cost.py longrun --home <its home> --resume
    .venv/bin/python bench/bench_daily_cost.py backfill

Peak RSS is that of the largest process in the run's tree (wait4), dbt included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dagster_runs import instance, latest_run, step_peaks, step_seconds, step_table  # noqa: E402
from bench.harness import (  # noqa: E402
    GIB, Measured, customers_for, load_average, parse_count, run_measured, segments, verdict,
)
from orchestration import run_plan  # noqa: E402
from shop.duckdb_connection import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV  # noqa: E402
from orchestration.cadence import is_anchor  # noqa: E402
from orchestration.partitions import landing_days  # noqa: E402

HISTORY_RATIO_MAX = 1.2
BIGDAY_SECONDS_MAX = 60.0
BIGDAY_PEAK_MAX = 4 * GIB
ANCHOR_EVERY_DAYS = 7  # the training cadence's default: timed days avoid retrain days
DBT_STEPS = ("dbt_daily_models", "dbt_reference_models")
# Day 2 of a new synthetic shop is busier than an average day (every customer is new): 340,340 events
# and 32,731 active customers from 100,000 customers (seed 42), so 10 M events need ~2.9 M customers.
BIGDAY_EVENTS_PER_CUSTOMER = 3.40


def run_days(home: Path, first: date, last: date, sample_every: float | None = None) -> Measured:
    return segments(home, "run", "--start", first.isoformat(), "--end", last.isoformat(), sample_every=sample_every)


def run_count(home: Path) -> int:
    with instance(home) as inst:
        return len(inst.get_run_records())


def dbt_invocations(logs: list) -> dict[str, int]:
    """dbt invocations per dbt step: distinct dbt invocation ids in the step's materializations."""
    found: dict[str, set] = {step: set() for step in DBT_STEPS}
    starts: dict[str, int] = {step: 0 for step in DBT_STEPS}
    for record in logs:
        event = record.dagster_event
        if event is None or record.step_key not in found:
            continue
        if event.event_type_value == "STEP_START":
            starts[record.step_key] += 1
        if event.event_type_value == "ASSET_MATERIALIZATION":
            meta = event.event_specific_data.materialization.metadata
            invocation = meta.get("invocation_id") or meta.get("dagster_dbt/invocation_id")
            if invocation is not None:
                found[record.step_key].add(str(getattr(invocation, "value", invocation)))
    return {step: max(len(found[step]), starts[step]) for step in DBT_STEPS}


def not_anchor(day: date) -> date:
    while is_anchor(day, ANCHOR_EVERY_DAYS):
        day += timedelta(days=1)
    return day


def generate(home: Path, customers: int, days: int, start: date, seed: int) -> Measured:
    return segments(home, "generate", "--customers", str(customers), "--days", str(days),
                    "--start", start.isoformat(), "--seed", str(seed))


def lake_events(home: Path, day: date | None = None) -> int:
    import duckdb

    pattern = home / "lake" / "events" / (f"event_date={day}" if day else "*") / "*.parquet"
    return duckdb.execute(f"select count(*) from read_parquet('{pattern}')").fetchone()[0]


def print_steps(label: str, steps: list[tuple[str, float]], top: int = 8) -> None:
    print(f"  {label}: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in steps[:top]))


def check_history(args) -> bool:
    """Day 30 vs day 360: the same daily volume, only the length of history differs."""
    start = args.start
    day_a = not_anchor(start + timedelta(days=args.early_day - 1))
    day_b = not_anchor(start + timedelta(days=args.days - 1))
    days = (day_b - start).days + 1
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        generate(home, args.customers, days, start, args.seed)
        print(f"shop: {args.customers:,} customers x {days} days = {lake_or_landing(home):,} events; home {home}")
        build = run_days(home, start, day_a - timedelta(days=1))
        print(f"history to day {(day_a - start).days}: {build.seconds:.0f} s (one backfill run)", flush=True)
        a = run_days(home, day_a, day_a)
        _, steps_a, _ = latest_run(home)
        build = run_days(home, day_a + timedelta(days=1), day_b - timedelta(days=1))
        print(f"history to day {(day_b - start).days}: {build.seconds:.0f} s (one backfill run)", flush=True)
        b = run_days(home, day_b, day_b)
        _, steps_b, _ = latest_run(home)
        events_a, events_b = lake_events(home, day_a), lake_events(home, day_b)
        ratio = b.seconds / a.seconds
        print(f"\nday {(day_a - start).days + 1} ({day_a}, {events_a:,} events): {a.seconds:.1f} s, peak {a.peak_bytes / GIB:.2f} GiB")
        print_steps("steps", steps_a)
        print(f"day {(day_b - start).days + 1} ({day_b}, {events_b:,} events): {b.seconds:.1f} s, peak {b.peak_bytes / GIB:.2f} GiB")
        print_steps("steps", steps_b)
        compare_steps(steps_a, steps_b)
        ok = ratio <= HISTORY_RATIO_MAX
        print(f"\nday {(day_b - start).days + 1} / day {(day_a - start).days + 1} wall time: {ratio:.2f}x "
              f"(target <= {HISTORY_RATIO_MAX}x): {verdict(ok)}")
        return ok
    finally:
        cleanup(args, home)


def compare_steps(steps_a: list[tuple[str, float]], steps_b: list[tuple[str, float]]) -> None:
    a, b = dict(steps_a), dict(steps_b)
    grown = sorted(((k, a[k], b[k]) for k in a.keys() & b.keys() if b[k] - a[k] > 0.5), key=lambda x: x[1] - x[2])
    if grown:
        print("  grew with history: " + ", ".join(f"{k} {x:.1f}->{y:.1f}s" for k, x, y in grown[:8]))


def lake_or_landing(home: Path) -> int:
    import duckdb

    pattern = home / "landing" / "events" / "*" / "*.parquet"
    return duckdb.execute(f"select count(*) from read_parquet('{pattern}')").fetchone()[0]


def check_dbt_history(args) -> bool:
    """The dbt part of `history` alone (no Dagster): per-model seconds of day 30 and day 360."""
    from bench.harness import dbt_command, dbt_env, dbt_node_seconds, prepare_shop, window_vars

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-dbt-history-"))
    try:
        shop = prepare_shop(home, args.customers, args.days, args.seed, start=args.start)
        start, env = shop["first"], dbt_env(home)
        print(f"shop: {args.customers:,} customers x {args.days} days = {shop['events']:,} events; home {home}", flush=True)
        run_measured(dbt_command(home, "build", "--exclude", "tag:partitioned"), env=env)
        timed = {}
        previous_end = start - timedelta(days=1)
        for day_number in (args.early_day, args.days):
            day = start + timedelta(days=day_number - 1)
            if day - timedelta(days=1) > previous_end:
                window = window_vars(previous_end + timedelta(days=1), day - timedelta(days=1))
                run_measured(dbt_command(home, "run", "--select", "tag:partitioned", "--vars", window), env=env)
            run_measured(dbt_command(home, "parse", "--vars", window_vars(day, day)), env=env)
            measured = run_measured(dbt_command(home, "run", "--select", "tag:partitioned", "--vars", window_vars(day, day)), env=env)
            timed[day_number] = (measured, dict(dbt_node_seconds(home, top=100)))
            previous_end = day
        (a, nodes_a), (b, nodes_b) = timed[args.early_day], timed[args.days]
        print(f"\n| model | day {args.early_day} s | day {args.days} s |\n|---|---|---|")
        for node in sorted(nodes_b, key=lambda n: -nodes_b[n]):
            print(f"| {node} | {nodes_a.get(node, 0):.2f} | {nodes_b[node]:.2f} |")
        ratio = b.seconds / a.seconds
        print(f"| dbt run, wall (process) | {a.seconds:.1f} | {b.seconds:.1f} |")
        models_a, models_b = sum(nodes_a.values()), sum(nodes_b.values())
        print(f"\nsum of model seconds: day {args.days} / day {args.early_day} = {models_b / models_a:.2f}x; "
              f"process wall {ratio:.2f}x (target <= {HISTORY_RATIO_MAX}x): {verdict(ratio <= HISTORY_RATIO_MAX)}")
        return ratio <= HISTORY_RATIO_MAX
    finally:
        cleanup(args, home)


def check_bigday(args) -> bool:
    """One big day on top of one day of history (models trained on it), timed alone; with --home H
    --resume, the big day of a kept home is timed again (no new shop, no day 1)."""
    customers = max(1, round(args.big_events / BIGDAY_EVENTS_PER_CUSTOMER))
    start = args.start
    day = not_anchor(start + timedelta(days=1))
    start = day - timedelta(days=1)
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-bigday-"))
    limit = os.environ.get(MEMORY_LIMIT_ENV) or f"default ({DEFAULT_MEMORY_LIMIT} of RAM)"
    try:
        if not (args.resume and args.home):
            gen = generate(home, customers, 2, start, args.seed)
            print(f"shop: {customers:,} customers x 2 days = {lake_or_landing(home):,} events "
                  f"(generated in {gen.seconds:.0f} s); home {home}", flush=True)
            first = run_days(home, start, start)
            print(f"day 1 (history, first training): {first.seconds:.0f} s, peak {first.peak_bytes / GIB:.2f} GiB",
                  flush=True)
        timed = run_days(home, day, day, sample_every=1.0)
        run_id, steps, _ = latest_run(home)
        peaks = step_peaks(home, run_id, timed)
        events = lake_events(home, day)
        active = active_customers(home, day)
        print(f"\nday {day}: {events:,} events, {active:,} active customers: {timed.seconds:.1f} s "
              f"({events / timed.seconds:,.0f} events/s), peak RSS {timed.peak_bytes / GIB:.2f} GiB "
              f"(DuckDB memory limit: {limit})")
        print("\nsteps, slowest first (events/s: the day's events over the step's seconds; peak RSS: the "
              "largest process sampled every second while the step ran):")
        print("\n".join(step_table(steps, peaks, events)))
        ok = timed.seconds < BIGDAY_SECONDS_MAX and timed.peak_bytes < BIGDAY_PEAK_MAX
        print(f"\ntarget: < {BIGDAY_SECONDS_MAX:.0f} s and < {BIGDAY_PEAK_MAX / GIB:.0f} GiB for 10 M events "
              f"(this run: {events / 1e6:.1f} M): {verdict(ok)}")
        return ok
    finally:
        cleanup(args, home)


def active_customers(home: Path, day: date) -> int:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from marts.customer_daily_activity where activity_date = ?", [day]).fetchone()[0]


def check_longrun(args) -> bool:
    """The whole history with `segments run`; with --resume and --home, only the days after the last
    snapshot built there (a run stopped part-way carries on)."""
    days = args.long_days
    customers = customers_for(args.long_events, days)
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-longrun-"))
    landing = home / "landing" / "events"
    try:
        if args.resume and landing_days(landing):
            print(f"resuming the shop landed in {home}", flush=True)
        else:
            gen = generate(home, customers, days, args.start, args.seed)
            print(f"shop: {customers:,} customers x {days} days (generated in {gen.seconds:.0f} s, "
                  f"peak {gen.peak_bytes / GIB:.2f} GiB); home {home}", flush=True)
        landed = landing_days(landing)
        done = latest_snapshot_day(home)
        first = landed[0] if done is None else done + timedelta(days=1)
        if first > landed[-1]:
            print(f"every landed day is built already (last snapshot {done})")
        else:
            run = run_days(home, first, landed[-1])
            events = sum(run_plan.events_by_day(landing, first, landed[-1]))
            windows = [line for line in run.stdout.splitlines() if line.startswith("run ")]
            print(f"\n{first} .. {landed[-1]} with `segments run`: {run.seconds:.0f} s ({events / run.seconds:,.0f} "
                  f"events/s), {len(windows)} consecutive runs (row budget {run_plan.row_budget():,}), "
                  f"peak RSS {run.peak_bytes / GIB:.2f} GiB")
        print("\nevery successful run under the home:")
        for line in run_table(home):
            print(f"  {line}")
        print_steps("steps summed over the runs", summed_steps(home), top=12)
        whole = latest_snapshot_day(home) == landed[-1]
        print(f"\ntarget: a 100 M-event history runs without running out of memory (this history: "
              f"{lake_or_landing(home) / 1e6:.1f} M events, {'every' if whole else 'not every'} landed day built): "
              f"{verdict(whole)}")
        return whole
    finally:
        cleanup(args, home)


def latest_snapshot_day(home: Path) -> date | None:
    """The last day `customer_features` holds a snapshot of, or None before the first run."""
    return run_plan.latest_snapshot(home / "warehouse.duckdb")[0]


def run_table(home: Path) -> list[str]:
    """One line per successful run, oldest first: its days, events and the main steps' seconds."""
    lines = []
    with instance(home) as inst:
        for record in reversed(inst.get_run_records()):
            run = record.dagster_run
            if run.status.value != "SUCCESS" or "dagster/asset_partition_range_start" not in run.tags:
                continue
            first = date.fromisoformat(run.tags["dagster/asset_partition_range_start"])
            last = date.fromisoformat(run.tags["dagster/asset_partition_range_end"])
            steps = step_seconds(inst, run.run_id)
            training = sum(seconds for key, seconds in steps.items() if key.startswith("models__") and "gate" not in key)
            events = sum(run_plan.events_by_day(home / "landing" / "events", first, last))
            lines.append(f"{first} .. {last} ({(last - first).days + 1} days, {events / 1e6:.2f} M events): "
                         f"{record.end_time - record.start_time:.0f} s; dbt {steps.get('dbt_daily_models', 0):.0f}, "
                         f"training {training:.0f}, scoring {steps.get('score_customers', 0):.0f}, "
                         f"segments {steps.get('segment_marts', 0):.0f}, serving {steps.get('serving__bi_copy', 0):.0f}")
    return lines


def summed_steps(home: Path) -> list[tuple[str, float]]:
    """Seconds per step key over every run under the home, slowest first."""
    totals: dict[str, float] = {}
    with instance(home) as inst:
        for record in inst.get_run_records():
            for key, seconds in step_seconds(inst, record.dagster_run.run_id).items():
                totals[key] = totals.get(key, 0.0) + seconds
    return sorted(totals.items(), key=lambda item: -item[1])


def check_backfill(args) -> bool:
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    try:
        generate(home, args.demo_customers, 90, args.start, args.seed)
        before = run_count(home)
        run = segments(home, "run", "--all")
        run_id, steps, logs = latest_run(home)
        runs = run_count(home) - before
        invocations = dbt_invocations(logs)
        print(f"90-day backfill of {args.demo_customers:,} customers ({lake_or_landing(home):,} events): "
              f"{run.seconds:.0f} s, {runs} run ({run_id}), peak RSS {run.peak_bytes / GIB:.2f} GiB")
        print_steps("steps", steps)
        for step, count in invocations.items():
            print(f"  dbt invocations in step {step}: {count}")
        ok = runs == 1 and all(count == 1 for count in invocations.values())
        print(f"\ntarget: one run, one dbt invocation per dbt stage (BackfillPolicy.single_run()): {verdict(ok)}")
        return ok
    finally:
        cleanup(args, home)


def cleanup(args, home: Path) -> None:
    if args.home is None and not args.keep:
        shutil.rmtree(home, ignore_errors=True)


CHECKS = {"history": check_history, "dbt-history": check_dbt_history, "bigday": check_bigday, "longrun": check_longrun, "backfill": check_backfill}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checks", nargs="+", choices=sorted(CHECKS))
    parser.add_argument("--customers", type=int, default=2_000, help="history: daily volume (customers of the shop)")
    parser.add_argument("--days", type=int, default=360, help="history: the later timed day")
    parser.add_argument("--early-day", type=int, default=30, help="history: the earlier timed day")
    parser.add_argument("--big-events", type=parse_count, default=parse_count("10M"))
    parser.add_argument("--long-events", type=parse_count, default=parse_count("100M"))
    parser.add_argument("--long-days", type=int, default=180)
    parser.add_argument("--demo-customers", type=int, default=2_000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", type=Path, help="use this home (one check at a time)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument("--resume", action="store_true",
                        help="longrun with --home: build only the landed days after the last snapshot there; "
                             "bigday with --home: time the big day of that home again")
    args = parser.parse_args(argv)
    if args.home and len(args.checks) > 1:
        parser.error("--home takes one check")
    results = {}
    for name in args.checks:
        print(f"== {name} ({load_average()})", flush=True)
        results[name] = CHECKS[name](args)
        print(f"== {name} done ({load_average()})\n", flush=True)
    print("summary: " + ", ".join(f"{name} {verdict(ok)}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
