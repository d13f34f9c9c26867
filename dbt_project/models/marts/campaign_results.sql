{{
    config(
        materialized='table',
        tags=['partitioned'],
    )
}}

{#-
  Treatment vs control outcome of each campaign, as of ONE day: the window's last day, or the
  latest day already held when that is later (same rule as customer_recommendations: the table
  keeps one snapshot and never depends on how the days were split into windows). Only purchases
  up to as_of_date count, so a campaign whose outcome window ends after it is marked incomplete
  and its figures can still grow.

  Outcome of an assignment: the customer's sold lines (returns excluded; anonymous purchases of a
  visitor linked to the customer by as_of_date included) with ordered_at in
  (sent_ts, sent_ts + campaign_outcome_days]. Rows per campaign, breakdown and group:
  breakdown 'all', and 'top_category' = the category the customer viewed most in the 90 days
  before the send day (customer_category_daily, ties alphabetical; '(none)' without views).
  Uplift = treatment conversion rate - control conversion rate of the same campaign and
  breakdown value, with a 95% confidence interval from the normal approximation of a difference
  of two independent proportions:
      se = sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c),  uplift +- 1.959963985 se.
  A breakdown by segment (marts.customer_segments, built later by Python) is left to the
  segmentation step.
-#}

{%- set outcome_days = var('campaign_outcome_days', 14) | int -%}
{%- if outcome_days < 1 -%}
    {{ exceptions.raise_compiler_error("campaign_outcome_days must be >= 1") }}
{%- endif -%}
{%- set z_95 = 1.959963984540054 -%}

{%- set as_of = date_literal(single_snapshot_day()) -%}
{%- set double = api.Column.translate_type('double') -%}
{%- set bigint = api.Column.translate_type('bigint') -%}
{%- set string = api.Column.translate_type('string') -%}

with links as (

    {{ identity_links(as_of) }}

),

assignments as (

    select campaign_id, customer_id, assignment_group, sent_ts, sent_date
    from {{ ref('stg_campaign_assignments') }}
    where assignment_group in ('treatment', 'control')
      and sent_ts is not null
      and sent_date <= {{ as_of }}

),

purchases as (

    select
        coalesce(links.customer_id, lines.visitor_key) as customer_id,
        lines.order_id,
        lines.ordered_at,
        lines.revenue
    from {{ ref('int_order_lines') }} as lines
    left join links on links.visitor_key = lines.visitor_key
    where lines.order_date between (select min(sent_date) from assignments) and {{ as_of }}
      and not lines.is_return

),

outcomes as (

    select
        assignments.campaign_id,
        assignments.customer_id,
        assignments.assignment_group,
        count(distinct purchases.order_id) as orders,
        coalesce({{ exact_sum('purchases.revenue') }}, 0) as revenue
    from assignments
    left join purchases
        on purchases.customer_id = assignments.customer_id
        and purchases.ordered_at > assignments.sent_ts
        and purchases.ordered_at <= {{ dbt.dateadd('day', outcome_days, 'assignments.sent_ts') }}
    group by assignments.campaign_id, assignments.customer_id, assignments.assignment_group

),

viewed_before_send as (

    select
        assignments.campaign_id,
        assignments.customer_id,
        daily.category,
        row_number() over (
            partition by assignments.campaign_id, assignments.customer_id
            order by sum(daily.product_views) desc, daily.category
        ) as category_rank
    from assignments
    inner join {{ ref('customer_category_daily') }} as daily
        on daily.customer_id = assignments.customer_id
        and daily.activity_date between {{ date_add_days('assignments.sent_date', -90) }}
                                    and {{ date_add_days('assignments.sent_date', -1) }}
    where daily.product_views > 0
    group by assignments.campaign_id, assignments.customer_id, daily.category

),

stratified as (

    select campaign_id, 'all' as breakdown, 'all' as breakdown_value, assignment_group, orders, revenue
    from outcomes

    union all

    select
        outcomes.campaign_id,
        'top_category' as breakdown,
        coalesce(viewed_before_send.category, '(none)') as breakdown_value,
        outcomes.assignment_group,
        outcomes.orders,
        outcomes.revenue
    from outcomes
    left join viewed_before_send
        on viewed_before_send.campaign_id = outcomes.campaign_id
        and viewed_before_send.customer_id = outcomes.customer_id
        and viewed_before_send.category_rank = 1

),

