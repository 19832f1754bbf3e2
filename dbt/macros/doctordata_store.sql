{#- Post-hook of every mart: hand the freshly built relation to the doctordata
    dbt-duckdb plugin, which writes it to the Iceberg catalog (namespace `marts`).
    Runs outside the model's transaction so the plugin's cursor sees the new rows.
    On other adapters (ClickHouse) the mart lives in the target database: no-op. -#}
{% macro doctordata_store() -%}
  {{ return(adapter.dispatch('doctordata_store')()) }}
{%- endmacro %}

{% macro default__doctordata_store() -%}
{%- endmacro %}

{% macro duckdb__doctordata_store() -%}
  {%- if execute and var('doctordata_store', true) -%}
    {%- set columns = adapter.get_columns_in_relation(this) -%}
    {%- do adapter.store_relation('doctordata', this, columns, '', 'iceberg', config.model.config) -%}
  {%- endif -%}
{%- endmacro %}
