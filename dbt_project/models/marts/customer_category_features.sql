{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='as_of_date',
        unique_key=['customer_id', 'as_of_date', 'category'],
        on_schema_change='fail',
        tags=['partitioned'],
        post_hook="{{ delete_expired_snapshots(this) }}",
    )
}}

{#-
  Point-in-time category interest: one row per (customer, as_of_date, category) for every day of
  the window and every category the customer touched in the 90 days up to as_of_date.
  Categories are data (any shop's), never columns.

  Each day of activity counts for a horizon (1, 7, 30 or 90 days) from its day until the horizon
  ends; as a change list (+ when it starts counting, - when it stops) summed cumulatively over the
  window's days. With the snapshot of min_date - 1 in the table, the window folds from it: it
  reads only the window's days and the days whose activity leaves a horizon inside the window
  (a daily run: 5 days); otherwise the last 90 days of per-visitor category activity. Anonymous activity counts
  for the customer it is linked to from the link's day on, not before (split_at_identity_link).
  The 1-day ("today") and 7-day horizons let segments react to a change of interest within a day;
  the 30/90-day ones describe lasting interest.
-#}

{%- set metrics = ['product_views', 'cart_adds', 'orders', 'units', 'revenue'] -%}
{#- horizon -> metric -> the snapshot column holding its running sum -#}
{%- set snapshot_columns = {
    1: {'product_views': 'views_1d'},
    7: {'product_views': 'views_7d', 'cart_adds': 'cart_adds_7d'},
    30: {'product_views': 'views_30d'},
    90: {'product_views': 'views_90d', 'cart_adds': 'cart_adds_90d', 'orders': 'orders_90d', 'units': 'units_90d',
         'revenue': 'revenue_90d'},
} -%}
{%- set horizons = {} -%}
{%- for horizon, columns in snapshot_columns.items() %}{% do horizons.update({horizon: columns.keys() | list}) %}{% endfor -%}
{%- set fold = is_incremental() and has_snapshot_before_window(this) -%}
{%- set double = api.Column.translate_type('double') -%}
{%- set bigint = api.Column.translate_type('bigint') -%}

with links as (

    select {{ anonymous_key('anonymous_id') }} as visitor_key, customer_id as linked_customer_id, linked_date
    from {{ ref('int_identity_map') }}

),

recent as (

    select * from {{ ref('int_visitor_category_daily') }}
{%- if fold %}
    where {{ folded_days('activity_date', horizons.keys()) }}
{%- else %}
    where activity_date between {{ window_min_plus(-89) }} and {{ window_max() }}
{%- endif %}

),

{% if fold -%}
baseline as (

    {{ snapshot_baseline(['customer_id as visitor_key', 'category'], snapshot_columns, metrics) }}

),
{%- endif %}

{{ windowed_contributions('category', horizons, metrics, fold_where='true' if fold else none, exact=['revenue']) }},

active as (

    select
        pivoted.*,
        product_views_90d - product_views_30d as product_views_prior_60d
    from pivoted
    where product_views_90d > 0 or cart_adds_90d > 0 or orders_90d > 0

),

shares as (

    select
        active.*,
        {{ ratio('product_views_90d', 'sum(product_views_90d) over (partition by customer_id, as_of_date)') }} as share_of_views_90d,
        {{ ratio('product_views_7d', 'sum(product_views_7d) over (partition by customer_id, as_of_date)') }} as share_of_views_7d,
        {{ ratio('product_views_1d', 'sum(product_views_1d) over (partition by customer_id, as_of_date)') }} as share_of_views_1d,
        {{ ratio('product_views_30d', 'sum(product_views_30d) over (partition by customer_id, as_of_date)') }} as share_of_views_30d,
        {{ ratio('product_views_prior_60d', 'sum(product_views_prior_60d) over (partition by customer_id, as_of_date)') }} as share_of_views_prior_60d
    from active

)

select
    customer_id,
    as_of_date,
    category,
    cast(product_views_1d as {{ bigint }}) as views_1d,
    cast(product_views_7d as {{ bigint }}) as views_7d,
    cast(product_views_30d as {{ bigint }}) as views_30d,
    cast(product_views_prior_60d as {{ bigint }}) as views_prior_60d,
    cast(product_views_90d as {{ bigint }}) as views_90d,
    cast(cart_adds_7d as {{ bigint }}) as cart_adds_7d,
    cast(cart_adds_90d as {{ bigint }}) as cart_adds_90d,
    cast(orders_90d as {{ bigint }}) as orders_90d,
    cast(units_90d as {{ bigint }}) as units_90d,
    cast(round(revenue_90d, 6) as {{ double }}) as revenue_90d,
    cast(round(share_of_views_1d, 9) as {{ double }}) as share_of_views_1d,
    cast(round(share_of_views_7d, 9) as {{ double }}) as share_of_views_7d,
    cast(round(share_of_views_90d, 9) as {{ double }}) as share_of_views_90d,
    cast(round(share_of_views_30d, 9) as {{ double }}) as share_of_views_30d,
    cast(round(share_of_views_prior_60d, 9) as {{ double }}) as share_of_views_prior_60d,
    cast(round({{ ratio('share_of_views_30d', 'share_of_views_prior_60d') }}, 9) as {{ double }}) as trend_ratio
from shares
