{#-
  The daily-partition window every `partitioned` model builds: [min_date, max_date], inclusive.

  Both come from --vars, or else from the environment (SEGMENTS_DBT_MIN_DATE / SEGMENTS_DBT_MAX_DATE,
  how the pipeline passes them); when either is missing it defaults to the first / last day that
  has a folder under lake/events (a loaded day always has a file, maybe empty), so a plain
  `dbt build` covers the whole lake.
  The environment is read only while executing, never while parsing: dbt re-parses the whole
  project whenever --vars change, and the files using an environment variable whenever it changes
  at parse time, so a window passed this way lets each day's run reuse the parse of the day before.
-#}

{% macro window_setting(name) %}
    {%- set value = var(name, none) -%}
    {%- if not value and execute -%}
        {%- set value = env_var('SEGMENTS_DBT_' ~ name | upper, '') or none -%}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{% macro window_bounds() %}
    {%- set min_var = window_setting('min_date') -%}
    {%- set max_var = window_setting('max_date') -%}
    {%- if min_var and max_var -%}
        {%- set bounds = [min_var | string, max_var | string] -%}
    {%- elif not execute -%}
        {%- set bounds = ['1970-01-01', '1970-01-01'] -%}
    {%- else -%}
        {%- set lake = lake_day_range() -%}
        {%- set bounds = [(min_var or lake[0]) | string, (max_var or lake[1]) | string] -%}
    {%- endif -%}
    {%- for value in bounds -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
            {{ exceptions.raise_compiler_error("min_date / max_date must be YYYY-MM-DD, got '" ~ value ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if bounds[1] < bounds[0] -%}
        {{ exceptions.raise_compiler_error("max_date " ~ bounds[1] ~ " is before min_date " ~ bounds[0]) }}
    {%- endif -%}
    {{ return(bounds) }}
{% endmacro %}

{#- True when the window is a single day (a daily run): running totals over its days are then just
    each key's changes on that day, with no window functions to compute. -#}
{% macro window_is_one_day() %}
    {%- set bounds = window_bounds() -%}
    {{ return(bounds[0] == bounds[1]) }}
{% endmacro %}

{% macro window_min() -%}{{ date_literal(window_bounds()[0]) }}{%- endmacro %}
{% macro window_max() -%}{{ date_literal(window_bounds()[1]) }}{%- endmacro %}

{#- First day of the window shifted by `days` (negative = earlier), as a SQL date expression. -#}
{% macro window_min_plus(days) -%}
    {{ dbt.cast(dbt.dateadd('day', days, window_min()), api.Column.translate_type('date')) }}
{%- endmacro %}

{% macro date_literal(value) -%}
    {{ dbt.cast("'" ~ value ~ "'", api.Column.translate_type('date')) }}
{%- endmacro %}

{% macro date_add_days(expr, days) -%}
    {{ dbt.cast(dbt.dateadd('day', days, expr), api.Column.translate_type('date')) }}
{%- endmacro %}

{#- Every day of the window, one row each, column `as_of_date`. -#}
{% macro window_days() %}
    select {{ dbt.cast('date_day', api.Column.translate_type('date')) }} as as_of_date
    from ({{ dbt.date_spine('day', window_min(), date_add_days(window_max(), 1)) }}) as spine
{% endmacro %}

{#- The one day a single-snapshot table (recommendations, campaign results) is built as of: the
    window's last day, or the latest day the table already holds when that is later, so an older
    window being rebuilt refreshes the latest snapshot instead of adding an old one. -#}
{% macro single_snapshot_day() %}
    {%- set snapshot_day = window_bounds()[1] -%}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
        {%- if existing is not none -%}
            {%- set latest = run_query('select max(as_of_date) from ' ~ existing).rows[0][0] -%}
            {%- if latest is not none and (latest | string) > snapshot_day -%}
                {%- set snapshot_day = latest | string -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(snapshot_day) }}
{% endmacro %}
