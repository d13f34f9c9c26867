"""Export one segment's audience for one day to a file a campaign tool can load, with a manifest beside it.

Rows: one per customer in the segment that day who consents to the channel (see activation.consent),
with the day's scores and reason codes, top-N recommended products and a stable `is_control` flag
(see activation.control). Raw e-mail addresses never leave staging: only `email_sha256`, and only for
the e-mail channel.

Sources (read-only): marts.customer_segments (required); consent and email_sha256 from
staging.stg_customers (the customers' current consent) and, for a field stg_customers lacks, from
marts.customer_features on that day; marts.customer_scores and marts.customer_recommendations from
their latest day on or before as_of (optional: what is missing is listed in the manifest).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from activation.catalog import fetch_one, quote, table_columns
from activation.consent import CONSENT_COLUMNS, check_channel, consent_filter, opted_in
from activation.control import check_share, control_flags
from activation.files import remove_quietly, replace_atomically, sha256_file, temp_path_for, write_text_atomically

FORMATS = ("csv", "parquet", "jsonl")
SEGMENTS = ("marts", "customer_segments")
CUSTOMERS = ("staging", "stg_customers")
FEATURES = ("marts", "customer_features")
SCORES = ("marts", "customer_scores")
RECOMMENDATIONS = ("marts", "customer_recommendations")
SCORE_COLUMNS = ("p_purchase_30d", "p_churn", "expected_value_365d", "discount_uplift", "next_category")
REASON_PREFIXES = ("reason_", "reasons_")
PROFILE_COLUMNS = ("email_sha256", "email_opt_in", "push_opt_in")
RECOMMENDED = "recommended_products"
CSV_LIST_SEPARATOR = "|"
DEFAULT_TOP_N = 5


@dataclass(frozen=True)
class ExportManifest:
    segment: str
    as_of: date
    channel: str
    format: str
    path: Path
    manifest_path: Path
    rows: int
    control_rows: int
    members: int
    excluded_no_consent: int
    excluded_no_email: int
    sha256: str
    columns: list[str]
    consent_filter: str
    consent_source: dict[str, str | None]
    control_share: float
    scores_as_of: date | None
    recommendations_as_of: date | None
    missing: list[str] = field(default_factory=list)
    created_at: str = ""

    def to_dict(self) -> dict:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, (date, Path)):
                out[key] = str(value)
        return out


def _name(pair: tuple[str, str]) -> str:
    return f"{pair[0]}.{pair[1]}"


def _ref(pair: tuple[str, str]) -> str:
    return f"{quote(pair[0])}.{quote(pair[1])}"


def safe_path_part(text: str) -> str:
    """A segment name as one folder/file name: anything but letters, digits, '-', '_' and '.' becomes '_'."""
    out = re.sub(r"[^A-Za-z0-9._-]", "_", text).strip(".")
    return out or "_"


def default_export_path(home, segment: str, as_of: date, fmt: str) -> Path:
    part = safe_path_part(segment)
    return Path(home.exports) / part / as_of.isoformat() / f"{part}.{fmt}"


def manifest_path_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}.manifest.json")


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"as_of must be a date or 'YYYY-MM-DD', got {value!r}")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pl.DataFrame:
    return con.sql(sql, params=params).pl()


def consent_label(channel: str) -> str:
    return " or ".join(f"{c} is true" for c in CONSENT_COLUMNS[channel])


def export_audience(home, segment: str, as_of: date | str | None = None, fmt: str = "csv", out: Path | None = None,
                    channel: str = "email", control_share: float = 0.1, *, top_n: int = DEFAULT_TOP_N) -> ExportManifest:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    check_channel(channel)
    share = check_share(control_share)
    if top_n < 0:
        raise ValueError(f"top_n must be >= 0, got {top_n}")
    as_of = _as_date(as_of)
    warehouse = Path(home.warehouse)
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the pipeline before exporting audiences")

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        as_of = _resolve_day(con, segment, as_of)
        audience, info = build_audience(con, segment, as_of, channel, share, top_n)
    finally:
        con.close()

    target = Path(out) if out is not None else default_export_path(home, segment, as_of, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_audience(audience, target, fmt)
    manifest = ExportManifest(
        segment=segment, as_of=as_of, channel=channel, format=fmt, path=target,
        manifest_path=manifest_path_for(target), rows=audience.height,
        control_rows=int(audience.get_column("is_control").sum()), members=info["members"],
        excluded_no_consent=info["excluded_no_consent"], excluded_no_email=info["excluded_no_email"],
        sha256=sha256_file(target), columns=audience.columns, consent_filter=consent_label(channel),
        consent_source=info["consent_source"], control_share=share, scores_as_of=info["scores_as_of"],
        recommendations_as_of=info["recommendations_as_of"], missing=info["missing"],
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    write_text_atomically(manifest.manifest_path, json.dumps(manifest.to_dict(), indent=2) + "\n")
    return manifest


def _resolve_day(con: duckdb.DuckDBPyConnection, segment: str, as_of: date | None) -> date:
    if not table_columns(con, None, *SEGMENTS):
        raise LookupError(f"{_name(SEGMENTS)} does not exist: build the segments before exporting audiences")
    known = {r[0] for r in con.execute(f"select distinct segment from {_ref(SEGMENTS)}").fetchall()}
    # a segment defined in segments.yml that nobody is in yet exports an empty audience, not an error
    if table_columns(con, None, "marts", "segment_definitions"):
        known |= {r[0] for r in con.execute("select segment from marts.segment_definitions").fetchall()}
    known = sorted(known)
    if segment not in known:
        listed = ", ".join(known) if known else "(none: the table is empty)"
        raise ValueError(f"unknown segment {segment!r}; known segments: {listed}")
    first, last = fetch_one(con, f"select min(as_of_date), max(as_of_date) from {_ref(SEGMENTS)}")
    if as_of is None:
        return _as_date(last)
    evaluated = fetch_one(con, f"select count(*) from {_ref(SEGMENTS)} where as_of_date = ?", [as_of])[0]
    if not evaluated:
        raise ValueError(f"no segment membership on {as_of}; {_name(SEGMENTS)} covers {first} .. {last}")
    return as_of


def build_audience(con: duckdb.DuckDBPyConnection, segment: str, as_of: date, channel: str, control_share: float,
                   top_n: int = DEFAULT_TOP_N) -> tuple[pl.DataFrame, dict]:
    """(audience frame, facts for the manifest) from an open warehouse connection."""
    missing: list[str] = []
    member_ids = _members_only(segment, as_of)
    members = _frame(con, f"select distinct customer_id from ({_member_ids_sql()}) order by 1", member_ids[1])
    profile, consent_source = _profile(con, members, as_of, missing, member_ids)
    frame = members.join(profile, on="customer_id", how="left")

    scores, scores_as_of = _scores(con, as_of, missing, member_ids)
    if scores is not None:
        frame = frame.join(scores, on="customer_id", how="left")
    recs, recs_as_of = _recommendations(con, as_of, top_n, missing, member_ids)
    if recs is not None:
        frame = frame.join(recs, on="customer_id", how="left")

    consented, excluded_no_consent = consent_filter(frame, channel)
    excluded_no_email = 0
    if channel == "email":
        reachable = consented.filter(pl.col("email_sha256").is_not_null())
        excluded_no_email = consented.height - reachable.height
        consented = reachable
    consented = consented.sort("customer_id")
    consented = consented.with_columns(control_flags(consented.get_column("customer_id"), segment, control_share))

    leading = [pl.lit(segment).alias("segment"), pl.lit(as_of).cast(pl.Date).alias("as_of_date"), pl.col("customer_id")]
    if channel == "email":
        leading.append(pl.col("email_sha256"))
    if channel == "any":
        # which channel each row may be contacted on
        leading += [opted_in(c).alias(c) for c in ("email_opt_in", "push_opt_in")]
    rest = [c for c in consented.columns if c not in ("customer_id", *PROFILE_COLUMNS, "is_control")]
    audience = consented.select(*leading, *rest, "is_control")
    info = {"members": members.height, "excluded_no_consent": excluded_no_consent,
            "excluded_no_email": excluded_no_email, "consent_source": consent_source,
            "scores_as_of": scores_as_of, "recommendations_as_of": recs_as_of, "missing": missing}
    return audience, info


def _member_ids_sql() -> str:
    """The ids of a segment's members on a day (parameters: segment, as_of_date)."""
    return f"select cast(customer_id as varchar) as customer_id from {_ref(SEGMENTS)} where segment = ? and as_of_date = ?"


