{#- Sources are Iceberg tables in the doctordata catalog, named <schema>.<identifier>.

    In your project, route `source()` through doctordata (a root project's macro named
    `source` overrides dbt's):

        {% macro source(source_name, table_name) %}
          {{ return(doctordata.iceberg_source(source_name, table_name)) }}
        {% endmacro %}

    On dbt-duckdb the plugin plans the scan when the model runs, at the snapshot pinned
    for the whole invocation: a table or incremental model gets a subquery over exactly
    the planned Parquet files; a view model gets the source view that the on-run-start
    hook re-plans at every invocation (a view never embeds a file list that new appends
    or maintain() would make stale). Elsewhere (ClickHouse, where sources are published
    tables) it is dbt's own relation.

    `iceberg_source(source_name, table_name, where)` adds a filter that is pushed into the
    plan, so only files that can hold matching rows are read:

        select * from {{ doctordata.iceberg_source('hackernews', 'items', where="time >= '2026-11-01'") }}
-#}

{% macro iceberg_source(source_name, table_name, where=none) -%}
  {%- set relation = builtins.source(source_name, table_name) -%}
  {{ return(adapter.dispatch('iceberg_source', 'doctordata')(relation, where)) }}
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
  {#- Only a view (or an ephemeral model inlined into one) outlives this invocation. -#}
  {%- set inline = config.get('materialized') not in ['view', 'ephemeral'] -%}
  {%- set sql = "select doctordata_source('" ~ (table | replace("'", "''")) ~ "', " ~ where_arg ~ ", " ~ inline ~ ")" -%}
  {%- set plan = run_query(sql) -%}
  {{ return(plan.columns[0].values()[0]) }}
{%- endmacro %}
