{#- Post-hook of every mart: hand the freshly built relation to the doctordata
    dbt-duckdb plugin, which writes it to the Iceberg catalog (namespace `marts`).
    Runs inside the model's transaction: the plugin reads the relation through the
    cursor of the thread building the model, which sees the uncommitted rows.
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
