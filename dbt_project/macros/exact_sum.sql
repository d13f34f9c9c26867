{#- A sum of a float column that does not depend on row order: summed as decimal (exact to 6 places),
    returned as double. A plain float sum can differ in its last bit from one run to the next. -#}
{% macro exact_sum(expression) -%}
cast(sum(cast({{ expression }} as decimal(38, 6))) as {{ api.Column.translate_type('double') }})
{%- endmacro %}

{#- The sum of `metric` over the rows of one `horizon` (a pivot); `exact`: summed as decimal, for many
    float rows per key (a row per key and horizon needs no care). -#}
{% macro horizon_sum(horizon, metric, exact=false) -%}
{%- set value = 'case when horizon = ' ~ horizon ~ ' then ' ~ metric ~ ' end' -%}
{{ exact_sum(value) if exact else 'sum(' ~ value ~ ')' }}
{%- endmacro %}
