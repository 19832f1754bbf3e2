{{ config(materialized='incremental', incremental_strategy='append') }}

-- Every story once, as it arrived (an append-only feed): each run adds only the stories
-- with an id above the newest one already in the feed. Scores are as of arrival.
select story_id, created_at, author, title, domain, story_kind, score
from {{ ref('stg_stories') }}
{% if is_incremental() %}
where story_id > (select coalesce(max(story_id), -1) from {{ this }})
{% endif %}
