{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='activity_date',
        also_replace_keys=['customer_id', 'activity_date'],
        unique_key=['customer_id', 'activity_date'],
        on_schema_change='fail',
        tags=['partitioned'],
        pre_hook="{{ delete_rekeyed_anonymous_rows() }}",
    )
}}

{#-
  One row per customer per active day: int_visitor_daily_activity rolled up through the
  current identity map (an anonymous visitor's activity belongs to its linked customer).
  Every day of the window is replaced. When a link is made in the window, the days OUTSIDE the
  window on which that anonymous visitor was active are rebuilt too, for the linked customers
  only: their 'anon:' rows go (pre-hook), their customer rows of those days come back from the
  per-visitor table, without re-reading events or recomputing other history.
-#}

{%- set metrics = [
    'events', 'sessions', 'page_views', 'product_views', 'dwell_seconds', 'searches', 'filter_uses',
    'price_filter_uses', 'on_sale_filter_uses', 'cart_adds', 'cart_removes', 'checkouts', 'cart_sessions',
    'abandoned_sessions', 'orders', 'units', 'revenue', 'discount_amount', 'discounted_orders',
    'discounted_revenue', 'returned_units', 'returned_revenue', 'net_revenue', 'unpriced_lines', 'email_opens',
    'email_clicks', 'push_opens', 'ad_clicks', 'events_mobile', 'events_desktop', 'events_tablet',
] -%}
{%- set bigint = api.Column.translate_type('bigint') -%}
{%- set double = api.Column.translate_type('double') -%}
{%- set money = ['dwell_seconds', 'revenue', 'discount_amount', 'discounted_revenue', 'returned_revenue', 'net_revenue'] -%}

-- depends_on: {{ ref('int_anonymous_visitors') }}
{%- set rekey_from = rekey_from_date() if is_incremental() else none %}

with identity_map as (

    select {{ anonymous_key('anonymous_id') }} as visitor_key, customer_id, linked_date
    from {{ ref('int_identity_map') }}

),

visitor_days as (

    select * from {{ ref('int_visitor_daily_activity') }}
    where activity_date between {{ window_min() }} and {{ window_max() }}

{% if rekey_from is not none %}

    union all

    {{ rekeyed_outside_rows(ref('int_visitor_daily_activity'), 'identity_map', rekey_from) }}

{% endif %}

),

stitched as (

    select
        coalesce(identity_map.customer_id, visitor_days.visitor_key) as customer_id,
        visitor_days.*,
        case when visitor_days.is_identified or identity_map.customer_id is not null then 1 else 0 end as identified
    from visitor_days
    left join identity_map on identity_map.visitor_key = visitor_days.visitor_key

),

countries as (

    select
        customer_id,
        activity_date,
        country,
        row_number() over (
            partition by customer_id, activity_date order by sum(country_events) desc, country
        ) as country_rank
    from stitched
    where country is not null
    group by customer_id, activity_date, country

),

rolled as (

    select
        customer_id,
        activity_date,
        {%- for metric in metrics %}
        {% if metric in money %}cast(round(sum({{ metric }}), 6) as {{ double }}){% else %}cast(sum({{ metric }}) as {{ bigint }}){% endif %} as {{ metric }},
        {%- endfor %}
        max(identified) = 1 as is_identified
    from stitched
    group by customer_id, activity_date

)

select
    rolled.customer_id,
    rolled.activity_date,
    {%- for metric in metrics %}
    rolled.{{ metric }},
    {%- endfor %}
    countries.country,
    rolled.is_identified
from rolled
left join countries
    on countries.customer_id = rolled.customer_id
    and countries.activity_date = rolled.activity_date
    and countries.country_rank = 1
