"""The synthetic shop: writes contract-shaped landing files and the ground truth behind them.

`generate(home, customers, days, start, seed)` simulates `days` UTC days starting at `start` for a
fixed population of `customers` and writes

- landing/events/event_date=YYYY-MM-DD/events.parquet (one file per day, sorted by event_ts)
- landing/{customers,products,campaigns,campaign_assignments}/*.parquet
- ground_truth/{personas,switches,daily_truth,uplift,identities}.parquet and meta.json

Everything depends only on (customers, days, start, seed, switch_share, treatment_share): the same
inputs give byte-identical files. Work is done day by day; only the population and the ground
truth writers live across days.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

from shop.contract import CAMPAIGN_ASSIGNMENTS, CONTRACT_VERSION, EVENT_TYPES
from shop.home import Home
from shop.simulator import campaigns as camp
from shop.simulator import catalog as cat_mod
from shop.simulator import events as ev
from shop.simulator.catalog import build_catalog
from shop.simulator.columns import Lookups
from shop.simulator.customers import CITY_COUNTRY, CITY_REGIONS, build_population
from shop.simulator.personas import (
    LAPSE_TAU_DAYS,
    PERSONA_NAMES,
    SEASON_PEAK_DOY,
    WEEKDAY_FACTORS,
    PersonaTable,
    persona_definitions,
)
from shop.simulator.truth import (
    DAILY_TRUTH_SCHEMA,
    FILES_DOC,
    UPLIFT_SCHEMA,
    identities_frame,
    personas_frame,
    switches_frame,
)
from shop.simulator.writer import StreamWriter, write_parquet

__all__ = ["generate", "default_start"]

EVENTS_FILE = "events.parquet"
DEFAULT_SWITCH_SHARE = 0.1
DEFAULT_TREATMENT_SHARE = 0.5

SEMANTICS = {
    "price": "unit list price of the product (shown and charged before discounts)",
    "discount_amount": "discount on the whole line in currency: revenue = price * quantity - discount_amount",
    "returns": "purchase events with negative quantity and negative discount_amount, same order_id and "
    "product as the returned line, a few days later, in a short session of their own",
    "identity": "new visitors' events carry only anonymous_id until their identify event (which carries both); "
    "from then on they carry customer_id and anonymous_id; established customers carry customer_id only",
    "sessions": "session_id is set on every event except email_open, email_click and push_open",
    "campaigns": "treated customers get email_open/email_click or push_open events (campaign_id set) on the "
    "send day; for the next days their purchase probability is boosted (see uplift.parquet); purchase lines "
    "that used the campaign code carry its campaign_id. Control customers only appear in the assignments.",
}


def default_start(days: int, today: dt.date | None = None) -> dt.date:
    """Start so that the last simulated day is yesterday (UTC)."""
    return (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=days)


def _epoch_us(day: dt.date) -> int:
    return int((dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1_000_000)


def _remove_stale_event_files(home: Home, keep: set[str]) -> int:
    """Drop simulator event files of days outside this run so the landing matches the ground truth."""
    removed = 0
    root = home.landing / "events"
    if not root.is_dir():
        return 0
    for folder in sorted(root.glob("event_date=*")):
        target = folder / EVENTS_FILE
        if folder.name not in keep and target.is_file():
            target.unlink()
            removed += 1
            if not any(folder.iterdir()):
                folder.rmdir()
    return removed


def generate(
    home: Home,
    customers: int,
    days: int,
    start: dt.date | None = None,
    seed: int = 42,
    *,
    switch_share: float = DEFAULT_SWITCH_SHARE,
    treatment_share: float = DEFAULT_TREATMENT_SHARE,
) -> dict:
    """Simulate the shop and write landing files plus ground truth into `home`; returns a summary."""
    if isinstance(customers, bool) or not isinstance(customers, int) or customers < 1:
        raise ValueError(f"customers must be a positive integer, got {customers!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    if not 0.0 <= switch_share <= 1.0:
        raise ValueError(f"switch_share must be within [0, 1], got {switch_share!r}")
    if not 0.0 <= treatment_share <= 1.0:
        raise ValueError(f"treatment_share must be within [0, 1], got {treatment_share!r}")
    if isinstance(start, dt.datetime) or (start is not None and not isinstance(start, dt.date)):
        raise ValueError(f"start must be a datetime.date, got {start!r}")
    start = start or default_start(days)
    end = start + dt.timedelta(days=days - 1)
    landing, truth_dir = home.landing, home.ground_truth
    if truth_dir.resolve().is_relative_to(landing.resolve()):
        raise ValueError(f"ground truth {truth_dir} must not be inside the landing zone {landing}")

    start_us = _epoch_us(start)
    table = PersonaTable()
    catalog = build_catalog(np.random.default_rng([seed, 10]))
    pop = build_population(customers, days, start_us, table, catalog, np.random.default_rng([seed, 11]),
                           switch_share)
    written: list[Path] = []

    # campaigns: audiences, random assignment and the uplift truth, before any day is simulated
    campaigns = camp.plan_campaigns(seed, start, days, start_us)
    assignments_out = StreamWriter(landing / "campaign_assignments" / "assignments.parquet",
                                   CAMPAIGN_ASSIGNMENTS.empty())
    uplift_out = StreamWriter(truth_dir / "uplift.parquet", pl.DataFrame(schema=UPLIFT_SCHEMA))
    treated = []
    for c in campaigns:
        a = camp.assign(c, pop, seed, treatment_share)
        assignments_out.write(a.assignments_frame(pop))
        uplift_out.write(camp.uplift_frame(a, pop, table, start, days))
        treated.append(camp.Treated(c, a.treated_customers))
    written += [assignments_out.close(), uplift_out.close()]

    lookups = Lookups(
        customer_ids=pop.ids,
        anonymous_ids=pop.anon_ids,
        customer_city=pop.city,
        city_country=pl.Series(CITY_COUNTRY, dtype=pl.String),
        city_region=pl.Series(CITY_REGIONS, dtype=pl.String),
        product_ids=catalog.frame["product_id"],
        product_brand=catalog.frame["brand"],
        categories=pl.Series(cat_mod.CATEGORY_NAMES, dtype=pl.String),
        queries=pl.Series(catalog.queries, dtype=pl.String),
        campaign_ids=pl.Series([c.campaign_id for c in campaigns], dtype=pl.String),
        persona_names=pl.Series(PERSONA_NAMES, dtype=pl.String),
    )
    ctx = ev.Context(
        seed=seed, start=start, start_us=start_us, pop=pop, table=table, catalog=catalog,
        calendar=camp.CampaignCalendar(customers, treated),
        campaign_pct=np.array([c.discount_pct / 100.0 for c in campaigns] or [0.0]),
        lookups=lookups,
    )

    day_names = {f"event_date={start + dt.timedelta(days=d):%Y-%m-%d}" for d in range(days)}
    removed = _remove_stale_event_files(home, day_names)
    counters = ev.Counters()
    returns_due: dict = {}
    type_counts = np.zeros(len(EVENT_TYPES), dtype=np.int64)
    truth_out = StreamWriter(truth_dir / "daily_truth.parquet", pl.DataFrame(schema=DAILY_TRUTH_SCHEMA))
    for d in range(days):
        date = start + dt.timedelta(days=d)
        result = ev.simulate_day(ctx, d, date, counters, returns_due)
        written.append(write_parquet(result.events, home.landing_events_day(f"{date:%Y-%m-%d}") / EVENTS_FILE))
        truth_out.write(result.truth)
        type_counts += result.stats["event_types"]
    written.append(truth_out.close())

    written.append(write_parquet(pop.frame(), landing / "customers" / "customers.parquet"))
    written.append(write_parquet(catalog.frame, landing / "products" / "products.parquet"))
    written.append(write_parquet(camp.campaigns_frame(campaigns), landing / "campaigns" / "campaigns.parquet"))
    written.append(write_parquet(personas_frame(pop, catalog, start, days), truth_dir / "personas.parquet"))
    written.append(write_parquet(switches_frame(pop, catalog, start, days), truth_dir / "switches.parquet"))
    written.append(write_parquet(identities_frame(pop, start), truth_dir / "identities.parquet"))

    persona_counts = np.bincount(pop.persona0, minlength=len(PERSONA_NAMES))
    n_switches = int((pop.switch_day < days).sum())
    meta = {
        "generator": "shop.simulator",
        "contract_version": CONTRACT_VERSION,
        "seed": seed,
        "customers": customers,
        "days": days,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "params": {
            "switch_share": switch_share,
            "treatment_share": treatment_share,
            "campaign_first_send_day": camp.FIRST_SEND_DAY,
            "campaign_interval_days": camp.INTERVAL_DAYS,
            "campaign_send_hour_utc": camp.SEND_HOUR_UTC,
            "campaign_response_weights": camp.RESPONSE_WEIGHTS.tolist(),
            "campaign_reference_discount_pct": camp.REFERENCE_DISCOUNT_PCT,
            "campaign_code_use": f"min({camp.CAMPAIGN_CODE_USE_BASE} + sensitivity, {camp.CAMPAIGN_CODE_USE_MAX})",
            "uplift_rule": "p_treated(day k after send) = 1 - (1 - p_base) * (1 - h_k), "
            "h_k = min(sensitivity * discount_pct / reference_discount_pct * response_weights[k], 0.9)",
            "purchase_rule": "p_base = min(1 - exp(-purchase_rate * activity * buy_mult), 0.9), activity = "
            "act_mult * weekday_factor * season_factor(persona) * lapse_fade",
            "weekday_factors_mon_to_sun": WEEKDAY_FACTORS.tolist(),
            "season_peak_day_of_year": SEASON_PEAK_DOY,
            "category_season_amplitude": dict(zip(cat_mod.CATEGORY_NAMES,
                                                  cat_mod.CATEGORY_SEASON_AMPLITUDE.tolist())),
            "lapse_tau_days": list(LAPSE_TAU_DAYS),
            "weekly_sale_share": cat_mod.SALE_SHARE,
            "coupon_pct": ev.COUPON_PCT,
            "max_sessions_per_day": ev.MAX_SESSIONS_PER_DAY,
        },
        "personas": persona_definitions(),
        "persona_counts_at_start": dict(zip(PERSONA_NAMES, persona_counts.tolist())),
        "switches": n_switches,
        "campaigns": [
            {"campaign_id": c.campaign_id, "channel": c.channel, "discount_pct": c.discount_pct,
             "send_date": (start + dt.timedelta(days=c.send_day)).isoformat(),
             "treated": int(len(t.customers))}
            for c, t in zip(campaigns, treated)
        ],
        "event_counts": dict(zip(EVENT_TYPES, type_counts.tolist())),
        "files": FILES_DOC,
        "semantics": SEMANTICS,
    }
    meta_path = truth_dir / "meta.json"
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(meta_path)

    root = home.root
    return {
        "events": int(counters.events),
        "customers": customers,
        "days": days,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "seed": seed,
        "sessions": int(counters.sessions),
        "orders": int(counters.orders),
        "campaigns": len(campaigns),
        "switches": n_switches,
        "event_counts": dict(zip(EVENT_TYPES, type_counts.tolist())),
        "files_written": len(written),
        "removed_stale_files": removed,
        "paths": {
            "landing": str(landing),
            "ground_truth": str(truth_dir),
            "events": str(landing / "events"),
        },
        "files": [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in written],
    }

