-- The var('top_n') highest-scoring stories of each day; ties go to the older story id.
with ranked as (
    select
        created_day as story_day,
        story_id,
        title,
        author,
        domain,
        score,
        descendants,
        {{ bigint('row_number() over (partition by created_day order by score desc, story_id)') }}
            as day_rank
    from {{ ref('stg_stories') }}
)

select story_day, day_rank, story_id, title, author, domain, score, descendants
from ranked
where day_rank <= {{ var('top_n') }}
