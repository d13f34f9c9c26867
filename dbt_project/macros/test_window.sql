{#-
  What a generic data test reads (dbt calls this for the tested model of every generic test).

  In a run given a window (min_date and max_date, as every daily run of the pipeline is: see window.sql),
  the tests of a `window_replace` model read only the rows of its window column in that window:
  the rows the run wrote, instead of the whole history every day, which made the daily cost grow
  with history. A run without both vars (a plain `dbt build`, CI) tests every row. Other
  relations a test reads (e.g. the parent of a relationships test) are never filtered. A test's
  own `where` config still applies.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set clauses = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where %}{% do clauses.append('(' ~ where ~ ')') %}{% endif -%}
    {%- set window_column = tested_window_column(relation) -%}
    {%- if window_column -%}
        {%- do clauses.append(window_column ~ ' between ' ~ window_min() ~ ' and ' ~ window_max()) -%}
    {%- endif -%}
    {%- if clauses -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ clauses | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The window column of the model a test is attached to, when `relation` is that model, it is
    window-replaced and the run has an explicit window; else none. -#}
{% macro tested_window_column(relation) %}
    {%- if not execute or not (window_setting('min_date') and window_setting('max_date')) -%}{% do return(none) %}{%- endif -%}
    {%- set attached = model.get('attached_node') if model is mapping else none -%}
    {%- if not attached or attached not in graph.nodes -%}{% do return(none) %}{%- endif -%}
    {%- set node = graph.nodes[attached] -%}
    {%- if node.config.get('incremental_strategy') != 'window_replace' -%}{% do return(none) %}{%- endif -%}
    {%- if relation.identifier is none or (node.alias or node.name) | lower != relation.identifier | lower -%}
        {% do return(none) %}
    {%- endif -%}
    {%- do return(node.config.get('window_column')) -%}
{% endmacro %}
