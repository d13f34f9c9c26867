"""Ground-truth tables: who was which persona when, who switched, who is behind an anonymous_id."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from shop.simulator.catalog import Catalog
from shop.simulator.customers import Population
from shop.simulator.personas import PERSONA_NAMES

DAILY_TRUTH_SCHEMA = pl.Schema(
    {
        "customer_id": pl.String,
        "date": pl.Date,
        "persona": pl.String,
        "p_purchase": pl.Float64,
        "p_purchase_base": pl.Float64,
        "expected_sessions": pl.Float64,
    }
)

UPLIFT_SCHEMA = pl.Schema(
    {
        "campaign_id": pl.String,
        "customer_id": pl.String,
        "group": pl.String,
        "discount_pct": pl.Float64,
        "discount_sensitivity": pl.Float64,
        "p_window_control": pl.Float64,
        "p_window_treated": pl.Float64,
        "true_uplift": pl.Float64,
    }
)

# What each ground-truth file means; copied into meta.json.
FILES_DOC = {
    "personas.parquet": "customer_id, persona, focus_subcategory, valid_from, valid_to (inclusive dates). "
    "A customer who switched has two rows: valid_to of the first is the day before switch_date.",
    "switches.parquet": "customer_id, switch_date, from_persona, to_persona, from_focus, to_focus. "
    "from_persona == to_persona means the customer only moved focus (e.g. laptops -> tablets).",
    "daily_truth.parquet": "customer_id, date, persona, p_purchase, p_purchase_base, expected_sessions for every "
    "customer and day. p_purchase is the exact Bernoulli probability the simulator used to decide whether the "
    "customer makes >= 1 purchase that UTC day (a purchase event with quantity > 0; later returns are purchase "
    "events with negative quantity and are not purchases). p_purchase_base is the same without any campaign "
    "boost; new visitors have p = 0 before they sign up.",
    "uplift.parquet": "one row per campaign and audience member: group, discount_pct, discount_sensitivity, "
    "p_window_control / p_window_treated = P(>= 1 purchase in the response window, the days after sent_ts, cut "
    "at the end of the range) without / with treatment, true_uplift = treated - control.",
    "identities.parquet": "customer_id, anonymous_id, first_visit_date, signup_date of every new visitor.",
}


def _dates(start: dt.date, days: np.ndarray) -> pl.Series:
    return pl.Series(np.datetime64(start, "D") + days.astype("timedelta64[D]"), dtype=pl.Date)


def personas_frame(pop: Population, catalog: Catalog, start: dt.date, days: int) -> pl.DataFrame:
    names = pl.Series(PERSONA_NAMES, dtype=pl.String)
    subs = pl.Series(catalog.subcategory_names, dtype=pl.String)
    everyone = np.arange(pop.n)
    switched = np.flatnonzero(pop.switch_day < days)
    last = np.full(pop.n, days - 1)
    last[switched] = pop.switch_day[switched] - 1
    before = pl.DataFrame(
        {
            "customer_id": pop.ids,
            "persona": names.gather(pop.persona0),
            "focus_subcategory": subs.gather(pop.focus0),
            "valid_from": _dates(start, np.zeros(pop.n, dtype=np.int64)),
            "valid_to": _dates(start, last),
            "_order": everyone * 2,
        }
    )
    after = pl.DataFrame(
        {
            "customer_id": pop.ids.gather(switched),
            "persona": names.gather(pop.persona1[switched]),
            "focus_subcategory": subs.gather(pop.focus1[switched]),
            "valid_from": _dates(start, pop.switch_day[switched]),
            "valid_to": _dates(start, np.full(len(switched), days - 1)),
            "_order": switched * 2 + 1,
        }
    )
    return pl.concat([before, after]).sort("_order").drop("_order")


def switches_frame(pop: Population, catalog: Catalog, start: dt.date, days: int) -> pl.DataFrame:
    names = pl.Series(PERSONA_NAMES, dtype=pl.String)
    subs = pl.Series(catalog.subcategory_names, dtype=pl.String)
    s = np.flatnonzero(pop.switch_day < days)
    return pl.DataFrame(
        {
            "customer_id": pop.ids.gather(s),
            "switch_date": _dates(start, pop.switch_day[s]),
            "from_persona": names.gather(pop.persona0[s]),
            "to_persona": names.gather(pop.persona1[s]),
            "from_focus": subs.gather(pop.focus0[s]),
            "to_focus": subs.gather(pop.focus1[s]),
        }
    )


def identities_frame(pop: Population, start: dt.date) -> pl.DataFrame:
    s = np.flatnonzero(pop.is_new)
    return pl.DataFrame(
        {
            "customer_id": pop.ids.gather(s),
            "anonymous_id": pop.anon_ids.gather(s),
            "first_visit_date": _dates(start, pop.first_visit_day[s]),
            "signup_date": _dates(start, pop.signup_day[s]),
        }
    )
