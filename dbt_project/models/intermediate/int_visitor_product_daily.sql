{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='activity_date',
        unique_key=['visitor_key', 'activity_date', 'product_id'],
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#- Product interest per visitor key and day, before identity stitching (like
    int_visitor_category_daily, one level finer): views, cart adds and sold lines of each
    product. Feeds the tag features (joined to int_product_tags when they are built, so the
    products' current tags apply) and the item co-occurrence behind the recommendations. -#}

{%- set bigint = api.Column.translate_type('bigint') -%}
{%- set string = api.Column.translate_type('string') -%}

with products as (

    select product_id, category from {{ ref('stg_products') }}

),

touches as (

    select
        {{ visitor_key('events.customer_id', 'events.anonymous_id') }} as visitor_key,
        events.event_date as activity_date,
        events.product_id,
        coalesce(events.category, products.category) as category,
        case when events.event_type = 'product_view' then 1 else 0 end as product_views,
        case when events.event_type = 'add_to_cart' then 1 else 0 end as cart_adds,
        cast(null as {{ string }}) as order_id,
        0 as units,
        0 as revenue
    from {{ ref('stg_events') }} as events
    left join products on products.product_id = events.product_id
    where events.event_date between {{ window_min() }} and {{ window_max() }}
      and events.event_type in ('product_view', 'add_to_cart')
      and events.product_id is not null

    union all

    select
        visitor_key,
        order_date as activity_date,
        product_id,
        category,
        0 as product_views,
        0 as cart_adds,
        order_id,
        quantity as units,
        revenue
    from {{ ref('int_order_lines') }}
    where order_date between {{ window_min() }} and {{ window_max() }}
      and not is_return
      and product_id is not null

)

select
    visitor_key,
    activity_date,
    product_id,
    -- one category per product in practice; max() keeps it deterministic when events disagree
    max(category) as category,
    cast(sum(product_views) as {{ bigint }}) as product_views,
    cast(sum(cart_adds) as {{ bigint }}) as cart_adds,
    cast(count(distinct order_id) as {{ bigint }}) as orders,
    cast(sum(units) as {{ bigint }}) as units,
    round(sum(revenue), 6) as revenue
from touches
group by visitor_key, activity_date, product_id
