{#- Per-visitor activity (`recent` CTE: visitor_key, <dimension>, activity_date, metrics) as
    windowed running sums per customer: emits the CTEs contributions (each day of activity counts
    for each horizon from its day until the horizon ends), segments (identity links applied from
    the day they were made, `links` CTE) and those of running_window_sums.
    `horizons`: horizon -> the metrics summed over it (the others stay 0).
    `only_where`: horizon -> extra SQL condition on the rows counted for that horizon.
    `fold_where`: none, or a SQL condition on `recent` rows that fold from the snapshot of
    min_date - 1 (a `baseline` CTE: visitor_key, <dimension>, horizon, metrics): those rows count
    from the window's first day only, the baseline carries on, and each day of activity before the
    window leaves on the day its horizon ends, so `recent` needs only folded_days(). Rows not
    matching it are summed from their own days (recent must then hold the horizon's last days).
    `columns`: the (horizon, metric, column) running sums the `pivoted` CTE holds; by default
    <metric>_<horizon>d for each metric of each horizon. -#}
{% macro windowed_contributions(dimension, horizons, metrics, only_where={}, fold_where=none, exact=[], columns=none) -%}
{%- set date = api.Column.translate_type('date') -%}
contributions as (

    {%- for horizon, wanted in horizons.items() %}
    select
        visitor_key,
        {{ dimension }},
        {{ horizon }} as horizon,
        activity_date as from_date,
        {{ date_add_days('activity_date', horizon) }} as to_date,
        {%- for metric in metrics %}
        {{ metric if metric in wanted else '0' }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from recent
    where activity_date > {{ window_min_plus(-horizon) }}
    {%- if horizon in only_where %}
      and {{ only_where[horizon] }}
    {%- endif %}
    {%- if fold_where is not none %}
      and (activity_date >= {{ window_min() }} or not ({{ fold_where }}))

    union all

    select visitor_key, {{ dimension }}, horizon, {{ window_min() }} as from_date, cast(null as {{ date }}) as to_date,
        {{ metrics | join(', ') }}
    from baseline
    where horizon = {{ horizon }}

    union all

    {{ expiring_rows(['visitor_key', dimension], horizon, wanted, metrics,
                     where=[fold_where] + ([only_where[horizon]] if horizon in only_where else [])) }}
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

segments as (

    {{ split_at_identity_link('contributions', 'links', [dimension, 'horizon'] + metrics) }}

),

{%- if columns is none %}
{%- set columns = [] %}
{%- for horizon, wanted in horizons.items() %}
{%- for metric in wanted %}{% do columns.append((horizon, metric, metric ~ '_' ~ horizon ~ 'd')) %}{% endfor %}
{%- endfor %}
{%- endif %}
{{ running_window_sums(dimension, metrics, columns, exact) }}
{%- endmacro %}

{#- SQL condition: `column` is a day a folded window reads: the window's days, and the days before
    it whose activity leaves one of `horizons` inside the window. -#}
{% macro folded_days(column, horizons) -%}
    ({{ column }} between {{ window_min() }} and {{ window_max() }}
    {%- for horizon in horizons %}
     or {{ column }} between {{ window_min_plus(-horizon) }} and {{ date_add_days(window_max(), -horizon) }}
    {%- endfor %})
{%- endmacro %}

{#- Running totals per (customer, <dimension>) over the window's days, from the `segments` CTE
    (rows valid from from_date until before to_date), as the CTE `pivoted`: customer_id, as_of_date,
    <dimension> and one column per (horizon, metric, column) of `columns`, 0 where nothing counted.
    Each contribution enters on its first day in the window and leaves on its to_date, so the daily
    values are running sums of changes (cost linear in the window, not in history). A key has rows
    from its first change in the window on (earlier days would be 0). Emits the CTEs changes, then
    (a window of several days) daily_changes, days and running_changes.
    Shared by customer_category_features and customer_tag_features. `exact`: metrics (money) summed
    as decimals, so a folded total equals the one summed from each day. -#}
{% macro running_window_sums(dimension, metrics, columns, exact=[]) -%}
changes as (

    select
        feature_key, {{ dimension }}, horizon,
        case when from_date > {{ window_min() }} then from_date else {{ window_min() }} end as as_of_date,
        {%- for metric in metrics %}
        {{ 'cast(' ~ metric ~ ' as decimal(38, 6))' if metric in exact else metric }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from segments
    where from_date <= {{ window_max() }} and (to_date is null or to_date > {{ window_min() }})

    union all

    select
        feature_key, {{ dimension }}, horizon,
        to_date as as_of_date,
        {%- for metric in metrics %}
        -{{ 'cast(' ~ metric ~ ' as decimal(38, 6))' if metric in exact else metric }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from segments
    where to_date > {{ window_min() }} and to_date <= {{ window_max() }}

),

{% if window_is_one_day() -%}
pivoted as (

    -- one day: every change falls on it, so a key's totals are the sums of its changes
    select
        feature_key as customer_id, as_of_date, {{ dimension }},
        {%- for horizon, metric, column in columns %}
        coalesce(sum(case when horizon = {{ horizon }} then {{ metric }} end), 0) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from changes
    group by feature_key, {{ dimension }}, as_of_date

)
{%- else -%}
daily_changes as (

    -- a row per key and change day, each horizon's metrics in their own columns (the pivot), so the
    -- running totals take one window per key, not one per key and horizon, and expand one row per
    -- key and day instead of one per horizon
    select
        feature_key, {{ dimension }}, as_of_date,
        {%- for horizon, metric, column in columns %}
        sum(case when horizon = {{ horizon }} then {{ metric }} end) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from changes
    group by feature_key, {{ dimension }}, as_of_date

),

days as (

    {{ window_days() }}

),

running_changes as (

    -- each key's running totals on its change days, and the next change day (the totals hold until
    -- then): window functions over the changes only, so the cost is linear in the changes
    select
        feature_key, {{ dimension }}, as_of_date,
        lead(as_of_date) over (partition by feature_key, {{ dimension }} order by as_of_date) as next_change_date,
        {%- for horizon, metric, column in columns %}
        sum({{ column }}) over key_days as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from daily_changes
    window key_days as (partition by feature_key, {{ dimension }} order by as_of_date rows between unbounded preceding and current row)

),

pivoted as (

    -- a row per key and window day from the key's first change on: each day takes the totals of
    -- the last change on or before it (a horizon without a change yet is 0)
    select
        running_changes.feature_key as customer_id, days.as_of_date, running_changes.{{ dimension }},
        {%- for horizon, metric, column in columns %}
        coalesce(running_changes.{{ column }}, 0) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from running_changes
    inner join days
        on days.as_of_date >= running_changes.as_of_date
        and days.as_of_date < coalesce(running_changes.next_change_date, {{ date_add_days(window_max(), 1) }})

)
{%- endif %}
{%- endmacro %}

{#- The `baseline` rows of a folded window, from one read of the snapshot of min_date - 1 in
    {{ this }}: a row per snapshot row and horizon, with `leading` columns (expressions), then
    horizon, then `horizon_zero` (name -> expression, null for other horizons), then metrics.
    `snapshot_columns`: horizon -> metric -> the column holding its running sum (0 when none). -#}
{% macro snapshot_baseline(leading, snapshot_columns, metrics, horizon_zero={}) -%}
    select
        {%- for column in leading %}
        {{ column }},
        {%- endfor %}
        horizons.horizon,
        {%- for name, expression in horizon_zero.items() %}
        case when horizons.horizon = 0 then {{ expression }} end as {{ name }},
        {%- endfor %}
        {%- for metric in metrics %}
        {%- set sources = [] %}
        {%- for horizon, columns in snapshot_columns.items() if metric in columns %}
        {%- do sources.append((horizon, columns[metric])) %}
        {%- endfor %}
        {%- if sources %}
        case horizons.horizon
            {%- for horizon, column in sources %} when {{ horizon }} then {{ column }}{% endfor %} else 0
        end as {{ metric }}{{ ',' if not loop.last }}
        {%- else %}
        0 as {{ metric }}{{ ',' if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from {{ this }} as previous
    cross join (
        {%- for horizon in snapshot_columns.keys() %}
        select {{ horizon }} as horizon{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as horizons
    where previous.as_of_date = {{ window_min_plus(-1) }}
{%- endmacro %}

{#- The rows taking each day of activity before the window (`recent` CTE) out of a folded
    `horizon` on the day it leaves it: from that day on, minus its `wanted` metrics. Columns: `keys`,
    horizon, from_date, to_date (null), null for each of `nulls`, then `metrics`; `where`: extra
    SQL conditions on the rows of `recent`. -#}
{% macro expiring_rows(keys, horizon, wanted, metrics, nulls=[], where=[]) -%}
    select
        {{ keys | join(', ') }},
        {{ horizon }} as horizon,
        {{ date_add_days('activity_date', horizon) }} as from_date,
        cast(null as {{ api.Column.translate_type('date') }}) as to_date,
        {%- for column in nulls %}
        null as {{ column }},
        {%- endfor %}
        {%- for metric in metrics %}
        {{ '-' ~ metric if metric in wanted else '0' }} as {{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from recent
    where activity_date between {{ window_min_plus(-horizon) }} and {{ date_add_days(window_max(), -horizon) }}
      and activity_date < {{ window_min() }}
    {%- for condition in where %}
      and ({{ condition }})
    {%- endfor %}
{%- endmacro %}
