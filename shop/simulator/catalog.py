"""The product catalog, weekly sales and the per-day product choice of every persona."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from shop.simulator.personas import CATEGORY_NAMES, PersonaTable, season_factor

TIERS: tuple[str, ...] = ("budget", "mid", "premium")
TIER_PRICE = np.array([0.6, 1.0, 1.9])

# category -> subcategory -> (typical list price, search phrases)
CATEGORIES: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "tech": {
        "laptops": (1100.0, ("laptop", "ultrabook", "gaming laptop", "laptop 16gb")),
        "tablets": (480.0, ("tablet", "ipad", "android tablet", "tablet with pen")),
        "phones": (650.0, ("smartphone", "phone 5g", "phone case free phone")),
        "accessories": (35.0, ("usb-c charger", "laptop sleeve", "mouse", "hdmi cable")),
        "headphones": (140.0, ("headphones", "noise cancelling", "earbuds")),
    },
    "fashion": {
        "tops": (30.0, ("t-shirt", "blouse", "linen shirt")),
        "jeans": (70.0, ("jeans", "slim jeans", "wide leg jeans")),
        "dresses": (80.0, ("dress", "summer dress", "party dress")),
        "shoes": (95.0, ("sneakers", "boots", "leather shoes")),
    },
    "outerwear": {
        "winter_coats": (230.0, ("winter coat", "parka", "down jacket", "wool coat")),
        "jackets": (120.0, ("rain jacket", "softshell", "bomber jacket")),
        "knitwear": (60.0, ("sweater", "cardigan", "wool jumper")),
        "winter_accessories": (28.0, ("scarf", "gloves", "beanie")),
    },
    "home": {
        "kitchen": (55.0, ("pan", "knife set", "coffee grinder")),
        "decor": (40.0, ("vase", "candle", "cushion cover")),
        "bedding": (75.0, ("duvet", "bed linen", "pillow")),
        "storage": (30.0, ("storage box", "shelf", "basket")),
    },
    "beauty": {
        "skincare": (28.0, ("moisturizer", "serum", "sunscreen")),
        "makeup": (22.0, ("mascara", "lipstick", "foundation")),
        "haircare": (18.0, ("shampoo", "hair oil", "conditioner")),
        "fragrance": (65.0, ("perfume", "eau de toilette")),
    },
    "sports": {
        "running": (90.0, ("running shoes", "running shorts", "sports watch")),
        "fitness": (45.0, ("yoga mat", "dumbbells", "resistance band")),
        "outdoor": (110.0, ("tent", "hiking backpack", "sleeping bag")),
        "cycling": (70.0, ("bike helmet", "bike light", "cycling gloves")),
    },
}
assert tuple(CATEGORIES) == CATEGORY_NAMES

# category -> brands per tier (budget, mid, premium)
BRANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "tech": (("Voltix", "ByteBasic"), ("Nexon", "Orbitel"), ("Aurum Tech", "Lumiq")),
    "fashion": (("Streetly", "DailyWear"), ("Norda", "Linnea"), ("Maison Verre", "Atelier Noor")),
    "outerwear": (("FrostBudget", "Kälte"), ("Nordvik", "Fjellsund"), ("Polaris Heritage", "Arctis Luxe")),
    "home": (("HomeBasics", "Casa Lite"), ("Hygge & Co", "Linden"), ("Maison Lumière", "Oakhaus")),
    "beauty": (("Glow Daily", "PureMart"), ("Fleur", "Skinwise"), ("Aesop Lane", "Velour")),
    "sports": (("FitLine", "MoveOn"), ("Stride", "Alpenzug"), ("Summit Pro", "Kinetiq")),
}

# Share of products tagged eco-friendly, per category.
ECO_SHARE = {"tech": 0.05, "fashion": 0.25, "outerwear": 0.15, "home": 0.3, "beauty": 0.35, "sports": 0.1}

# Yearly cycle of interest in a category (positive: winter peak, negative: summer peak).
CATEGORY_SEASON_AMPLITUDE = np.array([0.1, 0.0, 0.85, 0.1, 0.0, -0.3])

# Share of lines returned, per category, multiplies the persona's return rate.
CATEGORY_RETURN_FACTOR = np.array([0.6, 2.0, 1.5, 0.7, 0.4, 1.0])

PRODUCTS_PER_SUBCATEGORY = 14
SALE_SHARE = 0.15  # share of products on sale in a given week
SALE_PCTS = np.array([0.1, 0.2, 0.3, 0.4])


@dataclass(frozen=True)
class Catalog:
    frame: pl.DataFrame  # the PRODUCTS table
    category: np.ndarray  # per product: category number
    subcategory: np.ndarray  # per product: subcategory number (global)
    tier: np.ndarray
    eco: np.ndarray  # bool
    list_price: np.ndarray
    subcategory_names: tuple[str, ...]
    subcategory_category: np.ndarray  # per subcategory: category number
    subcategory_price: np.ndarray  # per subcategory: typical list price
    query_offsets: np.ndarray  # per subcategory: first phrase in `queries`
    query_counts: np.ndarray
    queries: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.list_price)


def build_catalog(rng: np.random.Generator) -> Catalog:
    ids, cats, subcats, tiers, brands, prices, tags = [], [], [], [], [], [], []
    sub_names, sub_cat, sub_price, q_off, q_cnt, queries = [], [], [], [], [], []
    n = 0
    for ci, (category, subs) in enumerate(CATEGORIES.items()):
        for sub, (base_price, phrases) in subs.items():
            si = len(sub_names)
            sub_names.append(sub)
            sub_cat.append(ci)
            sub_price.append(base_price)
            q_off.append(len(queries))
            q_cnt.append(len(phrases))
            queries.extend(phrases)
            tier = rng.choice(3, size=PRODUCTS_PER_SUBCATEGORY, p=[0.4, 0.4, 0.2])
            noise = rng.lognormal(0.0, 0.25, size=PRODUCTS_PER_SUBCATEGORY)
            eco = rng.random(PRODUCTS_PER_SUBCATEGORY) < ECO_SHARE[category]
            brand_pick = rng.integers(0, 2, size=PRODUCTS_PER_SUBCATEGORY)
            for j in range(PRODUCTS_PER_SUBCATEGORY):
                n += 1
                ids.append(f"p{n:05d}")
                cats.append(ci)
                subcats.append(si)
                tiers.append(int(tier[j]))
                brands.append(BRANDS[category][tier[j]][brand_pick[j]])
                price = base_price * TIER_PRICE[tier[j]] * noise[j]
                shelf = np.round(price, 0) if price > 20 else np.round(price, 1)
                prices.append(round(float(shelf) - 0.01, 2))
                tag = []
                if eco[j]:
                    tag.append("eco-friendly")
                if category == "outerwear":
                    tag.append("winter")
                if tier[j] == 2:
                    tag.append("premium")
                tags.append(",".join(tag) if tag else None)
    frame = pl.DataFrame(
        {
            "product_id": ids,
            "category": [CATEGORY_NAMES[c] for c in cats],
            "subcategory": [sub_names[s] for s in subcats],
            "brand": brands,
            "list_price": prices,
            "tags": tags,
        },
        schema={"product_id": pl.String, "category": pl.String, "subcategory": pl.String, "brand": pl.String,
                "list_price": pl.Float64, "tags": pl.String},
    )
    return Catalog(
        frame=frame,
        category=np.asarray(cats, dtype=np.int64),
        subcategory=np.asarray(subcats, dtype=np.int64),
        tier=np.asarray(tiers, dtype=np.int64),
        eco=np.asarray([t is not None and "eco-friendly" in t for t in tags]),
        list_price=np.asarray(prices, dtype=float),
        subcategory_names=tuple(sub_names),
        subcategory_category=np.asarray(sub_cat, dtype=np.int64),
        subcategory_price=np.asarray(sub_price, dtype=float),
        query_offsets=np.asarray(q_off, dtype=np.int64),
        query_counts=np.asarray(q_cnt, dtype=np.int64),
        queries=tuple(queries),
    )


def weekly_sale(seed: int, week: int, n_products: int) -> np.ndarray:
    """Markdown fraction per product for one week (0 = not on sale); depends only on seed and week."""
    rng = np.random.default_rng([seed, 7, week])
    on_sale = rng.random(n_products) < SALE_SHARE
    pct = SALE_PCTS[rng.integers(0, len(SALE_PCTS), size=n_products)]
    return np.where(on_sale, pct, 0.0)


class ProductChooser:
    """Samples products for many rows at once; each row belongs to a (persona, focus subcategory) group.

    The weight of a product for a group is persona category taste x category season x brand tier taste
    x eco and sale boosts x focus boost. Rebuilt every day because the season and the sales change.
    """

    def __init__(self, catalog: Catalog, table: PersonaTable, day_of_year: int, sale: np.ndarray):
        n_sub = len(catalog.subcategory_names)
        season = season_factor(day_of_year, CATEGORY_SEASON_AMPLITUDE)[catalog.category]
        base = (
            table.category_weights[:, catalog.category]
            * season[None, :]
            * table.tier_weights[:, catalog.tier]
            * np.where(catalog.eco[None, :], table.eco_boost[:, None], 1.0)
            * np.where(sale[None, :] > 0, table.sale_view_boost[:, None], 1.0)
        )  # persona x product
        focus = np.where(
            catalog.subcategory[None, :] == np.arange(n_sub)[:, None], 1.0, 0.0
        )  # subcategory x product
        weights = base[:, None, :] * (1.0 + focus[None, :, :] * (table.focus_boost[:, None, None] - 1.0))
        weights = weights.reshape(-1, catalog.size)
        cdf = np.cumsum(weights, axis=1)
        cdf /= cdf[:, -1:]
        self.n_products = catalog.size
        self.n_sub = n_sub
        self.flat = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()

    def sample(self, persona: np.ndarray, focus: np.ndarray, u: np.ndarray) -> np.ndarray:
        group = persona.astype(np.int64) * self.n_sub + focus
        idx = np.searchsorted(self.flat, group + u, side="right") - group * self.n_products
        return np.clip(idx, 0, self.n_products - 1)
