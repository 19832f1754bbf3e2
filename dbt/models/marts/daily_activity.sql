{{ config(
    materialized=keyed_materialization(),
    unique_key='activity_day',
    incremental_strategy='rebuild_keys',
    rebuilt_keys="select {{ day_of('time') }} as activity_day
        from {{ doctordata.iceberg_changes('hackernews', 'items') }}",
) }}

-- One row per day. Incremental: a run rebuilds every day on which an item was added or
-- changed (a late comment, a new score, an item marked dead); other days are kept, and a
-- rebuilt day left without live items loses its row (rebuild_keys).
with items as (
    select created_day, item_type, author, score
    from {{ ref('stg_items') }}
    {% if is_incremental() %}
    where created_day in (select activity_day from ({{ doctordata.rebuilt_keys() }}) as rebuilt)
    {% endif %}
)

select
    created_day as activity_day,
    {{ bigint('count(*)') }} as items,
    {{ bigint("sum(case when item_type = 'story' then 1 else 0 end)") }} as stories,
    {{ bigint("sum(case when item_type = 'comment' then 1 else 0 end)") }} as comments,
    {{ bigint("sum(case when item_type = 'job' then 1 else 0 end)") }} as jobs,
    {{ bigint("sum(case when item_type = 'poll' then 1 else 0 end)") }} as polls,
    {{ bigint('count(distinct author)') }} as active_users,
    {{ bigint("sum(case when item_type = 'story' then coalesce(score, 0) else 0 end)") }}
        as story_points
from items
group by created_day