def _members_only(segment: str, as_of: date) -> tuple[str, list]:
    """SQL condition (and its parameters) keeping a table's rows of the segment's members that day:
    the profile, scores and recommendations are read for the audience, not for every customer."""
    return f"cast(customer_id as varchar) in ({_member_ids_sql()})", [segment, as_of]


def _profile(con, members: pl.DataFrame, as_of: date, missing: list[str],
             member_ids: tuple[str, list]) -> tuple[pl.DataFrame, dict]:
    """email_sha256 and consent per member. Consent: stg_customers (current) wins over the day's
    customer_features; a field neither has stays null (= no consent) and is listed as missing.
    email_sha256: the first non-null of the two."""
    profile, candidates = members, {c: [] for c in PROFILE_COLUMNS}
    for pair, day_filter in ((CUSTOMERS, False), (FEATURES, True)):
        cols = set(table_columns(con, None, *pair))
        wanted = [c for c in PROFILE_COLUMNS if c in cols]
        if not cols:
            missing.append(_name(pair))
        if "customer_id" not in cols or not wanted or (day_filter and "as_of_date" not in cols):
            continue
        prefix = f"{pair[1]}__"
        select = ", ".join(f"{quote(c)} as {quote(prefix + c)}" for c in wanted)
        where, params = ("as_of_date = ? and ", [as_of]) if day_filter else ("", [])
        extra = _frame(con, f"select cast(customer_id as varchar) as customer_id, {select} from {_ref(pair)} "
                            f"where {where}{member_ids[0]} "
                            "qualify row_number() over (partition by cast(customer_id as varchar)) = 1",
                       params + member_ids[1])
        profile = profile.join(extra, on="customer_id", how="left")
        for c in wanted:
            candidates[c].append((_name(pair), prefix + c))
    exprs, sources = [], {}
    for column, found in candidates.items():
        if not found:
            missing.append(f"column {column}")
            sources[column] = None
            exprs.append(pl.lit(None, pl.String if column == "email_sha256" else pl.Boolean).alias(column))
        elif column == "email_sha256":
            sources[column] = ", ".join(name for name, _ in found)
            exprs.append(pl.coalesce([pl.col(alias).cast(pl.String) for _, alias in found]).alias(column))
        else:
            sources[column] = found[0][0]
            exprs.append(pl.col(found[0][1]).alias(column))
    return profile.select("customer_id", *exprs), sources


