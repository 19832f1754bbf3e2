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

{#- Materialization of the marts rebuilt per key. On ClickHouse, where
    doctordata.iceberg_changes reads the whole source (every key is rebuilt on each run),
    a table: dbt-clickhouse's keyed strategies keep the old row of a key that has no new
    row (every story of a domain marked dead), and a rebuild costs the same anyway. -#}
{% macro keyed_materialization() -%}
  {{ return(adapter.dispatch('keyed_materialization')()) }}
{%- endmacro %}

{% macro default__keyed_materialization() -%}
  {{ return('incremental') }}
{%- endmacro %}

{% macro clickhouse__keyed_materialization() -%}
  {{ return('table') }}
{%- endmacro %}
