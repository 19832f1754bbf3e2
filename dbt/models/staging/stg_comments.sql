select
    item_id as comment_id,
    parent_id,
    author,
    created_at,
    created_day,
    text
from {{ ref('stg_items') }}
where item_type = 'comment'