def _latest_day_on_or_before(con, pair: tuple[str, str], as_of: date) -> date | None:
    return _as_date(fetch_one(con, f"select max(as_of_date) from {_ref(pair)} where as_of_date <= ?", [as_of])[0])


def _scores(con, as_of: date, missing: list[str], member_ids: tuple[str, list]) -> tuple[pl.DataFrame | None, date | None]:
    cols = table_columns(con, None, *SCORES)
    if not cols or "customer_id" not in cols or "as_of_date" not in cols:
        missing.append(_name(SCORES))
        return None, None
    day = _latest_day_on_or_before(con, SCORES, as_of)
    wanted = [c for c in SCORE_COLUMNS if c in cols]
    missing += [f"{_name(SCORES)}.{c}" for c in SCORE_COLUMNS if c not in cols]
    wanted += [c for c in cols if c.startswith(REASON_PREFIXES)]
    if not wanted:
        return None, day
    select = ", ".join(quote(c) for c in wanted)
    frame = _frame(con, f"select cast(customer_id as varchar) as customer_id, {select} from {_ref(SCORES)} "
                        f"where as_of_date = ? and {member_ids[0]} "
                        "qualify row_number() over (partition by cast(customer_id as varchar)) = 1",
                   [day] + member_ids[1])
    return frame, day


def _recommendations(con, as_of: date, top_n: int, missing: list[str],
                     member_ids: tuple[str, list]) -> tuple[pl.DataFrame | None, date | None]:
    cols = table_columns(con, None, *RECOMMENDATIONS)
    if not cols or "customer_id" not in cols or "product_id" not in cols:
        missing.append(_name(RECOMMENDATIONS))
        return None, None
    where, params, day = "", [], None
    if "as_of_date" in cols:
        day = _latest_day_on_or_before(con, RECOMMENDATIONS, as_of)
        where, params = "as_of_date = ? and ", [day]
    if "rank" in cols:
        order = "rank asc nulls last, cast(product_id as varchar)"
    elif "score" in cols:
        order = "score desc nulls last, cast(product_id as varchar)"
        missing.append(f"{_name(RECOMMENDATIONS)}.rank")
    else:
        order = "cast(product_id as varchar)"
        missing.append(f"{_name(RECOMMENDATIONS)}.rank")
    frame = _frame(con, f"""
        select customer_id, list(product_id order by n) as {RECOMMENDED}
        from (
            select cast(customer_id as varchar) as customer_id, cast(product_id as varchar) as product_id,
                   row_number() over (partition by cast(customer_id as varchar) order by {order}) as n
            from {_ref(RECOMMENDATIONS)}
            where {where}{member_ids[0]}
        )
        where n <= ? and product_id is not null
        group by customer_id""", params + member_ids[1] + [top_n])
    return frame, day


def write_audience(frame: pl.DataFrame, target: Path, fmt: str) -> None:
    """Write `frame` to `target` atomically. CSV has no lists: recommended products become 'p1|p2|p3'."""
    temp = temp_path_for(target)
    try:
        if fmt == "parquet":
            frame.write_parquet(temp)
        elif fmt == "csv":
            flat = frame
            if RECOMMENDED in flat.columns:
                flat = flat.with_columns(pl.col(RECOMMENDED).list.join(CSV_LIST_SEPARATOR))
            flat.write_csv(temp)
        elif fmt == "jsonl":
            frame.write_ndjson(temp)
        else:
            raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
        replace_atomically(temp, target)
    except BaseException:
        remove_quietly(temp)
        raise
