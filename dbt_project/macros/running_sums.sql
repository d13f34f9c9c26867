{#- Per-visitor activity of the last days (`recent` CTE: visitor_key, <dimension>, activity_date,
    metrics) as windowed running sums per customer: emits the CTEs contributions (each day of
    activity counts for each horizon from its day until the horizon ends), segments (identity links
    applied from the day they were made, `links` CTE) and those of running_window_sums.
    `only_where`: horizon -> extra SQL condition on the rows counted for that horizon. -#}
{% macro windowed_contributions(dimension, horizons, metrics, only_where={}) -%}
contributions as (

    {%- for horizon in horizons %}
    select
        visitor_key,
        {{ dimension }},
        {{ horizon }} as horizon,
        activity_date as from_date,
        {{ date_add_days('activity_date', horizon) }} as to_date,
        {{ metrics | join(', ') }}
    from recent
    where activity_date > {{ window_min_plus(-horizon) }}
    {%- if horizon in only_where %}
      and {{ only_where[horizon] }}
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

segments as (

    {{ split_at_identity_link('contributions', 'links', [dimension, 'horizon'] + metrics) }}

),

{{ running_window_sums(dimension, metrics) }}
{%- endmacro %}

{#- Running totals per (customer, <dimension>, horizon) over the window's days, from the `segments`
    CTE (rows valid from from_date until before to_date). Emits the CTEs changes, daily_changes,
    days, spine and running: each contribution enters on its first day in the window and leaves on
    its to_date, so the daily values are running sums of changes (cost linear in the window, not in
    history). Shared by customer_category_features and customer_tag_features. -#}
{% macro running_window_sums(dimension, metrics) -%}
changes as (

    select
        feature_key, {{ dimension }}, horizon,
        case when from_date > {{ window_min() }} then from_date else {{ window_min() }} end as as_of_date,
        {{ metrics | join(', ') }}
    from segments
    where from_date <= {{ window_max() }} and to_date > {{ window_min() }}

    union all

    select
        feature_key, {{ dimension }}, horizon,
        to_date as as_of_date,
        {%- for metric in metrics %}
        -{{ metric }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from segments
    where to_date > {{ window_min() }} and to_date <= {{ window_max() }}

),

daily_changes as (

    select
        feature_key, {{ dimension }}, horizon, as_of_date,
        {%- for metric in metrics %}
        sum({{ metric }}) as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from changes
    group by feature_key, {{ dimension }}, horizon, as_of_date

),

days as (

    {{ window_days() }}

),

spine as (

    select keys.feature_key, keys.{{ dimension }}, keys.horizon, days.as_of_date
    from (select distinct feature_key, {{ dimension }}, horizon from daily_changes) as keys
    cross join days

),

running as (

    select
        spine.feature_key, spine.{{ dimension }}, spine.horizon, spine.as_of_date,
        {%- for metric in metrics %}
        sum(coalesce(daily_changes.{{ metric }}, 0)) over (
            partition by spine.feature_key, spine.{{ dimension }}, spine.horizon
            order by spine.as_of_date rows between unbounded preceding and current row
        ) as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from spine
    left join daily_changes
        on daily_changes.feature_key = spine.feature_key
        and daily_changes.{{ dimension }} = spine.{{ dimension }}
        and daily_changes.horizon = spine.horizon
        and daily_changes.as_of_date = spine.as_of_date

)
{%- endmacro %}
