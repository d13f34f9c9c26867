{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='as_of_date',
        unique_key=['customer_id', 'as_of_date', 'tag'],
        on_schema_change='fail',
        tags=['partitioned'],
        post_hook="{{ delete_expired_snapshots(this) }}",
    )
}}

{#-
  Point-in-time interest in product tags: one row per (customer, as_of_date, tag) for every day
  of the window and every tag of a product the customer viewed or bought in the 90 days up to
  as_of_date. Tags are data (int_product_tags: any shop's tags), never columns.

  Same computation as customer_category_features: the last 90 days of per-visitor activity
  (product views from int_visitor_product_daily, orders from int_order_lines, joined to the
  products' current tags) as a change list summed cumulatively over the window's days, with
  identity links applied from the day they were made. Unlike category and customer features it
  does not fold from the previous snapshot: a product's tags can change, and a folded count would
  keep views under a tag the product no longer has. A product carries any number of tags, so
  the share's denominator is every product view of the customer (customer_features'
  product_views_90d, same keys and days), not the sum over tags. The 1- and 7-day shares (segments
  that react within a day) count every product view in their window through one more row per
  visitor and day, tag '' (never a real tag: int_product_tags drops empty ones), counted from
  stg_events like customer_features' product views (a view of an unknown product included), carried
  only for those short horizons.
-#}

{%- set metrics = ['product_views', 'orders'] -%}
{%- set horizons = {1: ['product_views'], 7: ['product_views'], 30: ['product_views'], 90: ['product_views', 'orders']} -%}
{%- set all_views_horizons = [1, 7] -%}
{#- the all-product-views row (tag '') only counts for the short horizons -#}
{%- set only_tags = {} -%}
{%- for horizon in horizons if horizon not in all_views_horizons %}{% do only_tags.update({horizon: "tag <> ''"}) %}{% endfor -%}
{%- set double = api.Column.translate_type('double') -%}
{%- set bigint = api.Column.translate_type('bigint') -%}

with links as (

    select {{ anonymous_key('anonymous_id') }} as visitor_key, customer_id as linked_customer_id, linked_date
    from {{ ref('int_identity_map') }}

),

tags as (

    select product_id, tag from {{ ref('int_product_tags') }}

),

tag_views as (

    select
        products.visitor_key,
        products.activity_date,
        tags.tag,
        sum(products.product_views) as product_views,
        0 as orders
    from {{ ref('int_visitor_product_daily') }} as products
    inner join tags on tags.product_id = products.product_id
    where products.activity_date between {{ window_min_plus(-89) }} and {{ window_max() }}
      and products.product_views > 0
    group by products.visitor_key, products.activity_date, tags.tag

),

tag_orders as (

    select
        lines.visitor_key,
        lines.order_date as activity_date,
        tags.tag,
        0 as product_views,
        count(distinct lines.order_id) as orders
    from {{ ref('int_order_lines') }} as lines
    inner join tags on tags.product_id = lines.product_id
    where lines.order_date between {{ window_min_plus(-89) }} and {{ window_max() }}
      and not lines.is_return
    group by lines.visitor_key, lines.order_date, tags.tag

),

all_product_views as (

    select
        {{ visitor_key('customer_id', 'anonymous_id') }} as visitor_key,
        event_date as activity_date,
        '' as tag,
        count(*) as product_views,
        0 as orders
    from {{ ref('stg_events') }}
    where event_date between {{ window_min_plus(-(all_views_horizons | max) + 1) }} and {{ window_max() }}
      and event_type = 'product_view'
    group by 1, 2

),

recent as (

    select visitor_key, activity_date, tag, sum(product_views) as product_views, sum(orders) as orders
    from (
        select * from tag_views union all select * from tag_orders union all select * from all_product_views
    ) as both_kinds
    group by visitor_key, activity_date, tag

),

{{ windowed_contributions('tag', horizons, metrics, only_tags, columns=[
    (1, 'product_views', 'views_1d'), (7, 'product_views', 'views_7d'), (30, 'product_views', 'views_30d'),
    (90, 'product_views', 'views_90d'), (90, 'orders', 'orders_90d')]) }},

active as (

    select * from pivoted where tag <> '' and (views_90d > 0 or orders_90d > 0)

),

window_views as (

    select customer_id, as_of_date, views_1d, views_7d from pivoted where tag = ''

),

all_views as (

    select customer_id, as_of_date, product_views_90d
    from {{ ref('customer_features') }}
    where as_of_date between {{ window_min() }} and {{ window_max() }}

)

select
    active.customer_id,
    active.as_of_date,
    active.tag,
    cast(active.views_1d as {{ bigint }}) as views_1d,
    cast(active.views_7d as {{ bigint }}) as views_7d,
    cast(active.views_30d as {{ bigint }}) as views_30d,
    cast(active.views_90d as {{ bigint }}) as views_90d,
    cast(active.orders_90d as {{ bigint }}) as orders_90d,
    cast(round({{ ratio('active.views_1d', 'window_views.views_1d') }}, 9) as {{ double }}) as share_of_views_1d,
    cast(round({{ ratio('active.views_7d', 'window_views.views_7d') }}, 9) as {{ double }}) as share_of_views_7d,
    cast(round({{ ratio('active.views_90d', 'all_views.product_views_90d') }}, 9) as {{ double }}) as share_of_views_90d
from active
left join all_views
    on all_views.customer_id = active.customer_id and all_views.as_of_date = active.as_of_date
left join window_views
    on window_views.customer_id = active.customer_id and window_views.as_of_date = active.as_of_date
