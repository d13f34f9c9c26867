{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='order_date',
        unique_key='order_line_id',
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#-
  One line per purchase event. revenue = price * quantity (gross); net_revenue = revenue -
  discount_amount. A missing price counts as 0 revenue and is flagged (price_missing), a missing
  quantity as 1 unit, a missing discount as 0. quantity < 0 is a return (negative revenue; the
  discount given back is a negative discount_amount). A purchase without order_id is an order of
  its own.
-#}

{%- set double = api.Column.translate_type('double') -%}

with purchases as (

    select * from {{ ref('stg_events') }}
    where event_date between {{ window_min() }} and {{ window_max() }}
      and event_type = 'purchase'

),

products as (

    select product_id, category from {{ ref('stg_products') }}

)

select
    purchases.event_id as order_line_id,
    coalesce(purchases.order_id, purchases.event_id) as order_id,
    purchases.event_ts as ordered_at,
    purchases.event_date as order_date,
    {{ visitor_key('purchases.customer_id', 'purchases.anonymous_id') }} as visitor_key,
    purchases.customer_id,
    purchases.anonymous_id,
    purchases.product_id,
    coalesce(purchases.category, products.category) as category,
    purchases.price,
    coalesce(purchases.quantity, 1) as quantity,
    purchases.price is null as price_missing,
    coalesce(purchases.price, 0) * coalesce(purchases.quantity, 1) as revenue,
    cast(coalesce(purchases.discount_amount, 0) as {{ double }}) as discount_amount,
    coalesce(purchases.price, 0) * coalesce(purchases.quantity, 1) - coalesce(purchases.discount_amount, 0) as net_revenue,
    coalesce(purchases.quantity, 1) < 0 as is_return,
    purchases.device_type,
    purchases.channel,
    purchases.campaign_id
from purchases
left join products on products.product_id = purchases.product_id
