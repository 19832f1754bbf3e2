{#- Sources are Iceberg tables in the doctordata catalog, named <schema>.<identifier>.

    `source()` is overridden so every model and test reads through doctordata: on
    dbt-duckdb the plugin plans the scan (partition pruning) and returns a subquery over
    exactly the planned Parquet files; elsewhere (ClickHouse, where sources are published
    tables) it is dbt's own relation.

    `iceberg_source(source_name, table_name, where)` adds a filter that is pushed into the
    plan, so only files that can hold matching rows are read:

        select * from {{ iceberg_source('hackernews', 'items', where="time >= '2026-11-01'") }}
-#}

{% macro source(source_name, table_name) -%}
  {{ return(iceberg_source(source_name, table_name)) }}
{%- endmacro %}

{% macro iceberg_source(source_name, table_name, where=none) -%}
  {%- set relation = builtins.source(source_name, table_name) -%}
  {{ return(adapter.dispatch('iceberg_source')(relation, where)) }}
{%- endmacro %}

{% macro default__iceberg_source(relation, where) -%}
  {%- if where is none -%}
    {{ return(relation) }}
  {%- endif -%}
  {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ')') }}
{%- endmacro %}

{% macro duckdb__iceberg_source(relation, where) -%}
  {#- At parse time only the dependency matters; the plan is made when the node runs. -#}
  {%- if not execute -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set table = relation.schema ~ '.' ~ relation.identifier -%}
  {%- set where_arg = "'" ~ (where | replace("'", "''")) ~ "'" if where is not none else 'null' -%}
  {%- set plan = run_query("select doctordata_scan('" ~ (table | replace("'", "''")) ~ "', " ~ where_arg ~ ")") -%}
  {{ return(plan.columns[0].values()[0]) }}
{%- endmacro %}
