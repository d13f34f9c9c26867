{{
    config(
        materialized='table',
        tags=['partitioned'],
    )
}}

{#-
  Top-N product recommendations per customer, as of ONE day: the window's last day, or the
  latest day already held when that is later (an older window being rebuilt refreshes the
  latest snapshot instead of adding an old one). The table keeps only that snapshot, so it
  depends on the data built, not on how the days were split into windows, and a re-run is
  identical. Cost: one 90-day lookback per run, whatever the window's length.

  For identified customers active in the 90 days up to as_of_date:
    1. co_purchase: products bought in the same visits as products the customer viewed, carted
       or bought in those 90 days (score: co-purchasing visits summed over those products);
    2. co_view: products only viewed in the same visits (score: co-viewing visits);
    3. popular in the customer's top_category (score: distinct buyers in the 90 days);
    4. popular overall (same score).
  A product the customer bought in the last 30 days is never recommended. Each product is kept
  at its best tier; rank orders by tier, score (desc), product_id, and the first
  recommendations_top_n are kept.

  Bounded work per customer: at most recommendations_max_seed_products of the customer's products
  (bought first, then most viewed and carted, then product_id) and, for each, its
  recommendations_related_per_product strongest related products (co-purchases first, then
  co-views, then product_id) are looked at.
-#}

{%- set top_n = var('recommendations_top_n', 5) | int -%}
{%- if top_n < 1 -%}
    {{ exceptions.raise_compiler_error("recommendations_top_n must be >= 1") }}
{%- endif -%}
{%- set max_seeds = var('recommendations_max_seed_products', 20) | int -%}
{%- set max_related = var('recommendations_related_per_product', 20) | int -%}
{%- if max_seeds < 1 or max_related < 1 -%}
    {{ exceptions.raise_compiler_error("recommendations_max_seed_products and recommendations_related_per_product must be >= 1") }}
{%- endif -%}
{%- set lookback_days = 90 -%}
{%- set recent_purchase_days = 30 -%}

{%- set as_of = date_literal(single_snapshot_day()) -%}
{%- set double = api.Column.translate_type('double') -%}
{%- set integer = api.Column.translate_type('integer') -%}
{%- set string = api.Column.translate_type('string') -%}

with links as (

    {{ identity_links(as_of) }}

),

activity as (

    select
        coalesce(links.customer_id, products.visitor_key) as customer_id,
        products.activity_date,
        products.product_id,
        products.category,
        products.product_views,
        products.cart_adds,
        products.orders
    from {{ ref('int_visitor_product_daily') }} as products
    left join links on links.visitor_key = products.visitor_key
    where products.activity_date between {{ date_add_days(as_of, 1 - lookback_days) }} and {{ as_of }}

),

customers as (

    select customer_id, top_category
    from {{ ref('customer_features') }}
    where as_of_date = {{ as_of }}
      and is_identified
      and events_90d > 0

),

seeds as (

    select customer_id, product_id
    from (
        select
            activity.customer_id,
            activity.product_id,
            row_number() over (
                partition by activity.customer_id
                order by sum(activity.orders) desc, sum(activity.product_views + activity.cart_adds) desc, activity.product_id
            ) as seed_rank
        from activity
        inner join customers on customers.customer_id = activity.customer_id
        group by activity.customer_id, activity.product_id
    ) as ranked_seeds
    where seed_rank <= {{ max_seeds }}

),

recently_bought as (

    select distinct activity.customer_id, activity.product_id
    from activity
    inner join customers on customers.customer_id = activity.customer_id
    where activity.orders > 0
      and activity.activity_date > {{ date_add_days(as_of, -recent_purchase_days) }}

),

exclusions as (

    select customer_id, count(*) as products
    from recently_bought
    group by customer_id

),

pair_totals as (

    select
        product_id,
        related_product_id,
        sum(co_view_visits) as co_views,
        sum(co_purchase_visits) as co_purchases
    from {{ ref('int_product_pairs_daily') }}
    where activity_date between {{ date_add_days(as_of, 1 - lookback_days) }} and {{ as_of }}
    group by product_id, related_product_id

),

pairs as (

    select product_id, related_product_id, co_views, co_purchases
    from (
        select
            pair_totals.*,
            row_number() over (
                partition by product_id order by co_purchases desc, co_views desc, related_product_id
            ) as related_rank
        from pair_totals
    ) as ranked_pairs
    where related_rank <= {{ max_related }}

),

seen_categories as (

    -- for products missing from the dimension: the category their events carried most often
    select
        product_id,
        category,
        row_number() over (partition by product_id order by count(*) desc, category) as category_rank
    from activity
    where category is not null
    group by product_id, category

),

product_stats as (

    select
        product_id,
        count(distinct case when orders > 0 then customer_id end) as buyers,
        count(distinct case when product_views > 0 or cart_adds > 0 then customer_id end) as viewers
    from activity
    group by product_id

),

products as (

    select
        stats.product_id,
        coalesce(dimension.category, seen.category) as category,
        stats.buyers,
        stats.viewers
    from product_stats as stats
    left join {{ ref('stg_products') }} as dimension on dimension.product_id = stats.product_id
    left join seen_categories as seen on seen.product_id = stats.product_id and seen.category_rank = 1

),

popular as (

    select
        products.*,
        row_number() over (order by buyers desc, viewers desc, product_id) as overall_rank,
        row_number() over (partition by category order by buyers desc, viewers desc, product_id) as category_rank
    from products

),

customer_keys as (

    -- the co-occurrence work and the ranking below (up to max_seeds x max_related rows per customer)
    -- group and rank on integer keys, which DuckDB hashes and sorts far faster than the string ids;
    -- product keys (every paired or popular product) follow product_id order, so ties still break
    -- by product_id
    select customer_id, row_number() over () as customer_key
    from customers

),

product_keys as (

    select product_id, row_number() over (order by product_id) as product_key
    from (
        select product_id from pairs
        union
        select related_product_id from pairs
        union
        select product_id from products
    ) as known_products

),

key_pairs as (

    select seed.product_key as seed_key, related.product_key as related_key, pairs.co_purchases, pairs.co_views
    from pairs
    inner join product_keys as seed on seed.product_id = pairs.product_id
    inner join product_keys as related on related.product_id = pairs.related_product_id

),

co_occurring as (

    -- a (customer, product) pair as one bigint (macros/packed_keys.sql): grouped faster than two columns
    select
        {{ pair_key('customer_keys.customer_key', 'key_pairs.related_key') }} as pair_key,
        sum(key_pairs.co_purchases) as co_purchases,
        sum(key_pairs.co_views) as co_views
    from seeds
    inner join customer_keys on customer_keys.customer_id = seeds.customer_id
    inner join product_keys on product_keys.product_id = seeds.product_id
    inner join key_pairs on key_pairs.seed_key = product_keys.product_key
    group by 1

),

recently_bought_keys as (

    select {{ pair_key('customer_keys.customer_key', 'product_keys.product_key') }} as pair_key
    from recently_bought
    inner join customer_keys on customer_keys.customer_id = recently_bought.customer_id
    inner join product_keys on product_keys.product_id = recently_bought.product_id

),

co_occurring_ranked as (

    -- Co-occurrence candidates not bought recently, best first. A product appears once per customer
    -- here and each of them ranks ahead of every popular product, so only the first top_n can make
    -- the final list: trimming here gives the same result with far fewer rows to rank below.
    -- The order (tier, score desc, product_key) is packed into one hugeint rank key
    -- (macros/packed_keys.sql), so min(rank_key, top_n) per customer keeps the first top_n in a heap
    -- of plain integers (faster than min_by over create_sort_key blobs, itself ~4.5x faster than
    -- row_number() over every candidate); `ranked` reads the three values back from it.
    select customer_key, unnest(min(rank_key, {{ top_n }})) as rank_key
    from (
        select
            {{ pair_customer_key('co_occurring.pair_key') }} as customer_key,
            {{ rank_key('case when co_occurring.co_purchases > 0 then 1 else 2 end',
                        'case when co_occurring.co_purchases > 0 then co_occurring.co_purchases else co_occurring.co_views end',
                        product_key_of('co_occurring.pair_key')) }} as rank_key
        from co_occurring
        anti join recently_bought_keys on recently_bought_keys.pair_key = co_occurring.pair_key
        where co_occurring.co_purchases > 0 or co_occurring.co_views > 0
    ) as co_candidates
    group by customer_key

),

candidates as (

    select {{ pair_key('customer_key', product_key_of('rank_key')) }} as pair_key, rank_key
    from co_occurring_ranked

    union all

    -- enough popular products that top_n survive the customer's exclusions
    select
        {{ pair_key('customer_keys.customer_key', 'product_keys.product_key') }} as pair_key,
        {{ rank_key('3', 'popular.buyers', 'product_keys.product_key') }} as rank_key
    from customers
    inner join customer_keys on customer_keys.customer_id = customers.customer_id
    left join exclusions on exclusions.customer_id = customers.customer_id
    inner join popular
        on popular.category = customers.top_category
        and popular.category_rank <= {{ top_n }} + coalesce(exclusions.products, 0)
    inner join product_keys on product_keys.product_id = popular.product_id

    union all

    select
        {{ pair_key('customer_keys.customer_key', 'product_keys.product_key') }} as pair_key,
        {{ rank_key('4', 'popular.buyers', 'product_keys.product_key') }} as rank_key
    from customers
    inner join customer_keys on customer_keys.customer_id = customers.customer_id
    left join exclusions on exclusions.customer_id = customers.customer_id
    inner join popular on popular.overall_rank <= {{ top_n }} + coalesce(exclusions.products, 0)
    inner join product_keys on product_keys.product_id = popular.product_id

),

eligible as (

    -- each product at its best tier (the smallest key), never one bought in the last 30 days
    select {{ pair_customer_key('candidates.pair_key') }} as customer_key, min(rank_key) as rank_key
    from candidates
    anti join recently_bought_keys on recently_bought_keys.pair_key = candidates.pair_key
    group by candidates.pair_key

),

ranked as (

    -- each customer's first top_n keys, in order (min(x, n) keeps them in a heap, as above)
    select
        customer_key,
        {{ rank_key_tier('rank_key') }} as tier,
        {{ rank_key_score('rank_key') }} as score,
        {{ product_key_of('rank_key') }} as product_key,
        recommendation_rank
    from (
        select customer_key, unnest(best) as rank_key, generate_subscripts(best, 1) as recommendation_rank
        from (
            select customer_key, list_sort(min(rank_key, {{ top_n }})) as best
            from eligible
            group by customer_key
        ) as per_customer
    ) as listed

)

select
    cast(customer_keys.customer_id as {{ string }}) as customer_id,
    {{ as_of }} as as_of_date,
    cast(ranked.recommendation_rank as {{ integer }}) as rank,
    cast(product_keys.product_id as {{ string }}) as product_id,
    cast(popular.category as {{ string }}) as category,
    cast(ranked.score as {{ double }}) as score,
    cast(case ranked.tier when 1 then 'co_purchase' when 2 then 'co_view' else 'popular' end as {{ string }}) as reason
from ranked
inner join customer_keys on customer_keys.customer_key = ranked.customer_key
inner join product_keys on product_keys.product_key = ranked.product_key
left join popular on popular.product_id = product_keys.product_id

