"""What the recommendation caps cost and what they buy: `customer_recommendations`' time against next-day hits.

    .venv/bin/python bench/bench_recommendation_caps.py --home <home> [--caps 20x20,20x10,10x20,10x10]

The home is one `bench_features.py --keep --engines ...,dbt-day` leaves: its `warehouse.dbt-day.duckdb`
holds every day but the lake's last, so the lake's last day is the "next day" no model has seen (the
bench works on a copy of that file). For each seeds x related pair
(`recommendations_max_seed_products` x `recommendations_related_per_product`) the model is compiled for
the warehouse's last day with those caps, then run alone on the warehouse (read only, into a temp
table). It prints the seconds and the hit share: of the next day's identified buyers who got
recommendations, the share whose list held a product they bought that day, with its binomial standard
error (one day of one shop: differences of less than two of them are noise).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import dbt_command, dbt_env, load_average, run_measured  # noqa: E402

TARGET = "dbt_target_caps"
HISTORY = "warehouse.dbt-day.duckdb"
SCRATCH = "caps_bench"
COMPILED = Path("compiled/segments/models/marts/customer_recommendations.sql")


def parse_caps(text: str) -> list[tuple[int, int]]:
    """'20x20,20x10' -> [(20, 20), (20, 10)]: seed products x related products per seed, each >= 1."""
    caps = []
    for part in text.split(","):
        seeds, sep, related = part.strip().lower().partition("x")
        if not sep or not seeds.isdigit() or not related.isdigit() or int(seeds) < 1 or int(related) < 1:
            raise ValueError(f"caps are <seeds>x<related> pairs of whole numbers >= 1, e.g. 20x10; got {part!r}")
        caps.append((int(seeds), int(related)))
    return caps


def next_day_hits(con, recommendations: str, bought: str) -> dict:
    """Hits of `recommendations` (customer_id, product_id) against `bought` (customer_id, product_id, distinct)
    among the buyers who got recommendations: buyers, buyers hit, share and its standard error."""
    buyers, hit = con.execute(f"""
        select count(*), count(*) filter (where hit)
        from (
            select b.customer_id, bool_or(r.product_id is not null) as hit
            from {bought} as b
            semi join (select distinct customer_id from {recommendations}) as got using (customer_id)
            left join {recommendations} as r using (customer_id, product_id)
            group by b.customer_id
        ) as per_buyer""").fetchone()
    share = hit / buyers if buyers else 0.0
    return {"buyers": buyers, "hit": hit, "share": share,
            "standard_error": math.sqrt(share * (1 - share) / buyers) if buyers else 0.0}


def last_day(warehouse: Path) -> date:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        day = con.execute("select max(as_of_date) from marts.customer_features").fetchone()[0]
    if day is None:
        raise SystemExit(f"{warehouse} has no customer_features: build the shop with bench_features.py --keep first")
    return day


def compile_model(home: Path, day: date, seeds: int, related: int) -> str:
    variables = {"min_date": day.isoformat(), "max_date": day.isoformat(),
                 "recommendations_max_seed_products": seeds, "recommendations_related_per_product": related}
    run_measured(dbt_command(home, "compile", "--select", "customer_recommendations", "--vars", json.dumps(variables),
                             target=TARGET), env=dbt_env(home))
    return (home / TARGET / COMPILED).read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--caps", default="20x20,20x10,10x20,10x10")
    args = parser.parse_args(argv)
    caps = parse_caps(args.caps)
    history = args.home / HISTORY
    if not history.exists():
        raise SystemExit(f"no {history}: prepare the home with bench_features.py --keep --engines duckdb,dbt-day")
    scratch = args.home / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        shutil.copyfile(history, scratch / "warehouse.duckdb")
        (scratch / "lake").symlink_to((args.home / "lake").resolve())
        return measure(scratch, caps)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure(home: Path, caps: list[tuple[int, int]]) -> int:
    warehouse = home / "warehouse.duckdb"
    day = last_day(warehouse)
    next_day = day + timedelta(days=1)
    events = home / "lake" / "events" / f"event_date={next_day.isoformat()}"
    if not events.is_dir():
        raise SystemExit(f"no events of the next day {next_day} in {events.parent}")
    print(f"before: {load_average()}; recommendations as of {day}, hits on {next_day}")
    # every compile first: dbt opens the warehouse to write, so no reader may hold it meanwhile
    compiled = {pair: compile_model(home, day, *pair) for pair in caps}

    rows = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"""create temp table bought as
            select distinct customer_id, product_id from read_parquet('{events}/*.parquet')
            where event_type = 'purchase' and customer_id is not null and product_id is not null""")
        for (seeds, related), sql in compiled.items():
            began = time.perf_counter()
            con.execute(f"create or replace temp table recommended as {sql}")
            seconds = time.perf_counter() - began
            count = con.execute("select count(*), count(distinct customer_id) from recommended").fetchone()
            rows.append((f"{seeds} x {related}", seconds, count, next_day_hits(con, "recommended", "bought")))

    print("\n| seeds x related | seconds | recommendations | customers | next-day buyers among them | hit | share (+- s.e.) |")
    print("|---|---|---|---|---|---|---|")
    for caps_text, seconds, (recommendations, customers), hits in rows:
        print(f"| {caps_text} | {seconds:.1f} | {recommendations:,} | {customers:,} | {hits['buyers']:,} | {hits['hit']:,} "
              f"| {hits['share']:.2%} (+- {hits['standard_error']:.2%}) |")
    print(f"\nafter: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
