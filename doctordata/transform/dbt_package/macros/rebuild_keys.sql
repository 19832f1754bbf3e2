{#- The `rebuild_keys` incremental strategy: replace every key the run rebuilt, including
    the keys that have no row any more.

    dbt's `delete+insert` deletes only the keys present in the new rows, so a key whose
    rows all vanished (every story of a domain marked dead, a day whose only story was
    deleted) would keep its last row until `--full-refresh`. A model using this strategy
    names the keys it rebuilds as SQL, in its config, and builds its rows from the same
    SQL:

        {{ config(materialized='incremental', unique_key='domain',
                  incremental_strategy='rebuild_keys',
                  rebuilt_keys="select url_domain as domain
                                from {{ doctordata.iceberg_changes('hackernews', 'items') }}") }}
        select ... where domain in (select domain from ({{ doctordata.rebuilt_keys() }}) as k)

    The strategy deletes every row whose key is rebuilt or in the new rows, then inserts
    the new rows; the deleted keys are kept in the temp table `<model>__dbt_rebuilt_keys`,
    which the doctordata plugin reads so that the Iceberg mart deletes the same keys.
    dbt finds a strategy by the name `get_incremental_<name>_sql` in the root project, so
    the project declares it with one line (see the example project's macros/):

        {% macro get_incremental_rebuild_keys_sql(arg_dict) %}
          {{ return(doctordata.get_incremental_rebuild_keys_sql(arg_dict)) }}
        {% endmacro %}
-#}

{#- The model's `rebuilt_keys` SELECT, rendered (it may call macros such as
    doctordata.iceberg_changes, which only work when the model runs). -#}
{% macro rebuilt_keys() -%}
  {%- if not execute -%}
    {{ return('select null') }}
  {%- endif -%}
  {%- set sql = config.get('rebuilt_keys') -%}
  {%- if not sql -%}
    {{ exceptions.raise_compiler_error(
        "model " ~ this ~ ": incremental_strategy 'rebuild_keys' needs the config "
        ~ "`rebuilt_keys`, a SELECT of the unique_key columns of every key the run "
        ~ "rebuilds (e.g. the days of the changed rows)") }}
  {%- endif -%}
  {{ return(render(sql)) }}
{%- endmacro %}

{#- The temp table holding the keys a run rebuilt (read by the doctordata plugin). -#}
{% macro rebuilt_keys_table(target_relation) -%}
  {{ return(adapter.quote(target_relation.identifier ~ '__dbt_rebuilt_keys')) }}
{%- endmacro %}

{% macro get_incremental_rebuild_keys_sql(arg_dict) -%}
  {%- set target = arg_dict['target_relation'] -%}
  {%- set temp = arg_dict['temp_relation'] -%}
  {%- set keys = arg_dict['unique_key'] -%}
  {%- if keys is string -%}{%- set keys = [keys] -%}{%- endif -%}
  {%- if not keys -%}
    {{ exceptions.raise_compiler_error(
        "model " ~ target ~ ": incremental_strategy 'rebuild_keys' needs a unique_key "
        ~ "(the columns its rebuilt_keys SELECT returns)") }}
  {%- endif -%}
  {%- set cols = keys | join(', ') -%}
  {%- set key_table = doctordata.rebuilt_keys_table(target) -%}
  {%- set dest_cols = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
  {%- if arg_dict['incremental_predicates'] -%}
    {#- A predicate would keep rows of rebuilt keys in dbt's table but not in Iceberg. -#}
    {{ exceptions.raise_compiler_error(
        "model " ~ target ~ ": incremental_strategy 'rebuild_keys' replaces every "
        ~ "rebuilt key; drop incremental_predicates (narrow rebuilt_keys instead)") }}
  {%- endif -%}
{#- Only the rebuilt keys the table holds: the SELECT may name many more (every
    ancestor of a changed comment, every row when the changes cannot be told), and the
    plugin turns this table into the Iceberg delete filter. -#}
create or replace temp table {{ key_table }} as
select distinct {% for key in keys %}{{ ', ' if not loop.first }}t.{{ key }}{% endfor %}
from {{ target }} as t
where exists (
    select 1
    from (
        select {{ cols }} from ({{ doctordata.rebuilt_keys() }}) as rebuilt
        union all
        select {{ cols }} from {{ temp }}
    ) as k
    where {% for key in keys %}{{ 'and ' if not loop.first }}k.{{ key }} = t.{{ key }} {% endfor %}
);

delete from {{ target }}
where exists (
    select 1 from {{ key_table }} as k
    where {% for key in keys %}{{ 'and ' if not loop.first }}k.{{ key }} = {{ target }}.{{ key }} {% endfor %}
);

insert into {{ target }} ({{ dest_cols }})
select {{ dest_cols }} from {{ temp }}
{%- endmacro %}
