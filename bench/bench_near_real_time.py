"""Near-real-time latency: from an event file landing for today to the customer's new segment row in the
serving copy BI tools read.

    .venv/bin/python bench/bench_near_real_time.py --customers 2000 --days 60 [--category tech] [--in-process]

1. Generates a shop whose last day is yesterday (`segments generate`) and runs the daily pipeline over
   all its days once (`segments run --all`).
2. Picks an identified customer who never viewed the category and is not in `browsing_<category>_now`
   yesterday, then lands a file for today (written under a hidden name, then renamed) with `--views`
   product views of that category by them.
3. Default: starts `dagster-daemon run` on the home's instance, so the real landing sensor ticks, the
   run queue launches the micro_batch run, and the bench polls serving/segments.duckdb until the row
   appears. With --in-process, the sensor function is evaluated here and its run executed in this
   process; the sensor interval is then added to the figure, as the worst case wait for a tick.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shop.contract import EVENTS  # noqa: E402

BIN = Path(sys.executable).parent
SENSOR = "landing_events_sensor"
TICK_SECONDS = 15  # replaced by the sensor's own interval once the home is set (see main)
TARGET_SECONDS = 60


def cli(home: Path, *args: str) -> float:
    started = time.perf_counter()
    env = {**os.environ, "SEGMENTS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run([str(BIN / "segments"), *args], cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"segments {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def pick_customer(warehouse: Path, category: str, segment: str, yesterday: date) -> str:
    """An identified customer with features yesterday, no view of the category ever, not in the segment."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            """
            select f.customer_id from marts.customer_features f
            where f.as_of_date = ? and f.customer_id not like 'anon:%'
              and not exists (select 1 from marts.customer_category_daily c
                              where c.customer_id = f.customer_id and c.category = ? and c.product_views > 0)
              and not exists (select 1 from marts.customer_segments s
                              where s.customer_id = f.customer_id and s.segment = ? and s.as_of_date = ?)
            order by f.customer_id limit 1
            """,
            [yesterday, category, segment, yesterday],
        ).fetchone()
        if row is None:
            raise SystemExit(f"no customer without any {category!r} view outside {segment!r}: pick another --category")
        return row[0]


def category_products(warehouse: Path, category: str) -> list[tuple[str, float | None]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select product_id, list_price from staging.stg_products where category = ? order by product_id limit 20",
                           [category]).fetchall()
    if not rows:
        raise SystemExit(f"the shop has no products in category {category!r}")
    return rows


def view_events(customer_id: str, products: list[tuple[str, float | None]], category: str, views: int,
                now: datetime) -> pl.DataFrame:
    """`views` product views of the category by the customer, seconds apart, all today (UTC) and in the past."""
    midnight = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
    stamps = [max(midnight, now - timedelta(seconds=20 * (views - i))) for i in range(views)]
    rows = {name: [None] * views for name in EVENTS.names}
    rows.update(
        event_id=[f"nrt-{uuid.uuid4().hex}" for _ in range(views)],
        event_ts=stamps,
        event_type=["product_view"] * views,
        customer_id=[customer_id] * views,
        session_id=[f"nrt-{customer_id}-{now:%Y%m%d%H%M}"] * views,
        page_type=["product"] * views,
        dwell_seconds=[45.0] * views,
        product_id=[products[i % len(products)][0] for i in range(views)],
        category=[category] * views,
        price=[products[i % len(products)][1] for i in range(views)],
        device_type=["desktop"] * views,
        channel=["web"] * views,
    )
    return pl.DataFrame(rows, schema=EVENTS.schema)


def land(frame: pl.DataFrame, folder: Path) -> float:
    """Write under a hidden name, then rename: the sensor and the loader never see a half-written file."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"nrt-{uuid.uuid4().hex[:8]}.parquet"
    partial = folder / f".{name}.partial"
    frame.write_parquet(partial)
    os.replace(partial, folder / name)
    return time.time()


