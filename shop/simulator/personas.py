"""Shopper personas: the behaviour parameters the simulator draws every event from.

Each persona is one row of numbers; `PersonaTable` turns the tuple into numpy arrays indexed by
persona number so the event generator can look parameters up for millions of rows at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

# Category order used by every per-category weight below (see catalog.CATEGORIES).
CATEGORY_NAMES: tuple[str, ...] = ("tech", "fashion", "outerwear", "home", "beauty", "sports")


@dataclass(frozen=True)
class Persona:
    name: str
    description: str
    share: float  # default share of the customer base
    # activity
    sessions_per_day: float  # mean sessions on an ordinary day (before weekly/seasonal/individual factors)
    purchase_rate: float  # daily purchase hazard: p_purchase = 1 - exp(-purchase_rate * factors)
    season_amplitude: float  # yearly cycle of activity, peak in early January (negative: summer peak)
    lapse: bool  # activity decays exp(-t / tau) from the day the persona starts
    # within a session
    page_views: float  # mean non-product page views (>= 1: the landing page)
    product_views: float  # mean product views
    page_dwell: float  # mean seconds on a page
    product_dwell: float  # mean seconds on a product page
    searches: float  # mean searches
    filter_rate: float  # share of searches with filters
    filter_price_max: float  # given filters: share with a price_max
    price_max_factor: float  # price_max relative to the typical price of what is searched
    filter_on_sale: float  # given filters: share with on_sale=true
    filter_brand: float  # given filters: share with a brand
    filter_sort_price: float  # given filters: share sorted by ascending price
    add_rate: float  # P(add to cart | product view)
    sale_view_boost: float  # weight multiplier for products on sale when choosing what to look at
    sale_add_boost: float  # multiplier of add_rate for products on sale
    remove_rate: float  # P(remove | added)
    abandon_checkout_rate: float  # P(begin_checkout | cart, no purchase that session)
    extra_quantity: float  # quantity per line = 1 + Poisson(extra_quantity)
    coupon_rate: float  # P(a purchased line uses a 10 % coupon)
    return_rate: float  # P(a purchased line is returned later)
    discount_sensitivity: float  # mean sensitivity of purchase probability to campaign discounts
    # taste
    category_weights: tuple[float, ...]  # per CATEGORY_NAMES
    tier_weights: tuple[float, float, float]  # budget, mid, premium brands
    eco_boost: float  # weight multiplier for products tagged eco-friendly
    focus_boost: float  # weight multiplier for the customer's focus subcategory
    # reach
    device_mix: tuple[float, float, float]  # mobile, desktop, tablet
    ad_share: float  # share of sessions starting from an ad click
    email_open_rate: float
    email_click_rate: float  # given open
    push_open_rate: float
    email_opt_in: float
    push_opt_in: float


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="loyal_premium",
        description="Frequent buyer of premium brands, high order value, ignores discounts.",
        share=0.12, sessions_per_day=0.22, purchase_rate=0.055, season_amplitude=0.1, lapse=False,
        page_views=2.5, product_views=3.0, page_dwell=25.0, product_dwell=45.0, searches=0.4,
        filter_rate=0.25, filter_price_max=0.05, price_max_factor=3.0, filter_on_sale=0.02, filter_brand=0.8,
        filter_sort_price=0.02, add_rate=0.3, sale_view_boost=0.8, sale_add_boost=0.9, remove_rate=0.08,
        abandon_checkout_rate=0.08, extra_quantity=0.25, coupon_rate=0.02, return_rate=0.03,
        discount_sensitivity=0.03,
        category_weights=(0.25, 0.3, 0.1, 0.2, 0.1, 0.05), tier_weights=(0.05, 0.3, 1.0),
        eco_boost=1.0, focus_boost=2.0,
        device_mix=(0.4, 0.5, 0.1), ad_share=0.03, email_open_rate=0.45, email_click_rate=0.25,
        push_open_rate=0.25, email_opt_in=0.8, push_opt_in=0.5,
    ),
    Persona(
        name="deal_seeker",
        description="Filters by price and on-sale, buys mostly with a discount, reacts strongly to offers.",
        share=0.15, sessions_per_day=0.2, purchase_rate=0.03, season_amplitude=0.1, lapse=False,
        page_views=3.0, product_views=4.5, page_dwell=15.0, product_dwell=20.0, searches=1.2,
        filter_rate=0.8, filter_price_max=0.75, price_max_factor=0.8, filter_on_sale=0.7, filter_brand=0.03,
        filter_sort_price=0.5, add_rate=0.15, sale_view_boost=4.0, sale_add_boost=2.0, remove_rate=0.3,
        abandon_checkout_rate=0.2, extra_quantity=0.4, coupon_rate=0.35, return_rate=0.08,
        discount_sensitivity=0.85,
        category_weights=(0.2, 0.25, 0.1, 0.2, 0.15, 0.1), tier_weights=(1.0, 0.45, 0.1),
        eco_boost=1.0, focus_boost=1.5,
        device_mix=(0.65, 0.3, 0.05), ad_share=0.15, email_open_rate=0.6, email_click_rate=0.4,
        push_open_rate=0.45, email_opt_in=0.9, push_opt_in=0.6,
    ),
    Persona(
        name="window_shopper",
        description="Many product views and long dwell times, rarely buys.",
        share=0.12, sessions_per_day=0.2, purchase_rate=0.003, season_amplitude=0.1, lapse=False,
        page_views=4.0, product_views=8.0, page_dwell=40.0, product_dwell=90.0, searches=0.8,
        filter_rate=0.3, filter_price_max=0.4, price_max_factor=1.5, filter_on_sale=0.2, filter_brand=0.3,
        filter_sort_price=0.1, add_rate=0.03, sale_view_boost=1.2, sale_add_boost=1.2, remove_rate=0.5,
        abandon_checkout_rate=0.05, extra_quantity=0.1, coupon_rate=0.05, return_rate=0.05,
        discount_sensitivity=0.15,
        category_weights=(0.2, 0.3, 0.1, 0.2, 0.15, 0.05), tier_weights=(0.4, 0.6, 0.6),
        eco_boost=1.0, focus_boost=2.0,
        device_mix=(0.6, 0.25, 0.15), ad_share=0.08, email_open_rate=0.3, email_click_rate=0.2,
        push_open_rate=0.2, email_opt_in=0.6, push_opt_in=0.35,
    ),
    Persona(
        name="cart_abandoner",
        description="Adds to cart and begins checkout, rarely completes.",
        share=0.1, sessions_per_day=0.16, purchase_rate=0.006, season_amplitude=0.1, lapse=False,
        page_views=3.0, product_views=4.0, page_dwell=20.0, product_dwell=35.0, searches=0.6,
        filter_rate=0.3, filter_price_max=0.4, price_max_factor=1.2, filter_on_sale=0.2, filter_brand=0.2,
        filter_sort_price=0.1, add_rate=0.45, sale_view_boost=1.2, sale_add_boost=1.2, remove_rate=0.25,
        abandon_checkout_rate=0.7, extra_quantity=0.3, coupon_rate=0.1, return_rate=0.06,
        discount_sensitivity=0.4,
        category_weights=(0.25, 0.3, 0.1, 0.15, 0.1, 0.1), tier_weights=(0.5, 0.7, 0.4),
        eco_boost=1.0, focus_boost=2.0,
        device_mix=(0.7, 0.2, 0.1), ad_share=0.1, email_open_rate=0.35, email_click_rate=0.3,
        push_open_rate=0.3, email_opt_in=0.75, push_opt_in=0.45,
    ),
    Persona(
        name="new_visitor",
        description="Browses anonymously first; an identify event links the anonymous_id at sign-up.",
        share=0.15, sessions_per_day=0.18, purchase_rate=0.025, season_amplitude=0.1, lapse=False,
        page_views=3.0, product_views=3.5, page_dwell=25.0, product_dwell=35.0, searches=0.7,
        filter_rate=0.3, filter_price_max=0.4, price_max_factor=1.2, filter_on_sale=0.3, filter_brand=0.2,
        filter_sort_price=0.15, add_rate=0.15, sale_view_boost=1.5, sale_add_boost=1.3, remove_rate=0.2,
        abandon_checkout_rate=0.2, extra_quantity=0.2, coupon_rate=0.15, return_rate=0.05,
        discount_sensitivity=0.3,
        category_weights=(0.2, 0.25, 0.1, 0.2, 0.15, 0.1), tier_weights=(0.6, 0.7, 0.3),
        eco_boost=1.0, focus_boost=1.5,
        device_mix=(0.65, 0.3, 0.05), ad_share=0.35, email_open_rate=0.4, email_click_rate=0.25,
        push_open_rate=0.25, email_opt_in=0.7, push_opt_in=0.3,
    ),
    Persona(
        name="seasonal_shopper",
        description="Winter coats and outerwear; activity peaks in the winter months.",
        share=0.08, sessions_per_day=0.12, purchase_rate=0.016, season_amplitude=0.85, lapse=False,
        page_views=2.5, product_views=4.0, page_dwell=20.0, product_dwell=40.0, searches=0.7,
        filter_rate=0.35, filter_price_max=0.5, price_max_factor=1.3, filter_on_sale=0.3, filter_brand=0.2,
        filter_sort_price=0.15, add_rate=0.2, sale_view_boost=1.5, sale_add_boost=1.3, remove_rate=0.15,
        abandon_checkout_rate=0.15, extra_quantity=0.15, coupon_rate=0.1, return_rate=0.1,
        discount_sensitivity=0.3,
        category_weights=(0.05, 0.2, 0.6, 0.05, 0.05, 0.05), tier_weights=(0.4, 0.8, 0.5),
        eco_boost=1.0, focus_boost=2.0,
        device_mix=(0.55, 0.35, 0.1), ad_share=0.1, email_open_rate=0.35, email_click_rate=0.25,
        push_open_rate=0.2, email_opt_in=0.7, push_opt_in=0.35,
    ),
    Persona(
        name="tech_enthusiast",
        description="Laptops, tablets, phones and accessories; long research sessions, brand filters.",
        share=0.1, sessions_per_day=0.22, purchase_rate=0.02, season_amplitude=0.1, lapse=False,
        page_views=3.0, product_views=6.0, page_dwell=30.0, product_dwell=70.0, searches=1.3,
        filter_rate=0.5, filter_price_max=0.4, price_max_factor=1.6, filter_on_sale=0.1, filter_brand=0.5,
        filter_sort_price=0.05, add_rate=0.12, sale_view_boost=1.2, sale_add_boost=1.2, remove_rate=0.2,
        abandon_checkout_rate=0.15, extra_quantity=0.1, coupon_rate=0.05, return_rate=0.04,
        discount_sensitivity=0.15,
        category_weights=(0.85, 0.03, 0.02, 0.05, 0.02, 0.03), tier_weights=(0.3, 0.8, 0.8),
        eco_boost=1.0, focus_boost=4.0,
        device_mix=(0.3, 0.6, 0.1), ad_share=0.05, email_open_rate=0.4, email_click_rate=0.3,
        push_open_rate=0.3, email_opt_in=0.7, push_opt_in=0.5,
    ),
    Persona(
        name="eco_enthusiast",
        description="Prefers products tagged eco-friendly in home, beauty and fashion.",
        share=0.08, sessions_per_day=0.16, purchase_rate=0.02, season_amplitude=0.1, lapse=False,
        page_views=3.0, product_views=4.0, page_dwell=30.0, product_dwell=45.0, searches=0.8,
        filter_rate=0.3, filter_price_max=0.3, price_max_factor=1.5, filter_on_sale=0.1, filter_brand=0.3,
        filter_sort_price=0.05, add_rate=0.2, sale_view_boost=1.0, sale_add_boost=1.0, remove_rate=0.1,
        abandon_checkout_rate=0.12, extra_quantity=0.3, coupon_rate=0.05, return_rate=0.03,
        discount_sensitivity=0.2,
        category_weights=(0.03, 0.25, 0.07, 0.3, 0.3, 0.05), tier_weights=(0.4, 0.8, 0.6),
        eco_boost=8.0, focus_boost=1.5,
        device_mix=(0.5, 0.4, 0.1), ad_share=0.05, email_open_rate=0.5, email_click_rate=0.3,
        push_open_rate=0.25, email_opt_in=0.8, push_opt_in=0.4,
    ),
    Persona(
        name="lapsing",
        description="Used to buy regularly; activity fades exponentially over time.",
        share=0.1, sessions_per_day=0.25, purchase_rate=0.04, season_amplitude=0.1, lapse=True,
        page_views=2.5, product_views=3.5, page_dwell=20.0, product_dwell=30.0, searches=0.5,
        filter_rate=0.25, filter_price_max=0.4, price_max_factor=1.3, filter_on_sale=0.25, filter_brand=0.3,
        filter_sort_price=0.1, add_rate=0.2, sale_view_boost=1.3, sale_add_boost=1.2, remove_rate=0.15,
        abandon_checkout_rate=0.15, extra_quantity=0.2, coupon_rate=0.1, return_rate=0.05,
        discount_sensitivity=0.3,
        category_weights=(0.2, 0.3, 0.1, 0.2, 0.1, 0.1), tier_weights=(0.4, 0.8, 0.5),
        eco_boost=1.0, focus_boost=2.0,
        device_mix=(0.55, 0.35, 0.1), ad_share=0.05, email_open_rate=0.25, email_click_rate=0.2,
        push_open_rate=0.15, email_opt_in=0.7, push_opt_in=0.4,
    ),
)

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
PERSONA_INDEX: dict[str, int] = {name: i for i, name in enumerate(PERSONA_NAMES)}
NEW_VISITOR = PERSONA_INDEX["new_visitor"]

# Who a switching customer can become (targets drawn uniformly; the same name means a change of focus
# subcategory only, e.g. a tech enthusiast moving from laptops to tablets). New visitors never switch.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "loyal_premium": ("lapsing", "deal_seeker"),
    "deal_seeker": ("loyal_premium", "lapsing"),
    "window_shopper": ("loyal_premium", "deal_seeker"),
    "cart_abandoner": ("loyal_premium", "deal_seeker"),
    "seasonal_shopper": ("deal_seeker", "eco_enthusiast"),
    "tech_enthusiast": ("tech_enthusiast", "tech_enthusiast", "eco_enthusiast"),
    "eco_enthusiast": ("tech_enthusiast", "loyal_premium"),
    "lapsing": ("deal_seeker", "loyal_premium"),
}

# Mean days of the exponential fade of a lapsing customer (drawn per customer between these).
LAPSE_TAU_DAYS = (15.0, 45.0)

# Monday .. Sunday activity factors (weekend lift).
WEEKDAY_FACTORS = np.array([0.92, 0.9, 0.92, 0.95, 1.02, 1.14, 1.2])

# Day of year of the activity peak of the yearly cycle (early January).
SEASON_PEAK_DOY = 10.0


def season_factor(day_of_year: np.ndarray | float, amplitude: np.ndarray | float) -> np.ndarray:
    """1 + amplitude * cos(...): peaks at SEASON_PEAK_DOY, troughs in early July; never below 0.05."""
    phase = 2.0 * np.pi * (np.asarray(day_of_year, dtype=float) - SEASON_PEAK_DOY) / 365.25
    return np.maximum(1.0 + np.asarray(amplitude, dtype=float) * np.cos(phase), 0.05)


class PersonaTable:
    """Persona parameters as arrays indexed by persona number."""

    def __init__(self, personas: tuple[Persona, ...] = PERSONAS):
        self.names = tuple(p.name for p in personas)
        for f in fields(Persona):
            if f.name in ("name", "description"):
                continue
            values = [getattr(p, f.name) for p in personas]
            setattr(self, f.name, np.asarray(values, dtype=bool if f.name == "lapse" else float))
        self.device_cdf = np.cumsum(self.device_mix, axis=1)
        self.device_cdf /= self.device_cdf[:, -1:]


def persona_definitions() -> list[dict]:
    return [asdict(p) for p in PERSONAS]
