{{ config(
    materialized=keyed_materialization(),
    unique_key='story_day',
    incremental_strategy='rebuild_keys',
    rebuilt_keys="select {{ day_of('time') }} as story_day
        from {{ doctordata.iceberg_changes('hackernews', 'items') }}
        where type = 'story'",
    iceberg_partition_by=['month(story_day)'],
) }}

-- The var('top_n') highest-scoring stories of each day; ties go to the older story id.
-- Incremental: a run rebuilds every day (all its ranks) on which a story changed; a day
-- whose only story died loses its rows.
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
    {% if is_incremental() %}
    where created_day in (select story_day from ({{ doctordata.rebuilt_keys() }}) as rebuilt)
    {% endif %}
)

select story_day, day_rank, story_id, title, author, domain, score, descendants
from ranked
where day_rank <= {{ var('top_n') }}
