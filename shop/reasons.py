"""Quarantine reasons: the closed vocabulary of `quarantine.*.reason`, one reason per refused row.

Events are checked in EVENT_CHECK_ORDER and a row gets the first reason that applies, so the same
input always gets the same reason. Importers may refuse a row earlier, with a reason from the
same vocabulary (see shop/importers/mappings/README.md).
"""

from __future__ import annotations

from shop.contract import DIMENSIONS, EVENTS

MISSING_EVENT_ID = "missing_event_id"
BAD_EVENT_TS = "bad_event_ts"
FUTURE_EVENT_TS = "future_event_ts"
EVENT_TS_OUTSIDE_PARTITION = "event_ts_outside_partition"
TOO_LATE = "too_late"
MISSING_EVENT_TYPE = "missing_event_type"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
MISSING_IDENTITY = "missing_identity"
NEGATIVE_PRICE = "negative_price"
ABSURD_PRICE = "absurd_price"
ABSURD_QUANTITY = "absurd_quantity"
DUPLICATE_EVENT_ID = "duplicate_event_id"

# dimensions
DUPLICATE_KEY = "duplicate_key"

# importers only
STOCK_ADJUSTMENT = "stock_adjustment"

# loader: rows of a customer erased with `segments forget` (see privacy/)
ERASED_CUSTOMER = "erased_customer"


def bad(column: str) -> str:
    """Reason for a value of `column` that cannot be cast to its contract type (or is out of its domain)."""
    return f"bad_{column}"


def missing(column: str) -> str:
    """Reason for a required column that is null or blank."""
    return f"missing_{column}"


# Order in which event rows are checked; `bad_<column>` stands for every optional column, in contract order.
EVENT_CHECK_ORDER: tuple[str, ...] = (
    MISSING_EVENT_ID,
    BAD_EVENT_TS,
    FUTURE_EVENT_TS,
    EVENT_TS_OUTSIDE_PARTITION,
    TOO_LATE,
    MISSING_EVENT_TYPE,
    UNKNOWN_EVENT_TYPE,
    MISSING_IDENTITY,
    "bad_<column>",
    NEGATIVE_PRICE,
    ABSURD_PRICE,
    ABSURD_QUANTITY,
    DUPLICATE_EVENT_ID,
)

_EVENT_REASONS: dict[str, str] = {
    MISSING_EVENT_ID: "event_id is null or blank.",
    BAD_EVENT_TS: "event_ts is null or cannot be read as a timestamp.",
    FUTURE_EVENT_TS: "event_ts is later than the load time plus the tolerance.",
    EVENT_TS_OUTSIDE_PARTITION: "UTC date of event_ts is after the event_date=D folder the file was in.",
    TOO_LATE: (
        "UTC date of event_ts is before the event_date=D folder by more than the late-data allowance "
        "(SEGMENTS_LATE_DAYS; 0 = strict)."
    ),
    MISSING_EVENT_TYPE: "event_type is null or blank.",
    UNKNOWN_EVENT_TYPE: "event_type is not one of contract.EVENT_TYPES (compared lower-cased, trimmed).",
    MISSING_IDENTITY: "neither customer_id nor anonymous_id is set.",
    NEGATIVE_PRICE: "price below zero.",
    ABSURD_PRICE: "price above ValidationRules.max_price.",
    ABSURD_QUANTITY: "|quantity| above ValidationRules.max_abs_quantity.",
    DUPLICATE_EVENT_ID: (
        "event_id already seen: earlier in the same load (first by file name, then row, is kept) "
        "or accepted in the lake within the lookback days."
    ),
}

_DIMENSION_REASONS: dict[str, str] = {
    DUPLICATE_KEY: "an older row for a key that a later row (later file, or later row of the same file) replaces.",
}

_IMPORTER_REASONS: dict[str, str] = {
    STOCK_ADJUSTMENT: "stock write-off or correction (negative quantity outside a cancellation), not customer behaviour.",
}

_PRIVACY_REASONS: dict[str, str] = {
    ERASED_CUSTOMER: "customer_id or anonymous_id of a customer erased with `segments forget`; row_json is redacted.",
}


def _column_reasons() -> dict[str, str]:
    out: dict[str, str] = {}
    for table in (EVENTS, *DIMENSIONS):
        for col in table.columns:
            if col.name not in ("event_id", "event_ts", "event_type"):
                out.setdefault(bad(col.name), f"{col.name} cannot be cast to {col.dtype} or is out of its domain.")
            if col.required and col.name not in ("event_id", "event_ts", "event_type"):
                out.setdefault(missing(col.name), f"required {col.name} is null or blank.")
    return out


QUARANTINE_REASONS: dict[str, str] = {
    **_EVENT_REASONS,
    **_column_reasons(),
    **_DIMENSION_REASONS,
    **_IMPORTER_REASONS,
    **_PRIVACY_REASONS,
}


def is_known(reason: str) -> bool:
    return reason in QUARANTINE_REASONS
