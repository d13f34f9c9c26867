"""One simulated day for all customers at once: sessions, funnels, campaign messages and returns.

Purchases are decided first, per customer, with the day's true probability p (rates + campaign
boost); the sessions and funnels are then drawn consistent with that decision, so ground truth
p_purchase is exactly the Bernoulli parameter behind each customer-day's purchase.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from shop.simulator.campaigns import CAMPAIGN_CODE_USE_BASE, CAMPAIGN_CODE_USE_MAX, CampaignCalendar
from shop.simulator.catalog import CATEGORY_RETURN_FACTOR, Catalog, ProductChooser, weekly_sale
from shop.simulator.columns import (
    CHANNEL_CODE,
    DEVICE_CODE,
    EVENT_CODE,
    PAGE_CODE,
    Lookups,
    Rows,
    to_frame,
)
from shop.simulator.customers import PRIMARY_DEVICE_SHARE, Population
from shop.simulator.personas import PersonaTable
from shop.simulator.rates import day_rates

DAY_S = 86_400
DAY_US = DAY_S * 1_000_000
# Share of sessions starting in each UTC hour (European shop: evening peak).
HOUR_WEIGHTS = np.array([
    0.6, 0.4, 0.3, 0.25, 0.25, 0.4, 0.8, 1.5, 2.2, 2.8, 3.0, 3.1,
    3.3, 3.2, 3.1, 3.2, 3.5, 4.0, 4.8, 5.5, 5.6, 4.8, 3.2, 1.6,
])
HOUR_CDF = np.cumsum(HOUR_WEIGHTS) / HOUR_WEIGHTS.sum()
MAX_SESSIONS_PER_DAY = 5
MAX_PAGE_VIEWS = 15
MAX_SEARCHES = 8
MAX_PRODUCT_VIEWS = 30
MAX_DWELL_S = 1200.0
SESSION_GAP_S = 1800.0  # quiet time kept between two sessions of one customer
DWELL_SIGMA = 0.8
SEARCH_DWELL_S = 20.0
APP_SHARE = 0.5  # sessions on mobile/tablet that use the app
COUPON_PCT = 0.1
RETURN_DELAY_P = 0.2  # returns come 3 + Geometric(p) - 1 days after the purchase
EMAIL_OPEN_DELAY_S = 7200.0
# Other (non-landing) page types and their shares.
OTHER_PAGES = np.array([PAGE_CODE[p] for p in ("category", "home", "content", "cart", "account")])
OTHER_PAGES_CDF = np.cumsum([0.45, 0.15, 0.2, 0.1, 0.1])
PRICE_LEVELS = np.array([10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200, 250, 300, 400, 500, 750,
                         1000, 1500, 2000, 3000])


@dataclass
class Context:
    seed: int
    start: dt.date
    start_us: int
    pop: Population
    table: PersonaTable
    catalog: Catalog
    calendar: CampaignCalendar
    campaign_pct: np.ndarray  # discount fraction per campaign number
    lookups: Lookups


@dataclass
class Counters:
    events: int = 0
    sessions: int = 0
    orders: int = 0


@dataclass
class DayResult:
    events: pl.DataFrame
    truth: pl.DataFrame
    stats: dict = field(default_factory=dict)


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sigma: float) -> np.ndarray:
    return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma)


def _segment_first(owner: np.ndarray, n_owners: int) -> np.ndarray:
    """Index of the first row of each owner in rows sorted by owner (owners without rows: next row)."""
    return np.searchsorted(owner, np.arange(n_owners))


def _price_level(value: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(PRICE_LEVELS, value), 0, len(PRICE_LEVELS) - 1)
    return PRICE_LEVELS[idx]


def _search_filters(on: np.ndarray, price_max: np.ndarray, sale: np.ndarray, brand: pl.Series,
                    use_brand: np.ndarray, sort: np.ndarray) -> pl.Series:
    """JSON objects such as {"price_max": 40, "on_sale": true}; null for searches without filters."""
    frame = pl.DataFrame({"on": on, "pm": price_max, "sale": sale, "brand": brand, "use_brand": use_brand,
                          "sort": sort})
    parts = [
        pl.when(pl.col("pm") > 0).then(pl.format('"price_max": {}', pl.col("pm"))),
        pl.when(pl.col("sale")).then(pl.lit('"on_sale": true')),
        pl.when(pl.col("use_brand")).then(pl.format('"brand": "{}"', pl.col("brand"))),
        pl.when(pl.col("sort")).then(pl.lit('"sort": "price_asc"')),
    ]
    inner = pl.concat_str(parts, separator=", ", ignore_nulls=True)
    return frame.select(
        pl.when(pl.col("on")).then(pl.concat_str([pl.lit("{"), inner, pl.lit("}")])).alias("f")
    ).to_series()


def simulate_day(
    ctx: Context, day: int, date: dt.date, counters: Counters, returns_due: dict[int, list[Rows]]
) -> DayResult:
    pop, T, cat = ctx.pop, ctx.table, ctx.catalog
    rng = np.random.default_rng([ctx.seed, 1, day])
    n = pop.n
    day_start_us = ctx.start_us + day * DAY_US

    # --- the truth: today's purchase probability, then the purchase decision ---------------------
    rates = day_rates(pop, T, day, date)
    boost, campaign_of = ctx.calendar.boost(day, rates.sensitivity)
    p = 1.0 - (1.0 - rates.p_base) * (1.0 - boost)
    buys = rng.random(n) < p

    sale = weekly_sale(ctx.seed, day // 7, cat.size)
    chooser = ProductChooser(cat, T, date.timetuple().tm_yday, sale)

    # --- sessions ----------------------------------------------------------------------------------
    identifies = pop.is_new & (pop.signup_day == day)
    n_sess = np.minimum(rng.poisson(rates.sessions), MAX_SESSIONS_PER_DAY)
    n_sess = np.where(buys | identifies, np.maximum(n_sess, 1), n_sess)
    n_s = int(n_sess.sum())
    s_cust = np.repeat(np.arange(n), n_sess)
    s_rank = np.arange(n_s) - (np.cumsum(n_sess) - n_sess)[s_cust]
    s_count = n_sess[s_cust]
    s_per = rates.persona[s_cust]
    s_focus = rates.focus[s_cust]
    buy_rank = np.floor(rng.random(n) * np.maximum(n_sess, 1)).astype(np.int64)
    s_buy = buys[s_cust] & (s_rank == buy_rank[s_cust])
    s_ident = identifies[s_cust] & (s_rank == 0)
    s_anon = (pop.is_new & (day < pop.signup_day))[s_cust]
    ident_key = np.where(s_ident, rng.uniform(0.02, 0.5, n_s), -1.0)
    mix_device = (rng.random(n_s)[:, None] >= T.device_cdf[s_per]).sum(axis=1).clip(0, 2)
    s_device = np.where(rng.random(n_s) < PRIMARY_DEVICE_SHARE, pop.primary_device[s_cust], mix_device)
    s_ad = rng.random(n_s) < T.ad_share[s_per]
    s_app = (s_device != DEVICE_CODE["desktop"]) & (rng.random(n_s) < APP_SHARE)
    s_channel = np.where(s_ad, CHANNEL_CODE["ad"], np.where(s_app, CHANNEL_CODE["app"], CHANNEL_CODE["web"]))

    n_page = 1 + np.minimum(rng.poisson(np.maximum(T.page_views[s_per] - 1.0, 0.0)), MAX_PAGE_VIEWS - 1)
    n_search = np.minimum(rng.poisson(T.searches[s_per]), MAX_SEARCHES)
    n_prod = np.minimum(rng.poisson(T.product_views[s_per]), MAX_PRODUCT_VIEWS)
    n_prod = np.where(s_buy, np.maximum(n_prod, 1), n_prod)

    # --- product views and the cart ------------------------------------------------------------------
    v_s = np.repeat(np.arange(n_s), n_prod)
    n_v = len(v_s)
    v_per = s_per[v_s]
    v_prod = chooser.sample(v_per, s_focus[v_s], rng.random(n_v))
    v_key = rng.uniform(0.05, 0.9, n_v)
    v_sale = sale[v_prod] > 0
    p_add = np.minimum(T.add_rate[v_per] * np.where(v_sale, T.sale_add_boost[v_per], 1.0), 0.95)
    added = rng.random(n_v) < p_add
    last_view = np.cumsum(n_prod) - 1
    need = s_buy & (np.bincount(v_s, weights=added, minlength=n_s) == 0)
    added[last_view[need]] = True
    removed = added & (rng.random(n_v) < T.remove_rate[v_per])
    kept = added & ~removed
    need = s_buy & (np.bincount(v_s, weights=kept, minlength=n_s) == 0)
    if need.any():  # a buying session keeps at least its last added product
        adds = np.flatnonzero(added)
        last_add = adds[np.r_[v_s[adds][1:] != v_s[adds][:-1], True]]
        fix = last_add[need[v_s[last_add]]]
        removed[fix] = False
        kept[fix] = True
    v_qty = 1 + rng.poisson(T.extra_quantity[v_per])
    has_cart = np.bincount(v_s, weights=kept, minlength=n_s) > 0
    s_checkout = s_buy | (has_cart & (rng.random(n_s) < T.abandon_checkout_rate[s_per]))

    # --- purchase lines ----------------------------------------------------------------------------------
    s_order = np.where(s_buy, counters.orders + np.cumsum(s_buy) - 1, -1)
    lines = np.flatnonzero(kept & s_buy[v_s])
    n_l = len(lines)
    l_s = v_s[lines]
    l_cust = s_cust[l_s]
    l_per = s_per[l_s]
    l_prod = v_prod[lines]
    l_qty = v_qty[lines]
    l_price = cat.list_price[l_prod]
    coupon = np.where(rng.random(n_l) < T.coupon_rate[l_per], COUPON_PCT, 0.0)
    l_campaign = campaign_of[l_cust]
    code_use = np.minimum(CAMPAIGN_CODE_USE_BASE + rates.sensitivity[l_cust], CAMPAIGN_CODE_USE_MAX)
    uses_code = (l_campaign >= 0) & (rng.random(n_l) < code_use)
    camp_pct = np.where(uses_code, ctx.campaign_pct[np.maximum(l_campaign, 0)], 0.0)
    rate = np.maximum.reduce([sale[l_prod], coupon, camp_pct])
    l_campaign = np.where(uses_code & (camp_pct >= rate), l_campaign, -1)
    l_discount = np.round(l_price * l_qty * rate, 2)

    # returns of some of today's lines, emitted on a later day
    returned = rng.random(n_l) < T.return_rate[l_per] * CATEGORY_RETURN_FACTOR[cat.category[l_prod]]
    due = day + 2 + rng.geometric(RETURN_DELAY_P, n_l)
    r = np.flatnonzero(returned)
    for due_day in np.unique(due[r]).tolist():
        pick = r[due[r] == due_day]
        returns_due.setdefault(due_day, []).append(
            Rows.make(
                len(pick), event=EVENT_CODE["purchase"], customer=l_cust[pick], page=PAGE_CODE["returns"],
                product=l_prod[pick], category=cat.category[l_prod[pick]], price=l_price[pick],
                quantity=-l_qty[pick], order=s_order[l_s[pick]], discount=0.0 - l_discount[pick] + 0.0,
                device=pop.primary_device[l_cust[pick]], channel=CHANNEL_CODE["web"],
            )
        )

    # --- searches ------------------------------------------------------------------------------------------
    q_s = np.repeat(np.arange(n_s), n_search)
    n_q = len(q_s)
    q_per = s_per[q_s]
    q_prod = chooser.sample(q_per, s_focus[q_s], rng.random(n_q))
    q_sub = cat.subcategory[q_prod]
    q_query = cat.query_offsets[q_sub] + np.floor(rng.random(n_q) * cat.query_counts[q_sub]).astype(np.int64)
    f_on = rng.random(n_q) < T.filter_rate[q_per]
    f_pm = f_on & (rng.random(n_q) < T.filter_price_max[q_per])
    f_sale = f_on & (rng.random(n_q) < T.filter_on_sale[q_per])
    f_brand = f_on & (rng.random(n_q) < T.filter_brand[q_per])
    f_sort = f_on & (rng.random(n_q) < T.filter_sort_price[q_per])
    f_pm |= f_on & ~(f_pm | f_sale | f_brand | f_sort)
    pm_value = _price_level(cat.subcategory_price[q_sub] * T.price_max_factor[q_per] * rng.lognormal(0, 0.2, n_q))
    filters = _search_filters(
        f_on, np.where(f_pm, pm_value, 0), f_sale, ctx.lookups.product_brand.gather(q_prod), f_brand, f_sort
    )

    # --- pages -------------------------------------------------------------------------------------------------
    g_s = np.repeat(np.arange(n_s), n_page)
    n_g = len(g_s)
    g_landing = np.arange(n_g) == (np.cumsum(n_page) - n_page)[g_s]
    other = OTHER_PAGES[np.minimum(np.searchsorted(OTHER_PAGES_CDF, rng.random(n_g) * OTHER_PAGES_CDF[-1],
                                                   side="right"), len(OTHER_PAGES) - 1)]
    g_page = np.where(g_landing, np.where(s_ad[g_s], PAGE_CODE["category"], PAGE_CODE["home"]), other)
    g_cat = np.where(g_page == PAGE_CODE["category"],
                     cat.category[chooser.sample(s_per[g_s], s_focus[g_s], rng.random(n_g))], -1)

    # --- all session events, ordered inside each session by key ------------------------------------------
    ad_s = np.flatnonzero(s_ad)
    id_s = np.flatnonzero(s_ident)
    co_s = np.flatnonzero(s_checkout)
    add_v = np.flatnonzero(added)
    rem_v = np.flatnonzero(removed)
    v_price = cat.list_price[v_prod]
    v_cat = cat.category[v_prod]
    parts = [
        Rows.make(len(ad_s), session=ad_s, key=0.0, event=EVENT_CODE["ad_click"], gap=rng.uniform(1, 4, len(ad_s))),
        Rows.make(n_g, session=g_s, key=np.where(g_landing, 0.01, rng.uniform(0.02, 0.92, n_g)),
                  event=EVENT_CODE["page_view"], page=g_page, category=g_cat,
                  dwell=np.minimum(_lognormal(rng, T.page_dwell[s_per[g_s]], DWELL_SIGMA), MAX_DWELL_S)),
        Rows.make(n_q, session=q_s, key=rng.uniform(0.02, 0.85, n_q), event=EVENT_CODE["search"],
                  page=PAGE_CODE["search"], query=q_query, search=np.arange(n_q), category=cat.category[q_prod],
                  dwell=np.minimum(_lognormal(rng, np.full(n_q, SEARCH_DWELL_S), 0.6), MAX_DWELL_S)),
        Rows.make(n_v, session=v_s, key=v_key, event=EVENT_CODE["product_view"], page=PAGE_CODE["product"],
                  product=v_prod, category=v_cat, price=v_price,
                  dwell=np.minimum(_lognormal(rng, T.product_dwell[v_per], DWELL_SIGMA), MAX_DWELL_S)),
        Rows.make(len(add_v), session=v_s[add_v], key=v_key[add_v] + 1e-7, event=EVENT_CODE["add_to_cart"],
                  page=PAGE_CODE["product"], product=v_prod[add_v], category=v_cat[add_v], price=v_price[add_v],
                  quantity=v_qty[add_v], gap=rng.uniform(1, 6, len(add_v))),
        Rows.make(len(rem_v), session=v_s[rem_v],
                  key=v_key[rem_v] + 2e-7 + (0.93 - v_key[rem_v]) * rng.random(len(rem_v)),
                  event=EVENT_CODE["remove_from_cart"], page=PAGE_CODE["cart"], product=v_prod[rem_v],
                  category=v_cat[rem_v], price=v_price[rem_v], quantity=v_qty[rem_v],
                  gap=rng.uniform(2, 10, len(rem_v))),
        Rows.make(len(co_s), session=co_s, key=0.95, event=EVENT_CODE["begin_checkout"],
                  page=PAGE_CODE["checkout"], gap=rng.uniform(30, 240, len(co_s))),
        Rows.make(n_l, session=l_s, key=0.97, event=EVENT_CODE["purchase"], page=PAGE_CODE["confirmation"],
                  product=l_prod, category=cat.category[l_prod], price=l_price, quantity=l_qty,
                  order=s_order[l_s], discount=l_discount, campaign=l_campaign),
        Rows.make(len(id_s), session=id_s, key=ident_key[id_s], event=EVENT_CODE["identify"],
                  page=PAGE_CODE["signup"], gap=rng.uniform(20, 90, len(id_s))),
    ]
    rows = Rows.concat(parts)
    del parts
    order = np.lexsort((np.arange(len(rows)), rows.key, rows.session))
    rows = rows.take(order)
    rows.customer = s_cust[rows.session]
    rows.device = s_device[rows.session]
    rows.channel = s_channel[rows.session]
    rows.anonymous = s_anon[rows.session] | (s_ident[rows.session] & (rows.key < ident_key[rows.session]))
    gap = np.where(np.isnan(rows.dwell), rows.gap, rows.dwell)
    since_start = np.cumsum(gap) - gap  # running time before each event, over all sessions
    first = _segment_first(rows.session, n_s)
    offset = since_start - since_start[np.minimum(first, max(len(rows) - 1, 0))][rows.session]
    duration = np.bincount(rows.session, weights=gap, minlength=n_s)

    # place sessions in the day: one session anywhere by the hour profile; several in separate slots
    slot = DAY_S / np.maximum(s_count, 1)
    room = np.where(s_count == 1, DAY_S - 60.0, slot - SESSION_GAP_S)
    squeeze = np.where(duration > room, room / np.maximum(duration, 1e-9), 1.0)
    duration = duration * squeeze
    hour = np.searchsorted(HOUR_CDF, rng.random(n_s), side="right").clip(0, 23)
    alone = np.minimum(hour * 3600.0 + rng.random(n_s) * 3600.0, DAY_S - 1.0 - duration)
    shared = s_rank * slot + rng.random(n_s) * (room - duration)
    s_start = np.where(s_count == 1, alone, shared)
    rows.dwell = rows.dwell * squeeze[rows.session]
    rows.ts_us = day_start_us + np.floor((s_start[rows.session] + offset * squeeze[rows.session]) * 1e6).astype(
        np.int64
    )

    # new visitors signing up today: the identify event is their signup time
    ident_rows = rows.event == EVENT_CODE["identify"]
    pop.signup_ts_us[rows.customer[ident_rows]] = rows.ts_us[ident_rows]
    n_identified = int(ident_rows.sum())

    # --- events outside sessions: campaign messages and returns ----------------------------------------
    extra = []
    for treated in ctx.calendar.sent_on(day):
        who = treated.customers
        per = rates.persona[who]
        c = treated.campaign
        last_us = day_start_us + DAY_US - 1
        if c.channel == "email":
            opened = rng.random(len(who)) < T.email_open_rate[per]
            clicked = opened & (rng.random(len(who)) < T.email_click_rate[per])
            open_ts = np.minimum(c.sent_ts_us + (rng.exponential(EMAIL_OPEN_DELAY_S, len(who)) * 1e6).astype(np.int64),
                                 last_us - 600_000_000)
            click_ts = open_ts + (rng.uniform(5, 300, len(who)) * 1e6).astype(np.int64)
            for mask, ts, event in ((opened, open_ts, "email_open"), (clicked, click_ts, "email_click")):
                extra.append(Rows.make(int(mask.sum()), ts_us=ts[mask], event=EVENT_CODE[event], customer=who[mask],
                                       device=pop.primary_device[who[mask]], channel=CHANNEL_CODE["email"],
                                       campaign=c.index))
        else:
            opened = rng.random(len(who)) < T.push_open_rate[per]
            open_ts = np.minimum(c.sent_ts_us + (rng.exponential(EMAIL_OPEN_DELAY_S / 4, len(who)) * 1e6).astype(np.int64),
                                 last_us)
            extra.append(Rows.make(int(opened.sum()), ts_us=open_ts[opened], event=EVENT_CODE["push_open"],
                                   customer=who[opened], device=DEVICE_CODE["mobile"],
                                   channel=CHANNEL_CODE["push"], campaign=c.index))
    for ret in returns_due.pop(day, []):
        ret.ts_us = day_start_us + (rng.uniform(7 * 3600, 22 * 3600, len(ret)) * 1e6).astype(np.int64)
        ret.session = n_s + np.arange(len(ret))  # each return is a short session of its own
        n_s += len(ret)
        extra.append(ret)

    all_rows = Rows.concat([rows, *extra])
    del rows, extra
    all_rows = all_rows.take(np.argsort(all_rows.ts_us, kind="stable"))
    events = to_frame(all_rows, ctx.lookups, counters.events, counters.sessions, filters)

    stats = {
        "event_types": np.bincount(all_rows.event, minlength=len(EVENT_CODE)),
        "events": len(all_rows),
        "sessions": n_s,
        "orders": int(s_buy.sum()),
        "returns": int((all_rows.quantity < 0).sum()),
        "identified": int(n_identified),
    }
    counters.events += len(all_rows)
    counters.sessions += n_s
    counters.orders += int(s_buy.sum())

    truth = pl.DataFrame(
        {
            "customer_id": ctx.lookups.customer_ids,
            "date": pl.Series([date]).gather(np.zeros(n, dtype=np.int64)),
            "persona": ctx.lookups.persona_names.gather(rates.persona),
            "p_purchase": p,
            "p_purchase_base": rates.p_base,
            "expected_sessions": rates.sessions,
        }
    )
    return DayResult(events=events, truth=truth, stats=stats)
