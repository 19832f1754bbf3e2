-- Size and depth of each story's comment tree, following parent links down from the
-- story. Depth 1 = a direct reply to the story. The depth cap guards against cycles in
-- malformed data.
with recursive thread as (
    select story_id, story_id as item_id, {{ bigint('0') }} as depth
    from {{ ref('stg_stories') }}

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
from {{ ref('stg_stories') }} as s
left join thread_comments as tc on tc.story_id = s.story_id
group by s.story_id, s.created_day
