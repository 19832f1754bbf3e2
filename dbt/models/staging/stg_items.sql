-- Every live item once: deleted and dead items are dropped here so no mart sees them.
select
    {{ bigint('id') }} as item_id,
    type as item_type,
    "by" as author,
    time as created_at,
    {{ day_of('time') }} as created_day,
    {{ bigint('parent') }} as parent_id,
    title,
    url,
    {{ bigint('score') }} as score,
    {{ bigint('descendants') }} as descendants,
    text
from {{ source('hackernews', 'items') }}
where coalesce(deleted, false) = false
  and coalesce(dead, false) = false
