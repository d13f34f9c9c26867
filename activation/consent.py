"""Who may be contacted on a channel: explicit opt-in only; unknown consent counts as no consent."""

from __future__ import annotations

import polars as pl

CHANNELS = ("email", "push", "any")
CONSENT_COLUMNS = {"email": ("email_opt_in",), "push": ("push_opt_in",), "any": ("email_opt_in", "push_opt_in")}
_TRUE_STRINGS = ("true", "t", "yes", "y", "1", "1.0")


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    return channel


def opted_in(column: str) -> pl.Expr:
    """True only for an explicit yes: boolean true, the number 1, or 'true'/'yes'/'y'/'t'/'1' (any case,
    trimmed); null, false, 0, 'no', '' and anything else are no consent. Works on any column dtype."""
    text = pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()
    return text.is_in(_TRUE_STRINGS).fill_null(False)


def consent_expr(channel: str, available: list[str] | tuple[str, ...]) -> pl.Expr:
    """Consent for `channel` from the columns in `available`; a missing consent column is unknown
    consent, i.e. no consent. 'any' = opted in to email or push."""
    check_channel(channel)
    parts = [opted_in(c) for c in CONSENT_COLUMNS[channel] if c in available]
    if not parts:
        return pl.lit(False)
    out = parts[0]
    for part in parts[1:]:
        out = out | part
    return out


def consent_filter(frame: pl.DataFrame, channel: str) -> tuple[pl.DataFrame, int]:
    """(rows that consent to `channel`, number of rows excluded for missing or refused consent)."""
    mask = frame.select(consent_expr(channel, frame.columns).alias("_ok")).to_series()
    kept = frame.filter(mask)
    return kept, frame.height - kept.height
