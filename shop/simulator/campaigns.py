"""Discount campaigns: schedule, randomised treatment/control assignment and the true uplift.

A treated customer's purchase probability on day k (0..6) after the send day becomes
1 - (1 - p_base) * (1 - h_k), with h_k = sensitivity * discount_pct / 20 * RESPONSE_WEIGHTS[k].
Control customers keep p_base. The uplift truth is the difference of P(>= 1 purchase in the window).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from shop.contract import CAMPAIGN_ASSIGNMENTS, CAMPAIGNS
from shop.simulator.customers import Population
from shop.simulator.personas import PersonaTable
from shop.simulator.rates import day_rates

FIRST_SEND_DAY = 3
INTERVAL_DAYS = 14
SEND_HOUR_UTC = 9
RESPONSE_WEIGHTS = np.array([0.12, 0.09, 0.07, 0.05, 0.03, 0.02, 0.02])
RESPONSE_WINDOW_DAYS = len(RESPONSE_WEIGHTS)  # the days after the send day
REFERENCE_DISCOUNT_PCT = 20.0
DISCOUNT_PCTS = np.array([10.0, 15.0, 20.0, 25.0, 30.0])
# P(a treated customer's purchase line in the window uses the code) = min(base + sensitivity, max)
CAMPAIGN_CODE_USE_BASE = 0.15
CAMPAIGN_CODE_USE_MAX = 0.9
MAX_BOOST = 0.9
assert INTERVAL_DAYS > RESPONSE_WINDOW_DAYS + 1  # windows never overlap: at most one active campaign a day

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class Campaign:
    index: int
    campaign_id: str
    channel: str  # email or push
    discount_pct: float
    send_day: int
    sent_ts_us: int
    end_ts_us: int  # end of the response window


def plan_campaigns(seed: int, start: dt.date, days: int, start_us: int) -> list[Campaign]:
    campaigns = []
    for k, send_day in enumerate(range(FIRST_SEND_DAY, days, INTERVAL_DAYS)):
        rng = np.random.default_rng([seed, 3, k])
        channel = "email" if k % 2 == 0 else "push"
        date = start + dt.timedelta(days=send_day)
        campaigns.append(
            Campaign(
                index=k,
                campaign_id=f"cmp_{date:%Y%m%d}_{channel}",
                channel=channel,
                discount_pct=float(DISCOUNT_PCTS[rng.integers(0, len(DISCOUNT_PCTS))]),
                send_day=send_day,
                sent_ts_us=start_us + send_day * DAY_US + SEND_HOUR_UTC * 3600 * 1_000_000,
                end_ts_us=start_us + (send_day + 1 + RESPONSE_WINDOW_DAYS) * DAY_US,
            )
        )
    return campaigns


def response_boost(sensitivity: np.ndarray, discount_pct: float, days_after: int) -> np.ndarray:
    """h_k: the extra daily purchase chance of a treated customer on day k of the window."""
    weight = RESPONSE_WEIGHTS[days_after]
    return np.clip(sensitivity * discount_pct / REFERENCE_DISCOUNT_PCT * weight, 0.0, MAX_BOOST)


def campaigns_frame(campaigns: list[Campaign]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "campaign_id": [c.campaign_id for c in campaigns],
            "channel": [c.channel for c in campaigns],
            "offer_type": ["discount"] * len(campaigns),
            "discount_pct": [c.discount_pct for c in campaigns],
            "start_ts": pl.Series([c.sent_ts_us for c in campaigns], dtype=pl.Int64),
            "end_ts": pl.Series([c.end_ts_us for c in campaigns], dtype=pl.Int64),
        },
        schema_overrides={"campaign_id": pl.String, "channel": pl.String, "offer_type": pl.String,
                          "discount_pct": pl.Float64},
    ).with_columns(
        pl.from_epoch(c, time_unit="us").dt.replace_time_zone("UTC") for c in ("start_ts", "end_ts")
    ).cast(dict(CAMPAIGNS.schema))


@dataclass
class Assignment:
    campaign: Campaign
    members: np.ndarray  # customer numbers in the audience
    treated: np.ndarray  # bool per member

    @property
    def treated_customers(self) -> np.ndarray:
        return self.members[self.treated]

    def assignments_frame(self, pop: Population) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "campaign_id": pl.Series([self.campaign.campaign_id], dtype=pl.String).gather(
                    np.zeros(len(self.members), dtype=np.int64)
                ),
                "customer_id": pop.ids.gather(self.members),
                "group": pl.Series(np.where(self.treated, "treatment", "control"), dtype=pl.String),
                "sent_ts": pl.Series(np.full(len(self.members), self.campaign.sent_ts_us), dtype=pl.Int64),
            }
        ).with_columns(
            pl.from_epoch("sent_ts", time_unit="us").dt.replace_time_zone("UTC")
        ).cast(dict(CAMPAIGN_ASSIGNMENTS.schema))


def assign(campaign: Campaign, pop: Population, seed: int, treatment_share: float) -> Assignment:
    opted = pop.email_opt_in if campaign.channel == "email" else pop.push_opt_in
    members = np.flatnonzero(opted & pop.known_before(campaign.send_day))
    rng = np.random.default_rng([seed, 4, campaign.index])
    return Assignment(campaign, members, rng.random(len(members)) < treatment_share)


def uplift_frame(
    a: Assignment, pop: Population, table: PersonaTable, start: dt.date, days: int
) -> pl.DataFrame:
    """True P(>= 1 purchase in the response window) with and without treatment, per audience member.

    The window is cut at the end of the simulated range (only simulated days can hold purchases).
    """
    c = a.campaign
    no_buy_control = np.ones(len(a.members))
    no_buy_treated = np.ones(len(a.members))
    sensitivity = np.zeros(len(a.members))
    for k in range(RESPONSE_WINDOW_DAYS):
        day = c.send_day + 1 + k
        if day >= days:
            break
        rates = day_rates(pop, table, day, start + dt.timedelta(days=day))
        p_base = rates.p_base[a.members]
        sens = rates.sensitivity[a.members]
        if k == 0:
            sensitivity = sens
        no_buy_control *= 1.0 - p_base
        no_buy_treated *= (1.0 - p_base) * (1.0 - response_boost(sens, c.discount_pct, k))
    p_control = 1.0 - no_buy_control
    p_treated = 1.0 - no_buy_treated
    n = len(a.members)
    return pl.DataFrame(
        {
            "campaign_id": pl.Series([c.campaign_id], dtype=pl.String).gather(np.zeros(n, dtype=np.int64)),
            "customer_id": pop.ids.gather(a.members),
            "group": pl.Series(np.where(a.treated, "treatment", "control"), dtype=pl.String),
            "discount_pct": np.full(n, c.discount_pct),
            "discount_sensitivity": sensitivity,
            "p_window_control": p_control,
            "p_window_treated": p_treated,
            "true_uplift": p_treated - p_control,
        }
    )


@dataclass(frozen=True)
class Treated:
    campaign: Campaign
    customers: np.ndarray  # customer numbers in the treatment group


class CampaignCalendar:
    """Per day: which customers are inside the response window of a campaign they were treated in."""

    def __init__(self, n: int, treated: list[Treated]):
        self.n = n
        self.treated = treated

    def sent_on(self, day: int) -> list[Treated]:
        return [t for t in self.treated if t.campaign.send_day == day]

    def active(self, day: int) -> tuple[Treated | None, int]:
        for t in self.treated:
            k = day - t.campaign.send_day - 1
            if 0 <= k < RESPONSE_WINDOW_DAYS:
                return t, k
        return None, -1

    def boost(self, day: int, sensitivity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(h per customer, campaign number per customer or -1) for this day."""
        h = np.zeros(self.n)
        campaign = np.full(self.n, -1, dtype=np.int64)
        t, k = self.active(day)
        if t is not None:
            h[t.customers] = response_boost(sensitivity[t.customers], t.campaign.discount_pct, k)
            campaign[t.customers] = t.campaign.index
        return h, campaign
