{#- Every source() reads the Iceberg table through the doctordata package (planned when
    the model runs, at the snapshot pinned for the invocation). -#}
{% macro source(source_name, table_name) -%}
  {{ return(doctordata.iceberg_source(source_name, table_name)) }}
{%- endmacro %}
