{%- set string = api.Column.translate_type('string') -%}

with ranked as (

    select
        source.*,
        row_number() over (partition by cast(campaign_id as {{ string }}) order by start_ts, channel) as copy_number
    from {{ source('lake', 'campaigns') }} as source
    where campaign_id is not null

)

select
    trim(cast(campaign_id as {{ string }})) as campaign_id,
    nullif(lower(trim(channel)), '') as channel,
    nullif(lower(trim(offer_type)), '') as offer_type,
    cast(discount_pct as {{ api.Column.translate_type('double') }}) as discount_pct,
    start_ts,
    end_ts
from ranked
where copy_number = 1
