"""Which registered version scored a given day: pure functions, tested directly.

Every promoted version (a model or a served baseline) serves from its as-of date until the next
promotion; versions a rollback moved away from are struck out. Days at or after the latest
promotion use the `champion` alias (so a rollback takes effect at once), and a backfill over
history uses, for each day, what had been promoted by then: no score comes from a model trained on
that day's future.
"""

from __future__ import annotations

from datetime import date


def _as_of(row: dict) -> date | None:
    value = row.get("as_of_date")
    return date.fromisoformat(str(value)[:10]) if value else None


def served_version(versions: list[dict], champion: str | None, day: date) -> str | None:
    """`versions`: registry rows (version, gate, as_of_date, rolled_back_from)."""
    promoted = [r for r in versions if r.get("gate") == "promoted" and _as_of(r) is not None]
    if not promoted or day >= max(_as_of(r) for r in promoted):
        return champion
    timeline = sorted((_as_of(r), int(r["version"]), str(r["version"])) for r in promoted if not r.get("rolled_back_from"))
    picked = [version for as_of, _number, version in timeline if as_of <= day]
    return picked[-1] if picked else None


def plan(versions_by_name: dict[str, list[dict]], champions: dict[str, str | None], days: list[date]) -> dict[date, tuple]:
    """For each day, the (name, version) pairs that serve it, in a stable order."""
    names = sorted(versions_by_name)
    return {day: tuple((name, served_version(versions_by_name[name], champions.get(name), day)) for name in names) for day in days}