groups as (

    select
        campaign_id,
        breakdown,
        breakdown_value,
        assignment_group,
        count(*) as customers,
        count(case when orders > 0 then 1 end) as converters,
        sum(orders) as orders,
        {{ exact_sum('revenue') }} as revenue,
        {{ ratio('count(case when orders > 0 then 1 end)', 'count(*)') }} as conversion_rate,
        {{ ratio(exact_sum('revenue'), 'count(*)') }} as revenue_per_customer
    from stratified
    group by campaign_id, breakdown, breakdown_value, assignment_group

),

compared as (

    select
        campaign_id,
        breakdown,
        breakdown_value,
        max(case when assignment_group = 'treatment' then customers end) as n_t,
        max(case when assignment_group = 'treatment' then conversion_rate end) as p_t,
        max(case when assignment_group = 'treatment' then revenue_per_customer end) as rpc_t,
        max(case when assignment_group = 'control' then customers end) as n_c,
        max(case when assignment_group = 'control' then conversion_rate end) as p_c,
        max(case when assignment_group = 'control' then revenue_per_customer end) as rpc_c
    from groups
    group by campaign_id, breakdown, breakdown_value

),

uplifts as (

    select
        campaign_id,
        breakdown,
        breakdown_value,
        p_t - p_c as uplift,
        sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c) as uplift_se,
        rpc_t - rpc_c as revenue_per_customer_uplift
    from compared

),

campaign_windows as (

    select
        campaign_id,
        min(sent_date) as first_sent_date,
        max(sent_date) as last_sent_date,
        {{ dbt.cast(dbt.dateadd('day', outcome_days, 'max(sent_ts)'), api.Column.translate_type('date')) }} as outcome_end_date
    from assignments
    group by campaign_id

)

select
    {{ as_of }} as as_of_date,
    cast(groups.campaign_id as {{ string }}) as campaign_id,
    cast(campaigns.channel as {{ string }}) as channel,
    cast(campaigns.offer_type as {{ string }}) as offer_type,
    cast(campaigns.discount_pct as {{ double }}) as discount_pct,
    cast(groups.breakdown as {{ string }}) as breakdown,
    cast(groups.breakdown_value as {{ string }}) as breakdown_value,
    cast(groups.assignment_group as {{ string }}) as assignment_group,
    campaign_windows.first_sent_date,
    campaign_windows.last_sent_date,
    cast({{ outcome_days }} as {{ api.Column.translate_type('integer') }}) as outcome_days,
    campaign_windows.outcome_end_date,
    campaign_windows.outcome_end_date <= {{ as_of }} as is_complete,
    cast(groups.customers as {{ bigint }}) as customers,
    cast(groups.converters as {{ bigint }}) as converters,
    cast(groups.orders as {{ bigint }}) as orders,
    cast(round(groups.conversion_rate, 9) as {{ double }}) as conversion_rate,
    cast(round(groups.revenue, 6) as {{ double }}) as revenue,
    cast(round(groups.revenue_per_customer, 6) as {{ double }}) as revenue_per_customer,
    cast(round(uplifts.uplift, 9) as {{ double }}) as uplift,
    cast(round(uplifts.uplift - {{ z_95 }} * uplifts.uplift_se, 9) as {{ double }}) as uplift_ci_low,
    cast(round(uplifts.uplift + {{ z_95 }} * uplifts.uplift_se, 9) as {{ double }}) as uplift_ci_high,
    cast(round(uplifts.revenue_per_customer_uplift, 6) as {{ double }}) as revenue_per_customer_uplift
from groups
inner join campaign_windows on campaign_windows.campaign_id = groups.campaign_id
inner join uplifts
    on uplifts.campaign_id = groups.campaign_id
    and uplifts.breakdown = groups.breakdown
    and uplifts.breakdown_value = groups.breakdown_value
left join {{ ref('stg_campaigns') }} as campaigns on campaigns.campaign_id = groups.campaign_id
