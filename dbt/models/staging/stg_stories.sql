select
    item_id as story_id,
    author,
    created_at,
    created_day,
    title,
    url,
    {{ url_domain('url') }} as domain,
    coalesce(score, 0) as score,
    coalesce(descendants, 0) as descendants,
    case
        when {{ starts_with('title', 'Ask HN') }} then 'ask'
        when {{ starts_with('title', 'Show HN') }} then 'show'
        else 'story'
    end as story_kind
from {{ ref('stg_items') }}
where item_type = 'story'
