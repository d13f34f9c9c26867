{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        window_column='session_date',
        unique_key=['session_key', 'session_date'],
        on_schema_change='fail',
        tags=['partitioned'],
    )
}}

{#-
  Sessions of on-site events (everything but email_open, email_click and push_open, which happen
  in the mail or push client). A session_id sent with the event is used as is (it is taken to be unique across
  visitors). Events without one are grouped per device (anonymous_id, else customer_id): a gap of
  more than session_timeout_minutes starts a new session. Derived sessions never cross UTC
  midnight, and a sent session spanning midnight counts once per day, so each day can be
  rebuilt alone. A session belongs to the visitor key of its first event.
-#}

{%- set string = api.Column.translate_type('string') -%}
{%- set timeout_seconds = (var('session_timeout_minutes') | int) * 60 -%}
{%- set first_event = "create_sort_key(event_ts, 'ASC NULLS LAST', event_id, 'ASC NULLS LAST')" -%}

{#- `events` is read twice; inlined (not materialized), each reader scans stg_events for its own rows
    instead of DuckDB holding the day's events in memory (10 M events: peak 2.6 -> 0.9 GB, half the
    CPU). The first event is found by create_sort_key, which compares like the struct it replaces
    but faster. -#}

with events as not materialized (

    select
        event_id,
        event_ts,
        event_date,
        event_type,
        customer_id,
        anonymous_id,
        session_id,
        dwell_seconds,
        device_type,
        coalesce(anonymous_id, customer_id) as device_key,
        {{ visitor_key('customer_id', 'anonymous_id') }} as visitor_key
    from {{ ref('stg_events') }}
    where event_date between {{ window_min() }} and {{ window_max() }}
      and event_type not in ('email_open', 'email_click', 'push_open')

),

unsent as (

    select
        events.*,
        lag(event_ts) over (partition by device_key, event_date order by event_ts, event_id) as previous_ts
    from events
    where session_id is null

),

numbered as (

    select
        unsent.*,
        sum(
            case
                when previous_ts is null then 1
                when {{ dbt.datediff('previous_ts', 'event_ts', 'second') }} > {{ timeout_seconds }} then 1
                else 0
            end
        ) over (partition by device_key, event_date order by event_ts, event_id rows between unbounded preceding and current row) as session_number
    from unsent

),

keyed as (

    select
        {{ dbt.concat(["'derived:'", 'device_key', "':'", dbt.cast('event_date', string), "':'", dbt.cast('session_number', string)]) }} as session_key,
        false as has_sent_session_id,
        event_id, event_ts, event_date, event_type, customer_id, anonymous_id, dwell_seconds, device_type, device_key, visitor_key
    from numbered

    union all

    select
        session_id as session_key,
        true as has_sent_session_id,
        event_id, event_ts, event_date, event_type, customer_id, anonymous_id, dwell_seconds, device_type, device_key, visitor_key
    from events
    where session_id is not null

),

facts as (

    -- a session's visitor and device key are those of its first event, its device type that of its
    -- first event with one (arg_min skips null values): no ranking of every event of the day
    select
        session_key,
        event_date as session_date,
        arg_min(visitor_key, {{ first_event }}) as visitor_key,
        arg_min(device_key, {{ first_event }}) as device_key,
        arg_min(device_type, {{ first_event }}) as device_type,
        min(event_ts) as session_start,
        max(event_ts) as session_end,
        max(customer_id) as customer_id,
        min(anonymous_id) as anonymous_id,
        {{ dbt.bool_or("has_sent_session_id") }} as has_sent_session_id,
        count(*) as events,
        count(case when event_type = 'page_view' then 1 end) as page_views,
        count(case when event_type = 'product_view' then 1 end) as product_views,
        count(case when event_type = 'search' then 1 end) as searches,
        round(coalesce(sum(dwell_seconds), 0), 6) as dwell_seconds,  -- rounded: a float sum depends on row order
        count(case when event_type = 'add_to_cart' then 1 end) as cart_adds,
        count(case when event_type = 'remove_from_cart' then 1 end) as cart_removes,
        count(case when event_type = 'begin_checkout' then 1 end) as checkouts,
        count(case when event_type = 'purchase' then 1 end) as purchase_events
    from keyed
    group by session_key, event_date

)

select
    facts.session_key,
    facts.session_date,
    facts.visitor_key,
    facts.device_key,
    facts.customer_id,
    facts.anonymous_id,
    facts.has_sent_session_id,
    facts.session_start,
    facts.session_end,
    {{ dbt.datediff('facts.session_start', 'facts.session_end', 'second') }} as duration_seconds,
    facts.events,
    facts.page_views,
    facts.product_views,
    facts.searches,
    facts.dwell_seconds,
    facts.cart_adds,
    facts.cart_removes,
    facts.checkouts,
    facts.purchase_events,
    facts.purchase_events > 0 as has_purchase,
    facts.cart_adds > 0 and facts.purchase_events = 0 as is_abandoned,
    facts.device_type
from facts
