-- A thread can only contain comments that exist: no story may count more comments in its
-- tree than there are live comments in total. Returns the offending stories.
select t.story_id, t.comments
from {{ ref('comment_threads') }} as t
where t.comments > (select count(*) from {{ ref('stg_comments') }})
