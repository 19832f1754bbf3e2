select
    item_id as job_id,
    author,
    created_at,
    created_day,
    title,
    url,
    {{ url_domain('url') }} as domain,
    coalesce(score, 0) as score
from {{ ref('stg_items') }}
where item_type = 'job'
