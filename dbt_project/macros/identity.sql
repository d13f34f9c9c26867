{#- Keys of the marts: the customer_id when an event carries one, else 'anon:<anonymous_id>'. -#}
{% macro visitor_key(customer_col, anonymous_col) -%}
    case when {{ customer_col }} is not null then {{ customer_col }} else {{ anonymous_key(anonymous_col) }} end
{%- endmacro %}

{% macro anonymous_key(anonymous_col) -%}
    {{ dbt.concat(["'anon:'", anonymous_col]) }}
{%- endmacro %}

{% macro is_anonymous_key(key_col) -%}
    ({{ key_col }} like 'anon:%')
{%- endmacro %}

{#- Before the window's batch replaces it: drop rows still keyed by an anonymous visitor whose
    link to a customer was made in this window, wherever they are (their days outside the window
    come back re-keyed in the batch). -#}
{% macro delete_rekeyed_anonymous_rows() %}
    {% set from_date = rekey_from_date() if is_incremental() else none %}
    {% if from_date is not none %}
        delete from {{ this }}
        where activity_date >= {{ date_literal(from_date) }}
          and customer_id in (
            select {{ anonymous_key('anonymous_id') }}
            from {{ ref('int_identity_map') }}
            where linked_date between {{ window_min() }} and {{ window_max() }}
        )
    {% endif %}
{% endmacro %}

{#- The earliest day a visitor linked to a customer in this window was active as an anonymous
    key (int_anonymous_visitors), or none when no such visitor exists: re-keying reads and deletes
    only the days from it on, and nothing at all without one. A literal date lets DuckDB skip the
    older row groups. -#}
{% macro rekey_from_date() %}
    {% if not execute %}{{ return(none) }}{% endif %}
    {% set sql %}
        select min(visitors.first_seen_date)
        from {{ ref('int_identity_map') }} as links
        inner join {{ ref('int_anonymous_visitors') }} as visitors
            on visitors.visitor_key = {{ anonymous_key('links.anonymous_id') }}
        where links.linked_date between {{ window_min() }} and {{ window_max() }}
    {% endset %}
    {% set first_day = run_query(sql).rows[0][0] %}
    {{ return(none if first_day is none else (first_day | string)) }}
{% endmacro %}

{#-
  Point-in-time identity for the feature marts. `contributions` has visitor_key, from_date and
  to_date (exclusive, NULL = open-ended): a row of activity counts for the key from from_date
  until to_date. An anonymous visitor linked to a customer on linked_date counts as itself
  before that day and as the customer from that day on, so a snapshot never uses a link made
  after its as_of_date. Other columns are carried through.
-#}
{% macro split_at_identity_link(contributions, links, carried) %}
    select
        c.visitor_key as feature_key,
        c.from_date,
        case when l.linked_date is not null and (c.to_date is null or l.linked_date < c.to_date)
             then l.linked_date else c.to_date end as to_date,
        {% for column in carried %}c.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ contributions }} as c
    left join {{ links }} as l on l.visitor_key = c.visitor_key
    where l.linked_date is null or l.linked_date > c.from_date

    union all

    select
        l.linked_customer_id as feature_key,
        case when l.linked_date > c.from_date then l.linked_date else c.from_date end as from_date,
        c.to_date,
        {% for column in carried %}c.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ contributions }} as c
    inner join {{ links }} as l on l.visitor_key = c.visitor_key
    where c.to_date is null or l.linked_date < c.to_date
{% endmacro %}

{#- Anonymous visitor key -> customer, for links made by `as_of` (a SQL date expression). -#}
{% macro identity_links(as_of) -%}
    select {{ anonymous_key('anonymous_id') }} as visitor_key, customer_id
    from {{ ref('int_identity_map') }}
    where linked_date <= {{ as_of }}
{%- endmacro %}

{#- Rows of a per-visitor daily `relation` outside the window to rebuild because a visitor linked
    in the window belongs to the same customer on that day: every row of that (day, customer), from
    `rekey_from` on. `identity_map` is a CTE (visitor_key, customer_id, linked_date). The rows are
    found by equi-joins on (day, customer), then (visitor, day): joining on the day alone would pair
    every row of a day with every re-keyed customer of that day. -#}
{% macro rekeyed_outside_rows(relation, identity_map, rekey_from) -%}
    select outside.*
    from {{ relation }} as outside
    inner join (
        select distinct keyed.visitor_key, keyed.activity_date
        from (
            select candidate.visitor_key, candidate.activity_date,
                   coalesce(current_link.customer_id, candidate.visitor_key) as customer_id
            from {{ relation }} as candidate
            left join {{ identity_map }} as current_link on current_link.visitor_key = candidate.visitor_key
            where {{ rekey_days('candidate.activity_date', rekey_from) }}
        ) as keyed
        inner join (
            -- (day, customer) pairs outside the window to rebuild: where a newly linked visitor was active
            select distinct activity.activity_date, new_links.customer_id
            from {{ relation }} as activity
            inner join {{ identity_map }} as new_links on new_links.visitor_key = activity.visitor_key
            where new_links.linked_date between {{ window_min() }} and {{ window_max() }}
              and {{ rekey_days('activity.activity_date', rekey_from) }}
        ) as rekey
            on rekey.activity_date = keyed.activity_date and rekey.customer_id = keyed.customer_id
    ) as chosen
        on chosen.visitor_key = outside.visitor_key and chosen.activity_date = outside.activity_date
{%- endmacro %}

{% macro rekey_days(column, rekey_from) -%}
    {{ column }} >= {{ date_literal(rekey_from) }} and {{ column }} not between {{ window_min() }} and {{ window_max() }}
{%- endmacro %}
