{%- set string = api.Column.translate_type('string') -%}

with ranked as (

    select
        source.*,
        row_number() over (
            partition by cast(campaign_id as {{ string }}), cast(customer_id as {{ string }})
            order by sent_ts nulls last, "group"
        ) as copy_number
    from {{ source('lake', 'campaign_assignments') }} as source
    where campaign_id is not null and customer_id is not null

)

select
    trim(cast(campaign_id as {{ string }})) as campaign_id,
    trim(cast(customer_id as {{ string }})) as customer_id,
    lower(trim("group")) as assignment_group,
    sent_ts,
    cast(sent_ts as {{ api.Column.translate_type('date') }}) as sent_date
from ranked
where copy_number = 1
