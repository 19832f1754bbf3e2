{#- Dialect differences between dbt-duckdb and dbt-clickhouse, as dispatched macros.
    Each macro has a default (standard SQL, DuckDB) and a clickhouse__ variant. -#}

{#- Host part of a URL without a leading "www.", or null when there is no URL. -#}
{% macro url_domain(column) -%}
  {{ return(adapter.dispatch('url_domain')(column)) }}
{%- endmacro %}

{% macro default__url_domain(column) -%}
  nullif(lower(regexp_extract({{ column }}, '^[A-Za-z]+://(?:www\.)?([^/:?#]+)', 1)), '')
{%- endmacro %}

{% macro clickhouse__url_domain(column) -%}
  nullif(lower(domainWithoutWWW({{ column }})), '')
{%- endmacro %}

{#- Calendar day (UTC) of a timestamp. -#}
{% macro day_of(column) -%}
  {{ return(adapter.dispatch('day_of')(column)) }}
{%- endmacro %}

{% macro default__day_of(column) -%}
  cast({{ column }} as date)
{%- endmacro %}

{% macro clickhouse__day_of(column) -%}
  toDate({{ column }}, 'UTC')
{%- endmacro %}

{#- True when a string starts with a prefix (case-sensitive). -#}
{% macro starts_with(column, prefix) -%}
  {{ return(adapter.dispatch('starts_with')(column, prefix)) }}
{%- endmacro %}

{% macro default__starts_with(column, prefix) -%}
  starts_with({{ column }}, '{{ prefix }}')
{%- endmacro %}

{% macro clickhouse__starts_with(column, prefix) -%}
  startsWith({{ column }}, '{{ prefix }}')
{%- endmacro %}

{#- A 64-bit integer cast that both engines accept (HN ids and counts). -#}
{% macro bigint(expr) -%}
  {{ return(adapter.dispatch('bigint')(expr)) }}
{%- endmacro %}

{% macro default__bigint(expr) -%}
  cast({{ expr }} as bigint)
{%- endmacro %}

{% macro clickhouse__bigint(expr) -%}
  toInt64({{ expr }})
{%- endmacro %}

{#- Incremental strategy that replaces rows by unique_key on each adapter. -#}
{% macro replace_by_key_strategy() -%}
  {{ return(adapter.dispatch('replace_by_key_strategy')()) }}
{%- endmacro %}

{% macro default__replace_by_key_strategy() -%}
  {{ return('delete+insert') }}
{%- endmacro %}

{% macro clickhouse__replace_by_key_strategy() -%}
  {#- "legacy" rebuilds the table from old rows minus replaced keys plus new rows:
      no lightweight-delete support needed on the server. -#}
  {{ return('legacy') }}
{%- endmacro %}
