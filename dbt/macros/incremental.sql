{#- The doctordata package's `rebuild_keys` incremental strategy (see its
    macros/rebuild_keys.sql): dbt looks strategies up in the root project by name. -#}
{% macro get_incremental_rebuild_keys_sql(arg_dict) -%}
  {{ return(doctordata.get_incremental_rebuild_keys_sql(arg_dict)) }}
{%- endmacro %}
