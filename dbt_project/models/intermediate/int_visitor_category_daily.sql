{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='activity_date',
        unique_key=['visitor_key', 'activity_date', 'category'],
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#- Category interest per visitor key and day, before identity stitching. An event's category
    is the one it was sent with, else its product's. -#}

with products as (

    select product_id, category from {{ ref('stg_products') }}

),

browsing as (

    select
        {{ visitor_key('events.customer_id', 'events.anonymous_id') }} as visitor_key,
        events.event_date as activity_date,
        coalesce(events.category, products.category) as category,
        count(case when events.event_type = 'product_view' then 1 end) as product_views,
        count(case when events.event_type = 'add_to_cart' then 1 end) as cart_adds
    from {{ ref('stg_events') }} as events
    left join products on products.product_id = events.product_id
    where events.event_date between {{ window_min() }} and {{ window_max() }}
      and events.event_type in ('product_view', 'add_to_cart')
    group by 1, 2, 3

),

buying as (

    select
        visitor_key,
        order_date as activity_date,
        category,
        count(distinct order_id) as orders,
        cast(sum(quantity) as {{ api.Column.translate_type('bigint') }}) as units,
        round(sum(revenue), 6) as revenue
    from {{ ref('int_order_lines') }}
    where order_date between {{ window_min() }} and {{ window_max() }}
      and not is_return
    group by 1, 2, 3

),

keys as (

    select visitor_key, activity_date, category from browsing
    union
    select visitor_key, activity_date, category from buying

)

select
    keys.visitor_key,
    keys.activity_date,
    keys.category,
    coalesce(browsing.product_views, 0) as product_views,
    coalesce(browsing.cart_adds, 0) as cart_adds,
    coalesce(buying.orders, 0) as orders,
    coalesce(buying.units, 0) as units,
    coalesce(buying.revenue, 0) as revenue
from keys
left join browsing
    on browsing.visitor_key = keys.visitor_key and browsing.activity_date = keys.activity_date
    and browsing.category = keys.category
left join buying
    on buying.visitor_key = keys.visitor_key and buying.activity_date = keys.activity_date
    and buying.category = keys.category
where keys.category is not null
