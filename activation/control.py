"""The stable control (hold-out) group of an audience: a fixed share of each segment never contacted.

A customer's draw is the first 8 bytes of sha256("<segment>:<customer_id>") read as an unsigned
big-endian integer / 2**64, a uniform number in [0, 1) that depends only on (segment, customer_id):
the same customer stays in (or out of) the control group of a segment on every day, in every run,
whatever the row order, and the groups of different segments are independent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import polars as pl

_SCALE = float(2**64)


def control_draw(segment: str, customer_id: str) -> float:
    digest = hashlib.sha256(f"{segment}:{customer_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def check_share(control_share: float) -> float:
    share = float(control_share)
    if not 0.0 <= share <= 1.0 or share != share:
        raise ValueError(f"control_share must be between 0 and 1, got {control_share!r}")
    return share


def is_control(segment: str, customer_id: str, control_share: float) -> bool:
    return control_draw(segment, str(customer_id)) < check_share(control_share)


def control_flags(customer_ids: Iterable, segment: str, control_share: float) -> pl.Series:
    """Boolean `is_control` for each id (ids are compared as strings: 42 and "42" are one customer)."""
    share = check_share(control_share)
    flags = [control_draw(segment, str(cid)) < share for cid in customer_ids]
    return pl.Series("is_control", flags, dtype=pl.Boolean)
