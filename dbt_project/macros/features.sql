{#- Helpers shared by the point-in-time feature marts. -#}

{#- Snapshot retention, run after a window is built: keep every daily snapshot of the last
    feature_retention_days before min_date, beyond that only anchors (every
    feature_anchor_every_days since 1970-01-01, so they never move), and nothing older than
    feature_anchor_retention_days. -#}
{% macro delete_expired_snapshots(relation) %}
    {%- set every = var('feature_anchor_every_days') | int -%}
    {%- if every < 1 -%}
        {{ exceptions.raise_compiler_error("feature_anchor_every_days must be >= 1") }}
    {%- endif -%}
    delete from {{ relation }}
    where as_of_date < {{ window_min_plus(-(var('feature_retention_days') | int)) }}
      and (
            as_of_date < {{ window_min_plus(-(var('feature_anchor_retention_days') | int)) }}
            or {{ dbt.datediff(date_literal('1970-01-01'), 'as_of_date', 'day') }} % {{ every }} <> 0
      )
{% endmacro %}

{#- a / b, NULL when b is 0 or NULL. -#}
{% macro ratio(numerator, denominator) -%}
    (cast({{ numerator }} as {{ api.Column.translate_type('double') }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{#- Does a snapshot of `relation` exist for as_of_date = min_date - 1? Decides, at run time,
    whether lifetime totals fold from it or are summed from history (first build, gap). -#}
{% macro has_snapshot_before_window(relation) %}
    {% if not execute %}{{ return(false) }}{% endif %}
    {% set existing = adapter.get_relation(relation.database, relation.schema, relation.identifier) %}
    {% if existing is none %}{{ return(false) }}{% endif %}
    {% set sql %}
        select count(*) from (select 1 from {{ relation }} where as_of_date = {{ window_min_plus(-1) }} limit 1) as probe
    {% endset %}
    {{ return(run_query(sql).rows[0][0] > 0) }}
{% endmacro %}
