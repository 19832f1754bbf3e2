-- Every author with their stories, comments and story points, ranked by points.
with authors as (
    select author, min(created_at) as first_seen, max(created_at) as last_seen
    from {{ ref('stg_items') }}
    where author is not null
    group by author
),

stories as (
    select author, {{ bigint('count(*)') }} as stories, {{ bigint('sum(score)') }} as story_points
    from {{ ref('stg_stories') }}
    where author is not null
    group by author
),

comments as (
    select author, {{ bigint('count(*)') }} as comments
    from {{ ref('stg_comments') }}
    where author is not null
    group by author
),

scored as (
    select
        a.author as author,
        coalesce(s.stories, 0) as stories,
        coalesce(c.comments, 0) as comments,
        coalesce(s.story_points, 0) as story_points,
        a.first_seen as first_seen,
        a.last_seen as last_seen
    from authors as a
    left join stories as s on s.author = a.author
    left join comments as c on c.author = a.author
)

select
    {{ bigint('row_number() over (order by story_points desc, comments desc, author)') }}
        as leaderboard_rank,
    author,
    stories,
    comments,
    story_points,
    first_seen,
    last_seen
from scored
