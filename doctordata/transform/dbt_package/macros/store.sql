{#- Post-hook of every mart (`+post-hook: "{{ doctordata.store() }}"`): hand the freshly
    built relation to the doctordata dbt-duckdb plugin, which queues it and writes it to
    the Iceberg catalog (namespace `marts`) when the invocation has passed. For an
    incremental run only the new rows are queued (appended, or upserted on unique_key).
    Runs inside the model's transaction: the plugin reads through the cursor of the thread
    building the model, which sees the uncommitted rows.
    `iceberg_partition_by` in a model's config (a list of doctordata partition specs,
    e.g. ['month(story_day)']) partitions its Iceberg table, so an incremental run
    rewrites only the partitions holding the keys it rebuilt.
    On other adapters (ClickHouse) the mart lives in the target database: no-op. -#}
{% macro store() -%}
  {{ return(adapter.dispatch('store', 'doctordata')()) }}
{%- endmacro %}

{% macro default__store() -%}
{%- endmacro %}

{% macro duckdb__store() -%}
  {%- if execute and var('doctordata_store', true) -%}
    {%- set settings = {
        'materialized': config.get('materialized'),
        'unique_key': config.get('unique_key'),
        'incremental_strategy': config.get('incremental_strategy'),
        'partition_by': config.get('iceberg_partition_by'),
        'invocation_id': invocation_id,
        'sources': doctordata.upstream_sources(model.unique_id),
    } -%}
    {%- do adapter.store_relation('doctordata', this, [], '', 'iceberg', settings) -%}
  {%- endif -%}
{%- endmacro %}

{#- "ns.table" of every source a node reads, directly or through other nodes. -#}
{% macro upstream_sources(unique_id) -%}
  {%- set seen = [unique_id] -%}
  {%- set found = [] -%}
  {%- for _ in range(10000) -%}
    {%- if loop.index0 < seen | length -%}
      {%- set node_id = seen[loop.index0] -%}
      {%- if node_id in graph.sources -%}
        {%- set src = graph.sources[node_id] -%}
        {%- do found.append(src.schema ~ '.' ~ src.identifier) -%}
      {%- elif node_id in graph.nodes -%}
        {%- for dep in graph.nodes[node_id].depends_on.nodes -%}
          {%- if dep not in seen -%}{%- do seen.append(dep) -%}{%- endif -%}
        {%- endfor -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(found | unique | list) }}
{%- endmacro %}
