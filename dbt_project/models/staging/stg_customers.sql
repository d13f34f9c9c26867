{%- set string = api.Column.translate_type('string') -%}

with source as (

    select * from {{ source('lake', 'customers') }}

),

ranked as (

    select
        source.*,
        row_number() over (partition by cast(customer_id as {{ string }}) order by signup_ts desc nulls last, email) as copy_number
    from source
    where customer_id is not null

)

select
    trim(cast(customer_id as {{ string }})) as customer_id,
    -- pseudonymised: the raw address never leaves staging
    case
        when nullif(trim(email), '') is not null then {{ sha256_hex('lower(trim(email))') }}
    end as email_sha256,
    signup_ts,
    cast(birth_year as {{ api.Column.translate_type('bigint') }}) as birth_year,
    nullif(lower(trim(gender)), '') as gender,
    nullif(upper(trim(country)), '') as country,
    nullif(trim(city), '') as city,
    email_opt_in,
    push_opt_in
from ranked
where copy_number = 1
