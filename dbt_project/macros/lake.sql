{#- DuckDB-specific reads of the lake live here and in the source definitions only. -#}

{% macro lake_root() -%}
    {{ return(env_var('SEGMENTS_HOME', '../data') ~ '/lake') }}
{%- endmacro %}

{#- [first, last] loaded day, from the hive folder names (empty days count, they have a file). -#}
{% macro lake_day_range() %}
    {% set sql %}
        select min(day), max(day) from (
            select regexp_extract(file, 'event_date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as day
            from glob('{{ lake_root() }}/events/*/*.parquet')
        ) where day <> ''
    {% endset %}
    {% set row = run_query(sql).rows[0] %}
    {% if row[0] is none %}
        {{ exceptions.raise_compiler_error("no event days under " ~ lake_root() ~ "/events: load the lake first or pass --vars min_date/max_date") }}
    {% endif %}
    {{ return([row[0] | string, row[1] | string]) }}
{% endmacro %}

{% macro sha256_hex(expr) -%}
    sha256({{ expr }})
{%- endmacro %}

{#- search_filters is a JSON object as text; anything else non-empty still counts as a filter use. -#}
{% macro filter_is_used(expr) -%}
    ({{ expr }} is not null and trim({{ expr }}) not in ('', '{}', 'null', '[]'))
{%- endmacro %}

{% macro filter_has_price(expr) -%}
    ({{ filter_is_used(expr) }} and case
        when json_valid({{ expr }}) and json_type({{ expr }}) = 'OBJECT'
            then len(list_filter(json_keys({{ expr }}), lambda k: lower(k) like '%price%')) > 0
        else lower({{ expr }}) like '%price%'
    end)
{%- endmacro %}

{% macro filter_has_on_sale(expr) -%}
    ({{ filter_is_used(expr) }} and case
        when json_valid({{ expr }}) and json_type({{ expr }}) = 'OBJECT'
            then coalesce(lower(json_extract_string({{ expr }}, '$.on_sale')) in ('true', '1', 'yes'), false)
        else regexp_matches(lower({{ expr }}), 'on_?sale"?\s*[:=]\s*"?(true|1|yes)')
    end)
{%- endmacro %}
