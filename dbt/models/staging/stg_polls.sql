select
    item_id as poll_id,
    author,
    created_at,
    created_day,
    title,
    coalesce(score, 0) as score,
    coalesce(descendants, 0) as descendants
from {{ ref('stg_items') }}
where item_type = 'poll'
