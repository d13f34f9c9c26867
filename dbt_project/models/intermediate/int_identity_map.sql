{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='linked_date',
        also_replace_keys=['anonymous_id'],
        unique_key='anonymous_id',
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#-
  One row per anonymous_id that was ever seen together with a customer_id (an identify event,
  or any event carrying both): the earliest such link wins (ties: identify first, then the
  smallest customer_id). The table always holds, for every anonymous_id, its earliest link
  over every day built so far:
    - links made before the window are kept and beat the window's;
    - the window's earliest links replace rows of the window and later rows of the same id;
    - an id whose window link disappeared on a rebuild falls back to its next link after the
      window (only the rows of those few ids after the window are read).
-#}

with links as (

    select
        anonymous_id,
        customer_id,
        event_ts as linked_at,
        event_date as linked_date,
        event_type as link_event_type,
        event_id as link_event_id
    from {{ ref('stg_events') }}
    where event_date between {{ window_min() }} and {{ window_max() }}
      and anonymous_id is not null
      and customer_id is not null

),

{% if is_incremental() %}

linked_before_window as (

    select anonymous_id from {{ this }}
    where linked_date < {{ window_min() }}

),

lost_in_window as (

    select previous.anonymous_id
    from {{ this }} as previous
    where previous.linked_date between {{ window_min() }} and {{ window_max() }}
      and not exists (select 1 from links where links.anonymous_id = previous.anonymous_id)

),

later_links as (

    select
        events.anonymous_id,
        events.customer_id,
        events.event_ts as linked_at,
        events.event_date as linked_date,
        events.event_type as link_event_type,
        events.event_id as link_event_id
    from {{ ref('stg_events') }} as events
    inner join lost_in_window on lost_in_window.anonymous_id = events.anonymous_id
    where events.event_date > {{ window_max() }}
      and events.customer_id is not null

),

candidates as (

    select * from links
    where not exists (
        select 1 from linked_before_window as earlier where earlier.anonymous_id = links.anonymous_id
    )
    union all
    select * from later_links

),

{% else %}

candidates as (

    select * from links

),

{% endif %}

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by anonymous_id
            order by linked_at, case when link_event_type = 'identify' then 0 else 1 end, customer_id, link_event_id
        ) as link_rank
    from candidates

)

select
    anonymous_id,
    customer_id,
    linked_at,
    linked_date,
    link_event_type,
    link_event_id
from ranked
where link_rank = 1
