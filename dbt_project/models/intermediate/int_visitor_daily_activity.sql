{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='activity_date',
        unique_key=['visitor_key', 'activity_date'],
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#-
  Daily activity per visitor key BEFORE identity stitching: the customer_id for events that
  carry one, 'anon:<anonymous_id>' for the others. Never needs re-keying, so it is rebuilt for
  the window only; customer_daily_activity rolls it up through int_identity_map and the feature
  marts apply links point in time.
-#}

with events as (

    select
        stg.*,
        {{ visitor_key('customer_id', 'anonymous_id') }} as visitor_key
    from {{ ref('stg_events') }} as stg
    where event_date between {{ window_min() }} and {{ window_max() }}

),

event_facts as (

    select
        visitor_key,
        event_date as activity_date,
        max(customer_id) as customer_id,
        min(anonymous_id) as anonymous_id,
        count(*) as events,
        count(case when event_type = 'page_view' then 1 end) as page_views,
        count(case when event_type = 'product_view' then 1 end) as product_views,
        round(coalesce(sum(dwell_seconds), 0), 6) as dwell_seconds,  -- rounded: a float sum depends on row order
        count(case when event_type = 'search' then 1 end) as searches,
        count(case when uses_filter then 1 end) as filter_uses,
        count(case when uses_price_filter then 1 end) as price_filter_uses,
        count(case when uses_on_sale_filter then 1 end) as on_sale_filter_uses,
        count(case when event_type = 'add_to_cart' then 1 end) as cart_adds,
        count(case when event_type = 'remove_from_cart' then 1 end) as cart_removes,
        count(case when event_type = 'begin_checkout' then 1 end) as checkouts,
        count(case when event_type = 'email_open' then 1 end) as email_opens,
        count(case when event_type = 'email_click' then 1 end) as email_clicks,
        count(case when event_type = 'push_open' then 1 end) as push_opens,
        count(case when event_type = 'ad_click' then 1 end) as ad_clicks,
        count(case when device_type = 'mobile' then 1 end) as events_mobile,
        count(case when device_type = 'desktop' then 1 end) as events_desktop,
        count(case when device_type = 'tablet' then 1 end) as events_tablet
    from events
    group by visitor_key, event_date

),

country_counts as (

    select
        visitor_key,
        event_date as activity_date,
        country,
        count(*) as country_events,
        row_number() over (partition by visitor_key, event_date order by count(*) desc, country) as country_rank
    from events
    where country is not null
    group by visitor_key, event_date, country

),

session_facts as (

    select
        visitor_key,
        session_date as activity_date,
        count(*) as sessions,
        count(case when cart_adds > 0 then 1 end) as cart_sessions,
        count(case when is_abandoned then 1 end) as abandoned_sessions
    from {{ ref('int_sessions') }}
    where session_date between {{ window_min() }} and {{ window_max() }}
    group by visitor_key, session_date

),

orders as (

    select
        visitor_key,
        order_date,
        order_id,
        round(sum(case when not is_return then revenue else 0 end), 6) as revenue,
        cast(sum(case when not is_return then quantity else 0 end) as {{ api.Column.translate_type('bigint') }}) as units,
        round(sum(case when not is_return then discount_amount else 0 end), 6) as discount_amount,
        cast(sum(case when is_return then -quantity else 0 end) as {{ api.Column.translate_type('bigint') }}) as returned_units,
        round(sum(case when is_return then -revenue else 0 end), 6) as returned_revenue,
        round(sum(net_revenue), 6) as net_revenue,
        {{ dbt.bool_or("not is_return") }} as has_sale,
        count(case when price_missing then 1 end) as unpriced_lines
    from {{ ref('int_order_lines') }}
    where order_date between {{ window_min() }} and {{ window_max() }}
    group by visitor_key, order_date, order_id

),

order_facts as (

    select
        visitor_key,
        order_date as activity_date,
        count(case when has_sale then 1 end) as orders,
        cast(sum(units) as {{ api.Column.translate_type('bigint') }}) as units,
        round(sum(revenue), 6) as revenue,
        round(sum(discount_amount), 6) as discount_amount,
        count(case when has_sale and discount_amount > 0 then 1 end) as discounted_orders,
        round(sum(case when discount_amount > 0 then revenue else 0 end), 6) as discounted_revenue,
        cast(sum(returned_units) as {{ api.Column.translate_type('bigint') }}) as returned_units,
        round(sum(returned_revenue), 6) as returned_revenue,
        round(sum(net_revenue), 6) as net_revenue,
        cast(sum(unpriced_lines) as {{ api.Column.translate_type('bigint') }}) as unpriced_lines
    from orders
    group by visitor_key, order_date

)

select
    event_facts.visitor_key,
    event_facts.activity_date,
    event_facts.customer_id,
    event_facts.anonymous_id,
    event_facts.customer_id is not null as is_identified,
    event_facts.events,
    coalesce(session_facts.sessions, 0) as sessions,
    event_facts.page_views,
    event_facts.product_views,
    event_facts.dwell_seconds,
    event_facts.searches,
    event_facts.filter_uses,
    event_facts.price_filter_uses,
    event_facts.on_sale_filter_uses,
    event_facts.cart_adds,
    event_facts.cart_removes,
    event_facts.checkouts,
    coalesce(session_facts.cart_sessions, 0) as cart_sessions,
    coalesce(session_facts.abandoned_sessions, 0) as abandoned_sessions,
    coalesce(order_facts.orders, 0) as orders,
    coalesce(order_facts.units, 0) as units,
    coalesce(order_facts.revenue, 0) as revenue,
    coalesce(order_facts.discount_amount, 0) as discount_amount,
    coalesce(order_facts.discounted_orders, 0) as discounted_orders,
    coalesce(order_facts.discounted_revenue, 0) as discounted_revenue,
    coalesce(order_facts.returned_units, 0) as returned_units,
    coalesce(order_facts.returned_revenue, 0) as returned_revenue,
    coalesce(order_facts.net_revenue, 0) as net_revenue,
    coalesce(order_facts.unpriced_lines, 0) as unpriced_lines,
    event_facts.email_opens,
    event_facts.email_clicks,
    event_facts.push_opens,
    event_facts.ad_clicks,
    event_facts.events_mobile,
    event_facts.events_desktop,
    event_facts.events_tablet,
    country_counts.country,
    coalesce(country_counts.country_events, 0) as country_events
from event_facts
left join session_facts
    on session_facts.visitor_key = event_facts.visitor_key and session_facts.activity_date = event_facts.activity_date
left join order_facts
    on order_facts.visitor_key = event_facts.visitor_key and order_facts.activity_date = event_facts.activity_date
left join country_counts
    on country_counts.visitor_key = event_facts.visitor_key
    and country_counts.activity_date = event_facts.activity_date
    and country_counts.country_rank = 1
