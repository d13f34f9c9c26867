{#-
  Incremental strategy `window_replace`: the model's batch replaces the WHOLE window.

    1. delete every row whose `window_column` lies in [min_date, max_date];
    2. when the model also rebuilds rows outside the window on purpose (re-keyed days of newly
       identified visitors, a link that moved earlier), delete the rows matching the batch on
       `also_replace_keys` too; if those keys include the window column, only the few dates the
       batch holds outside the window are touched, so a plain daily run never scans history;
    3. insert the batch, in window-column order (keeps DuckDB's zone maps useful for pruning); a
       one-day window's batch is all one day, so it goes in unsorted (sorting 10 M staged events
       cost ~4 s).

  Deleting by window rather than by the keys present in the batch is what makes a day rebuilt
  with fewer rows leave no stale rows behind. Runs inside dbt's transaction.
-#}
{% macro get_incremental_window_replace_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set window_column = config.require('window_column') -%}
    {%- set also_keys = config.get('also_replace_keys') or [] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set outside_window -%}
        {{ window_column }} not between {{ window_min() }} and {{ window_max() }}
    {%- endset -%}

    delete from {{ target }}
    where {{ window_column }} between {{ window_min() }} and {{ window_max() }};

    {%- if also_keys %}
        {%- set date_filter = '' -%}
        {%- if window_column in also_keys -%}
            {%- set dates = run_query('select distinct ' ~ window_column ~ ' from ' ~ batch ~ ' where ' ~ outside_window ~ ' order by 1').columns[0].values() -%}
            {%- set literals = [] -%}
            {%- for value in dates %}{% do literals.append(date_literal(value | string)) %}{% endfor -%}
            {%- set date_filter = (window_column ~ ' in (' ~ literals | join(', ') ~ ') and ') if literals else 'skip' -%}
        {%- endif %}
        {%- if date_filter != 'skip' %}
    delete from {{ target }} as window_target
    where {{ date_filter | replace(window_column ~ ' in', 'window_target.' ~ window_column ~ ' in') }}exists (
        select 1 from {{ batch }} as window_batch
        where {% for key in also_keys %}window_batch.{{ key }} = window_target.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
    );
        {%- endif %}
    {%- endif %}

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ batch }}
    {%- if also_keys or not window_is_one_day() %} order by {{ window_column }}{% endif %};
{% endmacro %}
