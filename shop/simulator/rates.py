"""The true daily rates of every customer: expected sessions and purchase probability.

A pure function of the population and the day, with no randomness, so the campaign planner can
compute the truth of future days (the uplift over a response window) before they are simulated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from shop.simulator.customers import Population
from shop.simulator.personas import WEEKDAY_FACTORS, PersonaTable, season_factor

MAX_PURCHASE_P = 0.9


@dataclass(frozen=True)
class DayRates:
    persona: np.ndarray  # persona number today
    focus: np.ndarray  # focus subcategory today
    sessions: np.ndarray  # expected sessions today (Poisson mean)
    p_base: np.ndarray  # P(>= 1 purchase today) without any campaign
    sensitivity: np.ndarray  # discount sensitivity today


def day_rates(pop: Population, table: PersonaTable, day: int, date: dt.date) -> DayRates:
    switched = day >= pop.switch_day
    persona = np.where(switched, pop.persona1, pop.persona0)
    since = np.where(switched, day - pop.switch_day, day)
    factor = (
        pop.act_mult
        * WEEKDAY_FACTORS[date.weekday()]
        * season_factor(date.timetuple().tm_yday, table.season_amplitude[persona])
    )
    factor = np.where(table.lapse[persona], factor * np.exp(-since / pop.lapse_tau), factor)
    sessions = table.sessions_per_day[persona] * factor
    p_base = np.minimum(1.0 - np.exp(-table.purchase_rate[persona] * factor * pop.buy_mult), MAX_PURCHASE_P)
    # a new visitor is absent before the first visit and cannot buy (as a customer) before signing up
    sessions = np.where(pop.is_new & (day < pop.first_visit_day), 0.0, sessions)
    p_base = np.where(pop.is_new & (day < pop.signup_day), 0.0, p_base)
    return DayRates(
        persona=persona,
        focus=np.where(switched, pop.focus1, pop.focus0),
        sessions=sessions,
        p_base=p_base,
        sensitivity=table.discount_sensitivity[persona] * pop.sens_mult,
    )
