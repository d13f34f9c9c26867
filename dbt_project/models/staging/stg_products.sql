{%- set string = api.Column.translate_type('string') -%}

with ranked as (

    select
        source.*,
        row_number() over (partition by cast(product_id as {{ string }}) order by category, brand) as copy_number
    from {{ source('lake', 'products') }} as source
    where product_id is not null

)

select
    trim(cast(product_id as {{ string }})) as product_id,
    nullif(trim(category), '') as category,
    nullif(trim(subcategory), '') as subcategory,
    nullif(trim(brand), '') as brand,
    cast(list_price as {{ api.Column.translate_type('double') }}) as list_price,
    nullif(trim(tags), '') as tags
from ranked
where copy_number = 1
