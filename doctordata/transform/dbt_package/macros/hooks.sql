{#- The package's on-run-start and on-run-end hooks (see dbt_project.yml). -#}

{% macro prepare_sources() -%}
  {{ return(adapter.dispatch('prepare_sources', 'doctordata')()) }}
{%- endmacro %}

{% macro default__prepare_sources() -%}
{%- endmacro %}

{% macro duckdb__prepare_sources() -%}
  {%- if execute -%}
    {%- set tables = [] -%}
    {%- for src in graph.sources.values() -%}
      {%- do tables.append(src.schema ~ '.' ~ src.identifier) -%}
    {%- endfor -%}
    {%- set marker = api.Relation.create(schema='doctordata', identifier='sources') -%}
    {%- do adapter.store_relation('doctordata', marker, [], '', 'doctordata-sources',
        {'tables': tables | unique | list, 'invocation_id': invocation_id}) -%}
  {%- endif -%}
{%- endmacro %}

{% macro commit_to_iceberg(results) -%}
  {{ return(adapter.dispatch('commit_to_iceberg', 'doctordata')(results)) }}
{%- endmacro %}

{% macro default__commit_to_iceberg(results) -%}
{%- endmacro %}

{% macro duckdb__commit_to_iceberg(results) -%}
  {%- if execute -%}
    {%- set failed = [] -%}
    {%- for r in results -%}
      {%- if r.status in ['error', 'fail', 'runtime error'] -%}
        {%- do failed.append(r.node.unique_id) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- set marker = api.Relation.create(schema='doctordata', identifier='commit') -%}
    {%- do adapter.store_relation('doctordata', marker, [], '', 'doctordata-commit',
        {'ok': failed | length == 0, 'failed': failed, 'invocation_id': invocation_id}) -%}
  {%- endif -%}
{%- endmacro %}
