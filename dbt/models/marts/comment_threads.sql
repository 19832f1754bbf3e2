{{ config(
    materialized=keyed_materialization(),
    unique_key='story_id',
    incremental_strategy='rebuild_keys',
    rebuilt_keys="
        with recursive changed as (
            select {{ bigint('id') }} as item_id, {{ bigint('parent') }} as parent_id
            from {{ doctordata.iceberg_changes('hackernews', 'items') }}
        ),
        ancestors as (
            select node, {{ bigint('0') }} as hops
            from (
                select item_id as node from changed
                union all
                select parent_id as node from changed where parent_id is not null
            ) as seeds
            union all
            select i.parent_id as node, {{ bigint('ancestors.hops + 1') }} as hops
            from ancestors
            inner join {{ ref('stg_items') }} as i on i.item_id = ancestors.node
            where i.item_type = 'comment' and ancestors.hops < 200
        )
        select node as story_id from ancestors",
    iceberg_partition_by=['month(story_day)'],
) }}

-- depends_on: {{ ref('stg_items') }}

-- rebuilt_keys: every item the change recorded and its ancestors (walking up the parent
-- links); the stories among them are rebuilt. Both the item and its parent as the change
-- recorded them: a comment that died is no longer in stg_items, but its thread still
-- lost it; a story that died loses its row.

-- Size and depth of each story's comment tree, following parent links down from the
-- story. Depth 1 = a direct reply to the story. The depth caps guard against cycles in
-- malformed data.
-- Incremental: a run rebuilds only the threads of the stories that changed or whose tree
-- holds a changed item (found by walking up the parent links from each changed item:
-- rebuilt_keys in the config).
with recursive
{% if is_incremental() %}
stories as (
    select * from {{ ref('stg_stories') }}
    where story_id in (select story_id from ({{ doctordata.rebuilt_keys() }}) as rebuilt)
),
{% else %}
stories as (
    select * from {{ ref('stg_stories') }}
),
{% endif %}

thread as (
    select story_id, story_id as item_id, {{ bigint('0') }} as depth
    from stories

    union all

    select thread.story_id, c.comment_id as item_id, {{ bigint('thread.depth + 1') }} as depth
    from thread
    inner join {{ ref('stg_comments') }} as c on c.parent_id = thread.item_id
    where thread.depth < 200
),

thread_comments as (
    select thread.story_id as story_id, thread.depth as depth, c.author as author,
        c.created_at as created_at
    from thread
    inner join {{ ref('stg_comments') }} as c on c.comment_id = thread.item_id
    where thread.depth > 0
)

select
    s.story_id as story_id,
    s.created_day as story_day,
    {{ bigint('count(tc.story_id)') }} as comments,
    {{ bigint('coalesce(max(tc.depth), 0)') }} as max_depth,
    {{ bigint('count(distinct tc.author)') }} as commenters,
    min(tc.created_at) as first_comment_at,
    max(tc.created_at) as last_comment_at
from stories as s
left join thread_comments as tc on tc.story_id = s.story_id
group by s.story_id, s.created_day
