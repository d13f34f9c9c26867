"""Campaign results per segment: for randomized campaigns, conversion and revenue of treatment and
control among the members of each segment on the day before the send, with the uplift and its 95 %
confidence interval (normal approximation for a difference of proportions).

The dbt mart marts.campaign_results has the overall and per-category figures; segments are built
after dbt, so their breakdown is computed here, in the same shape (breakdown = 'segment').
"""

from __future__ import annotations

import duckdb

TABLE = "marts.campaign_results_by_segment"
Z_95 = 1.959963984540054


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0])


def build_campaign_results_by_segment(con: duckdb.DuckDBPyConnection, outcome_days: int = 14) -> int:
    """Rebuild the table from the assignments, daily segment membership and daily activity; returns rows.
    A customer converts when they order on the send day or within `outcome_days` - 1 days after it."""
    if outcome_days < 1:
        raise ValueError("outcome_days must be >= 1")
    needed = [("staging", "stg_campaign_assignments"), ("marts", "customer_segments"), ("marts", "customer_daily_activity")]
    if not all(_exists(con, s, t) for s, t in needed):
        return 0
    con.execute(f"""
        create or replace table {TABLE} as
        with assigned as (
            select campaign_id, cast(customer_id as varchar) as customer_id, assignment_group,
                   cast(sent_ts as date) as sent_date
            from staging.stg_campaign_assignments
            where assignment_group in ('treatment', 'control') and sent_ts is not null
        ),
        data_end as (select max(activity_date) as last_day from marts.customer_daily_activity),
        members as (
            select a.*, s.segment
            from assigned a
            join marts.customer_segments s
              on s.customer_id = a.customer_id and s.as_of_date = a.sent_date - 1
        ),
        outcomes as (
            select m.campaign_id, m.segment, m.assignment_group, m.customer_id, m.sent_date,
                   coalesce(sum(d.orders), 0) as orders,
                   -- summed as decimal: a float sum depends on row order, and re-runs must match
                   coalesce(cast(sum(cast(d.revenue as decimal(38, 6))) as double), 0) as revenue
            from members m
            left join marts.customer_daily_activity d
              on d.customer_id = m.customer_id
             and d.activity_date between m.sent_date and m.sent_date + {int(outcome_days) - 1}
            group by all
        ),
        groups as (
            select campaign_id, segment, assignment_group,
                   min(sent_date) as first_sent_date, max(sent_date) as last_sent_date,
                   count(*) as customers, count(*) filter (where orders > 0) as converters,
                   sum(orders) as orders, cast(sum(cast(revenue as decimal(38, 6))) as double) as revenue
            from outcomes group by all
        ),
        rates as (
            select *, converters / customers as conversion_rate, revenue / customers as revenue_per_customer
            from groups
        ),
        paired as (
            select t.campaign_id, t.segment,
                   t.conversion_rate - c.conversion_rate as uplift,
                   sqrt(t.conversion_rate * (1 - t.conversion_rate) / t.customers
                        + c.conversion_rate * (1 - c.conversion_rate) / c.customers) as se,
                   t.revenue_per_customer - c.revenue_per_customer as revenue_per_customer_uplift
            from rates t join rates c
              on c.campaign_id = t.campaign_id and c.segment = t.segment
             and t.assignment_group = 'treatment' and c.assignment_group = 'control'
        )
        select r.campaign_id, 'segment' as breakdown, r.segment as breakdown_value, r.assignment_group,
               r.first_sent_date, r.last_sent_date, {int(outcome_days)} as outcome_days,
               r.last_sent_date + {int(outcome_days) - 1} as outcome_end_date,
               r.last_sent_date + {int(outcome_days) - 1} <= (select last_day from data_end) as is_complete,
               r.customers, r.converters, r.orders, r.conversion_rate, r.revenue, r.revenue_per_customer,
               p.uplift, p.uplift - {Z_95} * p.se as uplift_ci_low, p.uplift + {Z_95} * p.se as uplift_ci_high,
               p.revenue_per_customer_uplift
        from rates r
        left join paired p on p.campaign_id = r.campaign_id and p.segment = r.segment
        order by r.campaign_id, r.segment, r.assignment_group
    """)
    return con.execute(f"select count(*) from {TABLE}").fetchall()[0][0]
