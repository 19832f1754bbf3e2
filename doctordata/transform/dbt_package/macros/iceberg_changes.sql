{#- The rows of an Iceberg source that changed since this incremental model was last
    written to Iceberg (both the old and the new version of each changed row), for models
    that rebuild only the keys those rows touch:

        {% if is_incremental() %}
        where created_day in (
            select cast(time as date)
            from {{ doctordata.iceberg_changes('hackernews', 'items') }})
        {% endif %}

    The model's last write is read from its Iceberg lineage (the source snapshot it was
    built from), not from dbt's working database, so an invocation whose marts were not
    committed is caught up by the next one. Every row of the source is returned when the
    changes cannot be told exactly (a full build, no lineage yet, the old snapshot
    expired, a schema change) and on adapters other than dbt-duckdb: the model then
    rebuilds every key, slower but the same result.
-#}

{% macro iceberg_changes(source_name, table_name) -%}
  {{ return(adapter.dispatch('iceberg_changes', 'doctordata')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__iceberg_changes(source_name, table_name) -%}
  {{ return(doctordata.iceberg_source(source_name, table_name)) }}
{%- endmacro %}

{% macro duckdb__iceberg_changes(source_name, table_name) -%}
  {%- if not execute or not is_incremental() -%}
    {{ return(doctordata.iceberg_source(source_name, table_name)) }}
  {%- endif -%}
  {%- set relation = builtins.source(source_name, table_name) -%}
  {%- set table = relation.schema ~ '.' ~ relation.identifier -%}
  {%- set sql = "select doctordata_changes('" ~ (table | replace("'", "''")) ~ "', '"
      ~ (this.identifier | replace("'", "''")) ~ "')" -%}
  {%- set plan = run_query(sql) -%}
  {{ return(plan.columns[0].values()[0]) }}
{%- endmacro %}
