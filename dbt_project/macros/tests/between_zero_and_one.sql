{#- Fails with every row where one of the share `columns` lies outside [0, 1] (NULL passes). -#}
{% test between_zero_and_one(model, columns) %}
    select * from {{ model }}
    where {% for column in columns %}({{ column }} < 0 or {{ column }} > 1){{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
