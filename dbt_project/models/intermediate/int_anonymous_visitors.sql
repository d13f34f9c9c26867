{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='first_seen_date',
        also_replace_keys=['visitor_key'],
        unique_key='visitor_key',
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#-
  One row per anonymous visitor key ('anon:<anonymous_id>') with activity on any day built so far,
  and the first such day. When a visitor is identified, re-keying its earlier days
  (customer_daily_activity, customer_category_daily) reads the daily tables from that day on
  only, instead of scanning the whole history every day (macros/identity.sql, rekey_from_date).
    - a visitor first seen before the window keeps its row;
    - one seen in the window and not before replaces a later row of the same key (an older
      window rebuilt);
    - one whose first day was in the window but is no longer there (the window rebuilt with
      fewer rows) falls back to its first day after the window (only those few keys are read).
  The first build reads every built day, so the table also starts right on an existing warehouse.
-#}

with seen as (

    select visitor_key, min(activity_date) as first_seen_date
    from {{ ref('int_visitor_daily_activity') }}
    where {{ is_anonymous_key('visitor_key') }}
    {% if is_incremental() %}
      and activity_date between {{ window_min() }} and {{ window_max() }}
    {% endif %}
    group by visitor_key

)

{% if is_incremental() %}

, lost_in_window as (

    select previous.visitor_key
    from {{ this }} as previous
    where previous.first_seen_date between {{ window_min() }} and {{ window_max() }}
      and not exists (select 1 from seen where seen.visitor_key = previous.visitor_key)

),

seen_later as (

    select activity.visitor_key, min(activity.activity_date) as first_seen_date
    from {{ ref('int_visitor_daily_activity') }} as activity
    inner join lost_in_window on lost_in_window.visitor_key = activity.visitor_key
    where activity.activity_date > {{ window_max() }}
    group by activity.visitor_key

)

select seen.visitor_key, seen.first_seen_date
from seen
where not exists (
    select 1 from {{ this }} as earlier
    where earlier.visitor_key = seen.visitor_key
      and earlier.first_seen_date < {{ window_min() }}
)

union all

select visitor_key, first_seen_date from seen_later

{% else %}

select visitor_key, first_seen_date from seen

{% endif %}
