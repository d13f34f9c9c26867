{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='activity_date',
        also_replace_keys=['customer_id', 'activity_date'],
        unique_key=['customer_id', 'activity_date', 'category'],
        on_schema_change='fail',
        tags=['partitioned'],
        pre_hook="{{ delete_rekeyed_anonymous_rows() }}",
    )
}}

{#- Category interest per customer and day: int_visitor_category_daily through the current
    identity map, with the same window replacement and re-keying as customer_daily_activity. -#}

-- depends_on: {{ ref('int_anonymous_visitors') }}
{%- set rekey_from = rekey_from_date() if is_incremental() else none %}

with identity_map as (

    select {{ anonymous_key('anonymous_id') }} as visitor_key, customer_id, linked_date
    from {{ ref('int_identity_map') }}

),

visitor_days as (

    select * from {{ ref('int_visitor_category_daily') }}
    where activity_date between {{ window_min() }} and {{ window_max() }}

{% if rekey_from is not none %}

    union all

    {{ rekeyed_outside_rows(ref('int_visitor_category_daily'), 'identity_map', rekey_from) }}

{% endif %}

)

select
    coalesce(identity_map.customer_id, visitor_days.visitor_key) as customer_id,
    visitor_days.activity_date,
    visitor_days.category,
    cast(sum(visitor_days.product_views) as {{ api.Column.translate_type('bigint') }}) as product_views,
    cast(sum(visitor_days.cart_adds) as {{ api.Column.translate_type('bigint') }}) as cart_adds,
    cast(sum(visitor_days.orders) as {{ api.Column.translate_type('bigint') }}) as orders,
    cast(sum(visitor_days.units) as {{ api.Column.translate_type('bigint') }}) as units,
    cast(round(sum(visitor_days.revenue), 6) as {{ api.Column.translate_type('double') }}) as revenue
from visitor_days
left join identity_map on identity_map.visitor_key = visitor_days.visitor_key
group by 1, 2, 3
