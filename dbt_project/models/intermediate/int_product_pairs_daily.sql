{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='activity_date',
        unique_key=['activity_date', 'product_id', 'related_product_id'],
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#-
  Item co-occurrence per day: how many visits (a visitor key on a UTC day) looked at, or bought,
  both products. Both directions are stored (a -> b and b -> a) so a lookup by product_id finds
  every related product. A visit counts as a basket: coarser than a session, it needs no
  event-level session table and, like sessions here, never crosses midnight.

  A visit with many products (a crawler, a catalogue browser) would add pairs quadratically:
  only its first `co_occurrence_max_products_per_visit` products count (bought first, then most
  viewed, then by product_id), which bounds the pairs per visit.
-#}

{%- set max_products = var('co_occurrence_max_products_per_visit', 50) | int -%}
{%- if max_products < 2 -%}
    {{ exceptions.raise_compiler_error("co_occurrence_max_products_per_visit must be >= 2") }}
{%- endif -%}
{%- set bigint = api.Column.translate_type('bigint') -%}

with visits as (

    select
        visitor_key,
        activity_date,
        product_id,
        product_views > 0 or cart_adds > 0 as looked,
        orders > 0 as bought,
        row_number() over (
            partition by visitor_key, activity_date
            order by orders desc, product_views + cart_adds desc, product_id
        ) as product_rank
    from {{ ref('int_visitor_product_daily') }}
    where activity_date between {{ window_min() }} and {{ window_max() }}

),

capped as (

    select * from visits where product_rank <= {{ max_products }}

),

pairs as (

    select
        a.activity_date,
        a.product_id,
        b.product_id as related_product_id,
        case when a.looked and b.looked then 1 else 0 end as co_viewed,
        case when a.bought and b.bought then 1 else 0 end as co_bought
    from capped as a
    inner join capped as b
        on b.visitor_key = a.visitor_key
        and b.activity_date = a.activity_date
        and b.product_id <> a.product_id

)

select
    activity_date,
    product_id,
    related_product_id,
    cast(sum(co_viewed) as {{ bigint }}) as co_view_visits,
    cast(sum(co_bought) as {{ bigint }}) as co_purchase_visits
from pairs
group by activity_date, product_id, related_product_id
having sum(co_viewed) > 0 or sum(co_bought) > 0
