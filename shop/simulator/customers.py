"""The customer population: who is who, where they live, how active they are and when they switch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from shop.contract import CUSTOMERS
from shop.simulator.catalog import Catalog
from shop.simulator.personas import (
    LAPSE_TAU_DAYS,
    NEW_VISITOR,
    PERSONA_INDEX,
    PERSONA_NAMES,
    TRANSITIONS,
    PersonaTable,
)

# country -> (share, ((city, region), ...))
COUNTRIES: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {
    "DE": (0.3, (("Berlin", "DE-BE"), ("Munich", "DE-BY"), ("Hamburg", "DE-HH"), ("Cologne", "DE-NW"))),
    "FR": (0.15, (("Paris", "FR-IDF"), ("Lyon", "FR-ARA"), ("Marseille", "FR-PAC"))),
    "GB": (0.12, (("London", "GB-ENG"), ("Manchester", "GB-ENG"), ("Edinburgh", "GB-SCT"))),
    "NL": (0.1, (("Amsterdam", "NL-NH"), ("Rotterdam", "NL-ZH"), ("Utrecht", "NL-UT"))),
    "ES": (0.08, (("Madrid", "ES-MD"), ("Barcelona", "ES-CT"))),
    "IT": (0.08, (("Milan", "IT-25"), ("Rome", "IT-62"))),
    "SE": (0.06, (("Stockholm", "SE-AB"), ("Gothenburg", "SE-O"))),
    "PL": (0.06, (("Warsaw", "PL-14"), ("Krakow", "PL-12"))),
    "AT": (0.05, (("Vienna", "AT-9"), ("Graz", "AT-6"))),
}
CITY_COUNTRY: tuple[str, ...] = tuple(c for c, (_, cities) in COUNTRIES.items() for _ in cities)
CITY_NAMES: tuple[str, ...] = tuple(city for _, cities in COUNTRIES.values() for city, _ in cities)
CITY_REGIONS: tuple[str, ...] = tuple(region for _, cities in COUNTRIES.values() for _, region in cities)
CITY_WEIGHTS = np.array([share / len(cities) for share, cities in COUNTRIES.values() for _ in cities])

GENDERS: tuple[str, ...] = ("female", "male", "diverse")
PRIMARY_DEVICE_SHARE = 0.7  # share of sessions on the customer's own main device
NEW_VISITOR_SIGNUP_P = 0.15  # daily chance an anonymous visitor signs up (geometric wait)
NEVER = np.iinfo(np.int64).max // 4  # a day index no simulation reaches


@dataclass
class Population:
    n: int
    ids: pl.Series  # customer_id strings
    anon_ids: pl.Series  # anonymous_id of new visitors, null for everyone else
    persona0: np.ndarray  # persona before the switch day (or for good)
    persona1: np.ndarray  # persona from the switch day on (== persona0 when no switch)
    focus0: np.ndarray  # focus subcategory before / after the switch
    focus1: np.ndarray
    switch_day: np.ndarray  # day index of the switch, NEVER without one
    act_mult: np.ndarray  # individual activity level (mean 1)
    buy_mult: np.ndarray  # individual purchase propensity (mean 1)
    sens_mult: np.ndarray  # individual discount sensitivity multiplier (mean 1)
    lapse_tau: np.ndarray  # days of the exponential fade when lapsing
    is_new: np.ndarray  # new visitor: anonymous until signup_day
    first_visit_day: np.ndarray  # new visitors: first anonymous visit; others 0
    signup_day: np.ndarray  # new visitors: day of the identify event; others -1 (before the range)
    signup_ts_us: np.ndarray  # microseconds since epoch; new visitors filled in when they identify
    city: np.ndarray
    primary_device: np.ndarray
    email_opt_in: np.ndarray
    push_opt_in: np.ndarray
    birth_year: np.ndarray  # 0 = unknown
    gender: np.ndarray  # -1 = unknown

    def persona_on(self, day: int) -> np.ndarray:
        return np.where(day >= self.switch_day, self.persona1, self.persona0)

    def focus_on(self, day: int) -> np.ndarray:
        return np.where(day >= self.switch_day, self.focus1, self.focus0)

    def known_before(self, day: int) -> np.ndarray:
        """Customers who signed up before the given day (campaign audiences)."""
        return ~self.is_new | (self.signup_day < day)

    def frame(self) -> pl.DataFrame:
        """The CUSTOMERS table; new visitors who never identified in the range are left out."""
        known = ~self.is_new | (self.signup_ts_us >= 0)
        idx = np.flatnonzero(known)
        ids = self.ids.gather(idx)
        gender = np.array(GENDERS + (None,), dtype=object)[np.where(self.gender < 0, len(GENDERS), self.gender)]
        return pl.DataFrame(
            {
                "customer_id": ids,
                "email": ids + "@example.com",
                "signup_ts": pl.Series(self.signup_ts_us[idx], dtype=pl.Int64),
                "birth_year": pl.Series(self.birth_year[idx], dtype=pl.Int64),
                "gender": pl.Series(gender[idx], dtype=pl.String),
                "country": pl.Series(np.asarray(CITY_COUNTRY)[self.city[idx]], dtype=pl.String),
                "city": pl.Series(np.asarray(CITY_NAMES)[self.city[idx]], dtype=pl.String),
                "email_opt_in": self.email_opt_in[idx],
                "push_opt_in": self.push_opt_in[idx],
            }
        ).with_columns(
            pl.from_epoch("signup_ts", time_unit="us").dt.replace_time_zone("UTC"),
            pl.when(pl.col("birth_year") > 0).then(pl.col("birth_year")),
        ).cast(dict(CUSTOMERS.schema))


def persona_counts(n: int, shares: np.ndarray) -> np.ndarray:
    """Largest-remainder split of n customers over the persona shares (deterministic)."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    order = np.lexsort((np.arange(len(raw)), -(raw - counts)))
    counts[order[:rest]] += 1
    return counts


