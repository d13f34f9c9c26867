{#-
  One row per (product, tag) from stg_products.tags, a comma-separated string: each piece
  trimmed and lower-cased, empty pieces dropped, duplicates within a product kept once. A product
  without tags (NULL, empty) has no row. Tags are data: any shop's tags work.

  The pieces are numbered with a series as long as the longest tag list (read from stg_products
  when this model runs, so no product's tags are cut off).
-#}

{%- set max_tags = 1 -%}
{%- if execute -%}
    {%- set products = ref('stg_products') -%}
    {%- if adapter.get_relation(products.database, products.schema, products.identifier) is not none -%}
        {%- set longest -%}
            select max({{ dbt.length('tags') }} - {{ dbt.length(dbt.replace('tags', "','", "''")) }}) + 1
            from {{ products }} where tags is not null
        {%- endset -%}
        {%- set found = run_query(longest).rows[0][0] -%}
        {%- if found is not none and found > 1 -%}{%- set max_tags = found | int -%}{%- endif -%}
    {%- endif -%}
{%- endif -%}

with tagged as (

    select
        product_id,
        tags,
        {{ dbt.length('tags') }} - {{ dbt.length(dbt.replace('tags', "','", "''")) }} + 1 as pieces
    from {{ ref('stg_products') }}
    where tags is not null

),

numbers as (

    {{ dbt.generate_series(max_tags) }}

),

pieces as (

    select
        tagged.product_id,
        lower(trim({{ dbt.split_part('tagged.tags', "','", 'numbers.generated_number') }})) as tag
    from tagged
    inner join numbers on numbers.generated_number <= tagged.pieces

)

select distinct product_id, tag
from pieces
where tag is not null and tag <> ''
