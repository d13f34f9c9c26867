{#- Integer packing for rankings over many (customer, product) rows (customer_recommendations): DuckDB
    groups, joins and keeps top-n heaps of one plain integer far faster than of several columns or
    of create_sort_key blobs.

    pair key: customer_key * 2^32 + product_key, a bigint. Product keys stay below 2^32; a shop with
    2^31 customers stops with DuckDB's overflow error, never with wrong keys.
    rank key: tier * 2^96 + (2^63 - 1 - score) * 2^32 + product_key, a hugeint whose order is
    (tier, score desc, product_key), for 0 <= score < 2^63 (a larger score fails the bigint cast).
    Every macro returns a parenthesised expression, safe inside any larger one. -#}

{% macro pair_key(customer_key, product_key) -%}
    ({{ customer_key }} * 4294967296 + {{ product_key }})
{%- endmacro %}

{% macro pair_customer_key(pair_key) -%}
    ({{ pair_key }} // 4294967296)
{%- endmacro %}

{% macro rank_key(tier, score, product_key) -%}
    (cast({{ tier }} as hugeint) * 79228162514264337593543950336
        + cast(9223372036854775807 - cast({{ score }} as bigint) as hugeint) * 4294967296
        + {{ product_key }})
{%- endmacro %}

{% macro rank_key_tier(rank_key) -%}
    cast({{ rank_key }} // 79228162514264337593543950336 as integer)
{%- endmacro %}

{% macro rank_key_score(rank_key) -%}
    (9223372036854775807 - cast(({{ rank_key }} // 4294967296) % 18446744073709551616 as bigint))
{%- endmacro %}

{#- the low 32 bits: the product key of a rank key or of a pair key -#}
{% macro product_key_of(key) -%}
    cast({{ key }} % 4294967296 as bigint)
{%- endmacro %}