def segment_visible(serving: Path, customer_id: str, segment: str, day: date) -> bool:
    if not serving.exists():
        return False
    try:
        with duckdb.connect(str(serving), read_only=True) as con:
            return con.execute(
                "select count(*) from marts.customer_segments where customer_id = ? and segment = ? and as_of_date = ?",
                [customer_id, segment, day],
            ).fetchone()[0] > 0
    except duckdb.Error:  # replaced while opening: the next poll reads the new file
        return False


def wait_for(predicate, timeout: float, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


# --- the real daemon -------------------------------------------------------------------------------------------

def start_daemon(home: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SEGMENTS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "DO_NOT_TRACK": "1",
           "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    with log.open("w") as out:
        return subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")], cwd=REPO,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_daemon(process: subprocess.Popen) -> None:
    """The daemon, its code server and run workers share the process group started for it."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def sensor_ticks(instance):
    states = [s for s in instance.all_instigator_state() if s.instigator_name == SENSOR]
    if not states:
        return []
    return instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id, limit=50)


def micro_batch_run(instance, after: float):
    import dagster as dg

    records = instance.get_run_records(filters=dg.RunsFilter(job_name="micro_batch"), limit=5)
    return next((r for r in records if r.create_timestamp.timestamp() >= after), None)


def measure_with_daemon(home: Path, customer: str, segment: str, frame: pl.DataFrame, today: date,
                        timeout: float) -> dict:
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    import dagster as dg

    log = home / "daemon.log"
    process = start_daemon(home, log)
    try:
        with dg.DagsterInstance.get() as instance:
            started, started_at = time.monotonic(), time.time()
            # Steady state: land the file once this daemon has ticked (ticks of an earlier daemon on a
            # reused home do not count), so the figure is not the daemon's own start-up.
            if not wait_for(lambda: any(t.timestamp >= started_at for t in sensor_ticks(instance)), timeout=300, every=1.0):
                raise SystemExit(f"the landing sensor never ticked within 300 s; see {log}")
            ready = time.monotonic() - started
            landed = land(frame, home / "landing" / "events" / f"event_date={today.isoformat()}")
            visible_at = wait_for(lambda: segment_visible(home / "serving" / "segments.duckdb", customer, segment, today)
                                  and time.time(), timeout=timeout)
            if not visible_at:
                raise SystemExit(f"no {segment!r} row for {customer} in the serving copy {timeout:.0f} s after landing; see {log}")
            record = wait_for(lambda: micro_batch_run(instance, landed), timeout=60)
            finished = wait_for(lambda: (r := instance.get_run_record_by_id(record.dagster_run.run_id)).end_time and r,
                                timeout=300)
            tick = next((t for t in sensor_ticks(instance) if record.dagster_run.run_id in t.run_ids), None)
            steps = instance.get_run_step_stats(record.dagster_run.run_id)
            return {
                "mode": f"dagster-daemon (ready {ready:.0f} s after start; sensor every {TICK_SECONDS} s)",
                "landed": landed, "tick": tick.timestamp if tick else record.create_timestamp.timestamp(),
                "run_start": finished.start_time, "run_end": finished.end_time, "visible": visible_at,
                "status": finished.dagster_run.status.value, "steps": steps,
            }
    finally:
        stop_daemon(process)


# --- the sensor function and the run in this process ----------------------------------------------------------

def measure_in_process(home: Path, customer: str, segment: str, frame: pl.DataFrame, today: date) -> dict:
    os.environ["SEGMENTS_HOME"] = str(home)
    import dagster as dg

    from orchestration.defs.ingest.sensors import landing_events_sensor
    from orchestration.definitions import defs

    job = defs.resolve_job_def("micro_batch")
    with dg.DagsterInstance.get() as instance:
        before = dg.build_sensor_context(instance=instance, cursor=None)
        landing_events_sensor(before)  # the tick before the file: records what is there
        landed = land(frame, home / "landing" / "events" / f"event_date={today.isoformat()}")
        context = dg.build_sensor_context(instance=instance, cursor=before.cursor)
        request = landing_events_sensor(context)
        tick = time.time()
        if not isinstance(request, dg.RunRequest):
            raise SystemExit(f"the sensor requested nothing after the file landed: {request}")
        run_start = time.time()
        result = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags,
                                        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                                        raise_on_error=False)
        run_end = time.time()
        visible = wait_for(lambda: segment_visible(home / "serving" / "segments.duckdb", customer, segment, today)
                           and time.time(), timeout=30)
        if not visible:
            raise SystemExit(f"no {segment!r} row for {customer} in the serving copy after the run (success={result.success})")
        steps = instance.get_run_step_stats(result.run_id)
    return {"mode": f"in-process sensor evaluation + run; +{TICK_SECONDS} s sensor interval added (worst-case wait for a tick)",
            "landed": landed - TICK_SECONDS, "tick": tick, "run_start": run_start, "run_end": run_end,
            "visible": visible, "status": "SUCCESS" if result.success else "FAILURE", "steps": steps}


def report(t: dict, customers: int, days: int, events: int, build_seconds: float | None) -> None:
    marks = [("file landed", t["landed"]), ("sensor tick", t["tick"]), ("run start", t["run_start"]),
             ("run end", t["run_end"]), ("visible in serving copy", t["visible"])]
    built = f"generate + first full run {build_seconds:.0f} s" if build_seconds is not None else "home reused"
    print(f"shop: {customers:,} customers x {days} days up to yesterday = {events:,} events; {built}")
    print(f"mode: {t['mode']}; micro_batch run {t['status']}")
    previous = t["landed"]
    for label, at in marks[1:]:
        print(f"  -> {label:<24} +{at - previous:6.1f} s   (at +{at - t['landed']:6.1f} s)")
        previous = at
    total = t["visible"] - t["landed"]
    print(f"file landed -> segment row visible: {total:.1f} s (target < {TARGET_SECONDS} s: {'met' if total < TARGET_SECONDS else 'NOT met'})")
    print("slowest steps of the micro_batch run:")
    for stat in sorted(t["steps"], key=lambda s: -((s.end_time or 0) - (s.start_time or 0)))[:6]:
        print(f"  {stat.step_key:<40} {(stat.end_time or 0) - (stat.start_time or 0):6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--category", default="tech")
    parser.add_argument("--views", type=int, default=4, help="product views of the category in the new file")
    parser.add_argument("--in-process", action="store_true", help="evaluate the sensor and run here, not via the daemon")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the row to appear")
    parser.add_argument("--home", type=Path, help="use this home (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    parser.add_argument("--reuse", action="store_true", help="with --home: skip building when it has a serving copy")
    args = parser.parse_args()
    segment = f"browsing_{args.category}_now"
    if f"name: {segment}\n" not in (REPO / "segments.yml").read_text():
        raise SystemExit(f"segments.yml has no segment {segment!r}")
    home = (args.home or Path(tempfile.mkdtemp(prefix="bench-nrt-"))).resolve()
    os.environ["SEGMENTS_HOME"] = str(home)  # before any orchestration import: partitions read the home
    global TICK_SECONDS
    from orchestration.defs.ingest.sensors import TICK_SECONDS
    today = datetime.now(timezone.utc).date()
    try:
        started = time.perf_counter()
        build_seconds = None
        if not (args.reuse and (home / "serving" / "segments.duckdb").exists()):
            cli(home, "generate", "--customers", str(args.customers), "--days", str(args.days), "--seed", str(args.seed))
            cli(home, "run", "--all")
            build_seconds = time.perf_counter() - started
        if datetime.now(timezone.utc).date() != today:
            raise SystemExit("the UTC day changed while the shop was built: run again")
        warehouse = home / "warehouse.duckdb"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            events = con.execute("select count(*) from staging.stg_events").fetchone()[0]
        customer = pick_customer(warehouse, args.category, segment, today - timedelta(days=1))
        frame = view_events(customer, category_products(warehouse, args.category), args.category, args.views,
                            datetime.now(timezone.utc))
        print(f"customer {customer}: {args.views} {args.category!r} views today -> expected in {segment!r}")
        if args.in_process:
            timings = measure_in_process(home, customer, segment, frame, today)
        else:
            timings = measure_with_daemon(home, customer, segment, frame, today, args.timeout)
        report(timings, args.customers, args.days, events, build_seconds)
    finally:
        if args.home is None and not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
