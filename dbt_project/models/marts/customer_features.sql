{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='as_of_date',
        unique_key=['customer_id', 'as_of_date'],
        on_schema_change='fail',
        tags=['partitioned'],
        post_hook="{{ delete_expired_snapshots(this) }}",
    )
}}

{#-
  Model-ready, point-in-time snapshot: one row per (customer, as_of_date) for every day of the
  window and every customer (or still-anonymous visitor) seen up to that day, computed only from
  activity up to as_of_date, with identity links applied only from the day they were made.

  Shape of the computation (cost independent of history length):
    - lifetime totals = the snapshot of min_date - 1 (or, on a first build or after a gap, the
      per-visitor history before the window) + the window's daily activity, cumulatively;
    - 7/30/60/90-day counts folded the same way from the snapshot of min_date - 1: + each day of
      the window's activity, - each day of activity on the day it leaves the horizon, so a daily
      run reads the new day and the four days that expire, not 90 days (on a first build or after
      a gap: from the last 90 days of daily activity);
  both as change lists (+ when a day of activity starts counting for a horizon, - when it stops)
  summed cumulatively over the window's days. An anonymous visitor's contributions move to its
  customer on the link's day (split_at_identity_link), so the anonymous key disappears from that
  day on and the customer's totals include its history.
-#}

{%- set double = api.Column.translate_type('double') -%}
{%- set bigint = api.Column.translate_type('bigint') -%}
{%- set string = api.Column.translate_type('string') -%}
{%- set date = api.Column.translate_type('date') -%}

{#- metric of int_visitor_daily_activity -> column of this snapshot holding its lifetime total -#}
{%- set lifetime = {
    'events': 'events_total', 'sessions': 'sessions_total', 'product_views': 'product_views_total',
    'cart_sessions': 'cart_sessions_total', 'abandoned_sessions': 'abandoned_sessions_total',
    'orders': 'frequency', 'units': 'units_total', 'revenue': 'revenue_total', 'net_revenue': 'monetary',
    'returned_units': 'returned_units_total', 'returned_revenue': 'returned_revenue_total',
    'discounted_orders': 'discounted_orders_total', 'discounted_revenue': 'discounted_revenue_total',
    'email_opens': 'email_opens_total', 'email_clicks': 'email_clicks_total', 'push_opens': 'push_opens_total',
} -%}
{%- set rolling = {
    7: ['events', 'sessions', 'product_views', 'orders'],
    30: ['events', 'sessions', 'product_views', 'orders', 'revenue', 'dwell_seconds', 'searches', 'cart_adds'],
    60: ['events'],
    90: ['events', 'sessions', 'product_views', 'orders', 'revenue', 'dwell_seconds', 'searches', 'filter_uses',
         'price_filter_uses', 'on_sale_filter_uses', 'cart_adds', 'events_mobile', 'events_desktop', 'events_tablet'],
} -%}
{%- set metrics = [] -%}
{%- for metric in lifetime.keys() | list + rolling.values() | sum(start=[]) -%}
    {%- if metric not in metrics %}{% do metrics.append(metric) %}{% endif -%}
{%- endfor -%}
{%- set money = ['revenue', 'net_revenue', 'returned_revenue', 'discounted_revenue', 'dwell_seconds'] -%}
{%- set dates = ['first_seen_date', 'last_seen_date', 'last_purchase_date', 'country_key'] -%}
{#- horizon -> metric -> the column of this snapshot holding its running sum (0: lifetime) -#}
{%- set snapshot_columns = {0: lifetime} -%}
{%- for horizon, wanted in rolling.items() -%}
    {%- set columns = {} -%}
    {%- for metric in wanted %}{% do columns.update({metric: metric ~ '_' ~ horizon ~ 'd'}) %}{% endfor -%}
    {%- do snapshot_columns.update({horizon: columns}) -%}
{%- endfor -%}
{#- (horizon, metric, snapshot column) for each running sum the snapshot holds, lifetime totals first; the
    same shape as running_window_sums' `columns` -#}
{%- set pivot_columns = [] -%}
{%- for horizon, columns in snapshot_columns.items() -%}
    {%- for metric, column in columns.items() %}{% do pivot_columns.append((horizon, metric, column)) %}{% endfor -%}
{%- endfor -%}
{%- set fold = is_incremental() and has_snapshot_before_window(this) -%}
{#- a one-day window (every daily run): each key's changes are its totals, pivoted straight from them -#}
{%- set one_day = window_is_one_day() -%}

with links as (

    select {{ anonymous_key('anonymous_id') }} as visitor_key, customer_id as linked_customer_id, linked_date
    from {{ ref('int_identity_map') }}

),

daily as (

    select
        visitor_key,
        activity_date,
        case when country is not null
             then {{ dbt.concat([dbt.cast('activity_date', string), 'country']) }} end as country_key,
        {{ metrics | join(', ') }}
    from {{ ref('int_visitor_daily_activity') }}

),

baseline as (

{% if fold %}
    -- lifetime totals (horizon 0) and each horizon's counts at min_date - 1, from the previous snapshot
    {{ snapshot_baseline(['customer_id as visitor_key'], snapshot_columns, metrics, horizon_zero={
        'first_seen_date': 'first_seen_date',
        'last_seen_date': 'last_seen_date',
        'last_purchase_date': 'last_purchase_date',
        'country_key': 'case when last_seen_country is not null then '
                       ~ dbt.concat([dbt.cast('last_seen_date', string), 'last_seen_country']) ~ ' end',
    }) }}
{% else %}
    -- no snapshot of min_date - 1: sum the history before the window, per visitor
    select
        visitor_key,
        0 as horizon,
        min(activity_date) as first_seen_date,
        max(activity_date) as last_seen_date,
        max(case when orders > 0 then activity_date end) as last_purchase_date,
        max(country_key) as country_key,
        {%- for metric in metrics %}
        {{ (exact_sum(metric) if metric in money else 'sum(' ~ metric ~ ')') if metric in lifetime else '0' }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from daily
    where activity_date < {{ window_min() }}
    group by visitor_key
{% endif %}

),

recent as (

{% if fold %}
    -- the window's days, and the days before it whose activity leaves a horizon inside the window
    select * from daily
    where {{ folded_days('activity_date', rolling.keys()) }}
{% else %}
    select * from daily
    where activity_date between {{ window_min_plus(-89) }} and {{ window_max() }}
{% endif %}

),

contributions as (

    select
        visitor_key, horizon, {{ window_min() }} as from_date, cast(null as {{ date }}) as to_date,
        first_seen_date, last_seen_date, last_purchase_date, country_key,
        {{ metrics | join(', ') }}
    from baseline

    union all

    select
        visitor_key, 0 as horizon, activity_date as from_date, cast(null as {{ date }}) as to_date,
        activity_date as first_seen_date,
        activity_date as last_seen_date,
        case when orders > 0 then activity_date end as last_purchase_date,
        country_key,
        {%- for metric in metrics %}
        {{ metric if metric in lifetime else '0' }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from recent
    where activity_date >= {{ window_min() }}

    {%- for horizon, wanted in rolling.items() %}

    union all

    select
        visitor_key, {{ horizon }} as horizon, activity_date as from_date, {{ date_add_days('activity_date', horizon) }} as to_date,
        null as first_seen_date, null as last_seen_date, null as last_purchase_date, null as country_key,
        {%- for metric in metrics %}
        {{ metric if metric in wanted else '0' }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from recent
    where activity_date > {{ window_min_plus(-horizon) }}
    {%- if fold %}
      and activity_date >= {{ window_min() }}

    union all

    -- folded: the baseline carries each horizon's counts on, less each day of activity in them
    -- on the day it leaves the horizon
    {{ expiring_rows(['visitor_key'], horizon, wanted, metrics, nulls=dates) }}
    {%- endif %}
    {%- endfor %}

),

segments as (

    {{ split_at_identity_link('contributions', 'links', ['horizon'] + dates + metrics) }}

),

changes as (

    select
        feature_key, horizon,
        case when from_date > {{ window_min() }} then from_date else {{ window_min() }} end as as_of_date,
        {{ (dates + metrics) | join(', ') }}
    from segments
    where from_date <= {{ window_max() }} and (to_date is null or to_date > {{ window_min() }})

    union all

    select
        feature_key, horizon, to_date as as_of_date,
        null, null, null, null,
        {%- for metric in metrics %}
        -{{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from segments
    where to_date > {{ window_min() }} and to_date <= {{ window_max() }}

),

{% if not one_day -%}
daily_changes as (

    -- a row per customer and change day, each horizon's metrics in their own columns (the pivot),
    -- so the running totals below take one window per customer, not one per customer and horizon,
    -- and expand one row per customer and day instead of one per horizon (5x fewer rows to write and
    -- regroup); money stays decimal until the running sums are taken, so totals are exact
    select
        feature_key, as_of_date,
        min(case when horizon = 0 then first_seen_date end) as first_seen_date,
        max(case when horizon = 0 then last_seen_date end) as last_seen_date,
        max(case when horizon = 0 then last_purchase_date end) as last_purchase_date,
        max(case when horizon = 0 then country_key end) as country_key,
        {%- for horizon, metric, column in pivot_columns %}
        sum(case when horizon = {{ horizon }} then {{ 'cast(' ~ metric ~ ' as decimal(38, 6))' if metric in money else metric }} end) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from changes
    group by feature_key, as_of_date

),

days as (

    {{ window_days() }}

),

running_changes as (

    -- each customer's running totals on its change days, and the next change day (they hold until
    -- then): window functions over the changes only, so the cost is linear in them, not in
    -- customers x days (windows over such a spine ran out of memory under a 1 GB DuckDB limit, and a
    -- join of every change with every later day grows with the square of the window)
    select
        feature_key, as_of_date,
        lead(as_of_date) over (partition by feature_key order by as_of_date) as next_change_date,
        min(first_seen_date) over key_days as first_seen_date,
        max(last_seen_date) over key_days as last_seen_date,
        max(last_purchase_date) over key_days as last_purchase_date,
        max(country_key) over key_days as country_key,
        {%- for horizon, metric, column in pivot_columns %}
        {%- if metric in money %}
        cast(sum({{ column }}) over key_days as {{ double }}) as {{ column }}{{ ',' if not loop.last }}
        {%- else %}
        sum({{ column }}) over key_days as {{ column }}{{ ',' if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from daily_changes
    window key_days as (partition by feature_key order by as_of_date rows between unbounded preceding and current row)

),

pivoted as (

    -- a row per customer and window day from its first change on, with the totals of the last change
    -- on or before the day (a horizon without a change yet is 0). Days before the first change would
    -- be 0, which `seen` drops anyway.
    select
        running_changes.feature_key as customer_id, days.as_of_date,
        running_changes.first_seen_date, running_changes.last_seen_date,
        running_changes.last_purchase_date, running_changes.country_key,
        {%- for horizon, metric, column in pivot_columns %}
        coalesce(running_changes.{{ column }}, 0) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from running_changes
    inner join days
        on days.as_of_date >= running_changes.as_of_date
        and days.as_of_date < coalesce(running_changes.next_change_date, {{ date_add_days(window_max(), 1) }})

),
{%- else %}
pivoted as (

    -- one day: every change falls on it, so a customer's totals are the sums of its changes
    select
        feature_key as customer_id,
        as_of_date,
        min(case when horizon = 0 then first_seen_date end) as first_seen_date,
        max(case when horizon = 0 then last_seen_date end) as last_seen_date,
        max(case when horizon = 0 then last_purchase_date end) as last_purchase_date,
        max(case when horizon = 0 then country_key end) as country_key,
        {%- for horizon, metric, column in pivot_columns %}
        coalesce({{ horizon_sum(horizon, metric, metric in money) }}, 0) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from changes
    group by feature_key, as_of_date

),
{%- endif %}

seen as (

    select * from pivoted where events_total > 0

),

sends as (

    -- treatments actually sent, per customer and day
    select
        assignments.customer_id,
        assignments.sent_date,
        count(case when campaigns.channel = 'email' then 1 end) as emails,
        count(case when campaigns.channel = 'push' then 1 end) as pushes
    from {{ ref('stg_campaign_assignments') }} as assignments
    inner join {{ ref('stg_campaigns') }} as campaigns on campaigns.campaign_id = assignments.campaign_id
    where assignments.assignment_group = 'treatment'
      and assignments.sent_date <= {{ window_max() }}
      and campaigns.channel in ('email', 'push')
    group by assignments.customer_id, assignments.sent_date

),

received_before_window as (

    select customer_id, sum(emails) as emails, sum(pushes) as pushes
    from sends
    where sent_date < {{ window_min() }}
    group by customer_id

),

received_in_window as (

    select seen.customer_id, seen.as_of_date, sum(sends.emails) as emails, sum(sends.pushes) as pushes
    from seen
    inner join sends
        on sends.customer_id = seen.customer_id
        and sends.sent_date between {{ window_min() }} and seen.as_of_date
    group by seen.customer_id, seen.as_of_date

),

received as (

    select
        seen.customer_id,
        seen.as_of_date,
        coalesce(before_window.emails, 0) + coalesce(in_window.emails, 0) as emails_received,
        coalesce(before_window.pushes, 0) + coalesce(in_window.pushes, 0) as pushes_received
    from seen
    left join received_before_window as before_window on before_window.customer_id = seen.customer_id
    left join received_in_window as in_window
        on in_window.customer_id = seen.customer_id and in_window.as_of_date = seen.as_of_date

),

category_interest as (

    select
        customer_id,
        as_of_date,
        category,
        views_90d,
        orders_90d,
        share_of_views_90d,
        views_prior_60d,
        trend_ratio,
        share_of_views_30d - coalesce(share_of_views_prior_60d, 0) as share_increase
    from {{ ref('customer_category_features') }}
    where as_of_date between {{ window_min() }} and {{ window_max() }}

),

categories as (

    -- per customer and day: the most viewed categories (views desc, then category) and the one whose
    -- share rose most (a trend needs an earlier period to compare with). One grouping keeps the first
    -- rows by a sort key (min_by with create_sort_key orders exactly like the order by it spells
    -- out), instead of ranking every (customer, day, category) row in windows
    {%- set by_views = "create_sort_key(views_90d, 'DESC NULLS LAST', category, 'ASC NULLS LAST')" %}
    {%- set by_trend = "create_sort_key(share_increase, 'DESC NULLS LAST', category, 'ASC NULLS LAST')" %}
    select
        customer_id,
        as_of_date,
        min_by(category, {{ by_views }}) filter (where views_90d > 0) as top_category,
        arg_min_null(share_of_views_90d, {{ by_views }}) filter (where views_90d > 0) as top_category_share,
        min_by(category, {{ by_views }}, 2) filter (where views_90d > 0)[2] as second_category,
        count(case when views_90d > 0 then 1 end) as n_categories_viewed,
        count(case when orders_90d > 0 then 1 end) as n_categories_purchased,
        case when sum(views_prior_60d) > 0
             then min_by(category, {{ by_trend }}) filter (where share_increase > 0) end as trending_category,
        case when sum(views_prior_60d) > 0
             then arg_min_null(trend_ratio, {{ by_trend }}) filter (where share_increase > 0) end as trending_category_ratio
    from category_interest
    group by customer_id, as_of_date

),

customers as (

    select * from {{ ref('stg_customers') }}

),

features as (

    select
        seen.*,
        coalesce(received.emails_received, 0) as emails_received,
        coalesce(received.pushes_received, 0) as pushes_received,
        {{ dbt.right('seen.country_key', dbt.length('seen.country_key') ~ ' - 10') }} as last_seen_country,
        events_mobile_90d + events_desktop_90d + events_tablet_90d as device_events_90d,
        categories.top_category,
        categories.top_category_share,
        categories.second_category,
        coalesce(categories.n_categories_viewed, 0) as n_categories_viewed,
        coalesce(categories.n_categories_purchased, 0) as n_categories_purchased,
        categories.trending_category,
        categories.trending_category_ratio,
        customers.birth_year,
        customers.gender,
        customers.email_opt_in,
        customers.push_opt_in,
        customers.email_sha256,
        customers.country as customer_country
    from seen
    left join received on received.customer_id = seen.customer_id and received.as_of_date = seen.as_of_date
    left join categories on categories.customer_id = seen.customer_id and categories.as_of_date = seen.as_of_date
    left join customers on customers.customer_id = seen.customer_id

)

select
    cast(customer_id as {{ string }}) as customer_id,
    as_of_date,
    not {{ is_anonymous_key('customer_id') }} as is_identified,
    first_seen_date,
    last_seen_date,
    last_purchase_date,
    cast({{ dbt.datediff('first_seen_date', 'as_of_date', 'day') }} as {{ bigint }}) as tenure_days,
    cast({{ dbt.datediff('last_seen_date', 'as_of_date', 'day') }} as {{ bigint }}) as days_since_last_seen,
    cast({{ dbt.datediff('last_purchase_date', 'as_of_date', 'day') }} as {{ bigint }}) as recency_days,
    {%- for metric, column in lifetime.items() %}
    {%- if metric in money %}
    cast(round({{ column }}, 6) as {{ double }}) as {{ column }},
    {%- else %}
    cast({{ column }} as {{ bigint }}) as {{ column }},
    {%- endif %}
    {%- endfor %}
    cast(round({{ ratio('revenue_total', 'frequency') }}, 6) as {{ double }}) as avg_order_value,
    {%- for horizon, wanted in rolling.items() %}
    {%- for metric in wanted %}
    {%- if metric in money %}
    cast(round({{ metric }}_{{ horizon }}d, 6) as {{ double }}) as {{ metric }}_{{ horizon }}d,
    {%- else %}
    cast({{ metric }}_{{ horizon }}d as {{ bigint }}) as {{ metric }}_{{ horizon }}d,
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
    cast(round({{ ratio('product_views_90d', 'sessions_90d') }}, 9) as {{ double }}) as views_per_session,
    cast(round({{ ratio('dwell_seconds_90d', 'sessions_90d') }}, 6) as {{ double }}) as avg_session_dwell_seconds,
    cast(round({{ ratio('filter_uses_90d', 'searches_90d') }}, 9) as {{ double }}) as filter_use_rate,
    cast(round({{ ratio('abandoned_sessions_total', 'cart_sessions_total') }}, 9) as {{ double }}) as cart_abandonment_rate,
    cast(round({{ ratio('frequency', 'product_views_total') }}, 9) as {{ double }}) as view_to_purchase_ratio,
    cast(round({{ ratio('discounted_revenue_total', 'revenue_total') }}, 9) as {{ double }}) as discount_revenue_share,
    cast(round({{ ratio('discounted_orders_total', 'frequency') }}, 9) as {{ double }}) as discounted_order_share,
    cast(round({{ ratio('returned_units_total', 'units_total') }}, 9) as {{ double }}) as return_rate,
    cast(emails_received as {{ bigint }}) as emails_received,
    cast(pushes_received as {{ bigint }}) as pushes_received,
    cast(round({{ ratio('email_opens_total', 'emails_received') }}, 9) as {{ double }}) as email_open_rate,
    cast(round({{ ratio('email_clicks_total', 'emails_received') }}, 9) as {{ double }}) as email_click_rate,
    cast(round({{ ratio('push_opens_total', 'pushes_received') }}, 9) as {{ double }}) as push_open_rate,
    cast(round({{ ratio('events_mobile_90d', 'device_events_90d') }}, 9) as {{ double }}) as share_mobile,
    cast(round({{ ratio('events_desktop_90d', 'device_events_90d') }}, 9) as {{ double }}) as share_desktop,
    cast(round({{ ratio('events_tablet_90d', 'device_events_90d') }}, 9) as {{ double }}) as share_tablet,
    case
        when device_events_90d = 0 then null
        when events_mobile_90d >= events_desktop_90d and events_mobile_90d >= events_tablet_90d then 'mobile'
        when events_desktop_90d >= events_tablet_90d then 'desktop'
        else 'tablet'
    end as primary_device,
    last_seen_country,
    coalesce(customer_country, last_seen_country) as country,
    top_category,
    cast(round(top_category_share, 9) as {{ double }}) as top_category_share,
    second_category,
    cast(n_categories_viewed as {{ bigint }}) as n_categories_viewed,
    cast(n_categories_purchased as {{ bigint }}) as n_categories_purchased,
    trending_category,
    cast(round(trending_category_ratio, 9) as {{ double }}) as trending_category_ratio,
    cast(round({{ ratio('events_30d', 'events_60d - events_30d') }}, 9) as {{ double }}) as activity_trend_30d,
    cast(extract(year from as_of_date) - birth_year as {{ bigint }}) as age,
    gender,
    email_opt_in,
    push_opt_in,
    email_sha256
from features
