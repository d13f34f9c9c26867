{#- Fails with every row where one of `columns` is below zero (NULL passes). One query per model
    instead of one test per column. -#}
{% test non_negative(model, columns) %}
    select * from {{ model }}
    where {% for column in columns %}{{ column }} < 0{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