def customer_ids(n: int) -> pl.Series:
    width = max(6, len(str(n)))
    return ("c" + pl.Series("customer_id", np.arange(1, n + 1)).cast(pl.String).str.zfill(width)).alias(
        "customer_id"
    )


def draw_focus(persona: np.ndarray, table: PersonaTable, catalog: Catalog, rng: np.random.Generator) -> np.ndarray:
    """A focus subcategory per customer: category by persona taste, then a subcategory of it."""
    cat_cdf = np.cumsum(table.category_weights, axis=1)
    cat_cdf /= cat_cdf[:, -1:]
    u = rng.random(len(persona))
    category = (u[:, None] >= cat_cdf[persona]).sum(axis=1)
    category = np.minimum(category, cat_cdf.shape[1] - 1)
    n_sub = np.bincount(catalog.subcategory_category, minlength=cat_cdf.shape[1])
    first_sub = np.cumsum(n_sub) - n_sub
    pick = np.floor(rng.random(len(persona)) * n_sub[category]).astype(np.int64)
    return first_sub[category] + pick


def build_population(
    n: int,
    days: int,
    start_us: int,
    table: PersonaTable,
    catalog: Catalog,
    rng: np.random.Generator,
    switch_share: float,
) -> Population:
    counts = persona_counts(n, table.share)
    persona0 = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    focus0 = draw_focus(persona0, table, catalog, rng)

    # switches: a fixed number of established customers, on days in the middle of the range
    persona1 = persona0.copy()
    focus1 = focus0.copy()
    switch_day = np.full(n, NEVER, dtype=np.int64)
    eligible = np.flatnonzero(persona0 != NEW_VISITOR)
    n_switch = min(int(round(switch_share * n)), len(eligible)) if days >= 2 else 0
    if n_switch > 0:
        who = np.sort(rng.choice(eligible, size=n_switch, replace=False))
        lo = max(1, int(days * 0.3))
        hi = max(lo, int(days * 0.7))
        switch_day[who] = rng.integers(lo, hi + 1, size=n_switch)
        u = rng.random(n_switch)
        for i, name in enumerate(PERSONA_NAMES):
            sel = persona0[who] == i
            if not sel.any():
                continue
            targets = np.array([PERSONA_INDEX[t] for t in TRANSITIONS[name]])
            persona1[who[sel]] = targets[np.floor(u[sel] * len(targets)).astype(np.int64)]
        new_focus = draw_focus(persona1[who], table, catalog, rng)
        # same persona: move to another subcategory of the same category (laptops -> tablets, ...)
        same = persona1[who] == persona0[who]
        cat = catalog.subcategory_category[focus0[who]]
        n_sub = np.bincount(catalog.subcategory_category)
        first_sub = np.cumsum(n_sub) - n_sub
        shift = 1 + np.floor(rng.random(n_switch) * (n_sub[cat] - 1)).astype(np.int64)
        moved = first_sub[cat] + (focus0[who] - first_sub[cat] + shift) % n_sub[cat]
        focus1[who] = np.where(same, moved, new_focus)

    is_new = persona0 == NEW_VISITOR
    first_visit = np.where(is_new, rng.integers(0, days, size=n), 0)
    wait = rng.geometric(NEW_VISITOR_SIGNUP_P, size=n) - 1
    signup_day = np.where(is_new, np.minimum(first_visit + wait, days - 1), -1)
    day_us = 86_400 * 1_000_000
    age_us = (rng.random(n) * 1095 * day_us).astype(np.int64) + day_us
    signup_ts = np.where(is_new, -1, start_us - age_us)

    anon_raw = rng.integers(0, 2**62, size=n, dtype=np.int64)
    anon = [f"a{v:016x}" if new else None for v, new in zip(anon_raw.tolist(), is_new.tolist())]

    p_of = persona0
    birth = np.clip(np.round(rng.normal(1986, 12, size=n)), 1940, 2008).astype(np.int64)
    birth = np.where(rng.random(n) < 0.04, 0, birth)
    gender = rng.choice(np.array([0, 1, 2, -1]), size=n, p=[0.5, 0.45, 0.02, 0.03])
    device_u = rng.random(n)
    primary = (device_u[:, None] >= table.device_cdf[p_of]).sum(axis=1).clip(0, 2)
    return Population(
        n=n,
        ids=customer_ids(n),
        anon_ids=pl.Series("anonymous_id", anon, dtype=pl.String),
        persona0=persona0.astype(np.int64),
        persona1=persona1.astype(np.int64),
        focus0=focus0,
        focus1=focus1,
        switch_day=switch_day,
        act_mult=rng.lognormal(-0.125, 0.5, size=n),
        buy_mult=rng.lognormal(-0.08, 0.4, size=n),
        sens_mult=rng.lognormal(-0.045, 0.3, size=n),
        lapse_tau=rng.uniform(*LAPSE_TAU_DAYS, size=n),
        is_new=is_new,
        first_visit_day=first_visit,
        signup_day=signup_day,
        signup_ts_us=signup_ts,
        city=rng.choice(len(CITY_WEIGHTS), size=n, p=CITY_WEIGHTS / CITY_WEIGHTS.sum()),
        primary_device=primary,
        email_opt_in=rng.random(n) < table.email_opt_in[p_of],
        push_opt_in=rng.random(n) < table.push_opt_in[p_of],
        birth_year=birth,
        gender=gender,
    )
