"""The marts tables the segmentation engine owns, with their DDL (created on first use)."""

from __future__ import annotations

import duckdb

SEGMENTS = "marts.customer_segments"
DAYS = "marts.segment_days"
RUNS = "marts.segment_runs"
DEFINITIONS = "marts.segment_definitions"
HISTORY = "marts.segment_membership_history"
HISTORY_STATE = "marts.segment_history_state"
TRANSITIONS = "marts.segment_transitions"
SUMMARY = "marts.segment_summary"

DDL = {
    # Daily membership, overlapping: one row per (as_of_date, segment, customer_id).
    SEGMENTS: """
        as_of_date DATE NOT NULL, segment VARCHAR NOT NULL, customer_id VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,            -- 'rule' | 'cluster'
        description VARCHAR""",
    # One row per evaluated day: what was evaluated, and how many membership rows it wrote
    # (lets history detect daily rows removed by retention).
    DAYS: """
        as_of_date DATE NOT NULL, customers BIGINT NOT NULL, membership_rows BIGINT NOT NULL,
        rule_segments_evaluated INTEGER NOT NULL, rule_segments_skipped INTEGER NOT NULL,
        clusters_status VARCHAR NOT NULL,   -- 'evaluated' | 'unavailable' (unknown: history keeps) | 'disabled'
        clusters_note VARCHAR""",
    # One row per (day, segment) evaluated or skipped, with the day's size and member averages.
    RUNS: """
        as_of_date DATE NOT NULL, segment VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        status VARCHAR NOT NULL,            -- 'evaluated' | 'skipped'
        skip_reason VARCHAR, description VARCHAR, members BIGINT NOT NULL,
        avg_p_purchase_30d DOUBLE, avg_p_churn DOUBLE, avg_expected_value_365d DOUBLE,
        avg_discount_uplift DOUBLE, revenue_30d DOUBLE""",
    # The rule segments as of the last daily build (replaced by each build).
    DEFINITIONS: """
        segment VARCHAR NOT NULL, description VARCHAR, owner VARCHAR, rule VARCHAR,
        compiled_sql VARCHAR, channels VARCHAR[], status VARCHAR NOT NULL, skip_reason VARCHAR""",
    # System of record of every move: one row per uninterrupted stretch of membership.
    HISTORY: """
        segment VARCHAR NOT NULL, customer_id VARCHAR NOT NULL,
        valid_from DATE NOT NULL,           -- first day in the segment
        valid_to DATE,                      -- last day in the segment; NULL while still a member
        days INTEGER NOT NULL               -- days in the stretch (open: through the last evaluated day)""",
    # Last day each segment's history has been evaluated through.
    HISTORY_STATE: "segment VARCHAR NOT NULL, through_day DATE NOT NULL",
    TRANSITIONS: """
        as_of_date DATE NOT NULL, customer_id VARCHAR NOT NULL,
        transition VARCHAR NOT NULL,        -- 'entered' | 'exited' | 'moved'
        from_segment VARCHAR,               -- exited, moved
        to_segment VARCHAR                  -- entered, moved""",
    SUMMARY: """
        as_of_date DATE NOT NULL, segment VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        size BIGINT NOT NULL, entries BIGINT NOT NULL, exits BIGINT NOT NULL,
        previous_size BIGINT, size_change DOUBLE, size_change_flag BOOLEAN NOT NULL,
        avg_p_purchase_30d DOUBLE, avg_p_churn DOUBLE, avg_expected_value_365d DOUBLE,
        avg_discount_uplift DOUBLE, revenue_30d DOUBLE""",
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists marts")
    for table, columns in DDL.items():
        con.execute(f"create table if not exists {table} ({columns}\n)")
