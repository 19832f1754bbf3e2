{{ config(
    materialized=keyed_materialization(),
    unique_key='domain',
    incremental_strategy='rebuild_keys',
    rebuilt_keys="select {{ url_domain('url') }} as domain
        from {{ doctordata.iceberg_changes('hackernews', 'items') }}
        where type in ('story', 'job')",
) }}

-- Domains that stories and job posts link to.
-- Incremental: a run rebuilds the domains linked by a story or job that changed (both
-- versions: a domain whose every link died loses its row).
with links as (
    select domain, 'story' as kind, score, author, created_day from {{ ref('stg_stories') }}
    union all
    select domain, 'job' as kind, score, author, created_day from {{ ref('stg_jobs') }}
)

select
    domain,
    {{ bigint('count(*)') }} as links,
    {{ bigint("sum(case when kind = 'story' then 1 else 0 end)") }} as stories,
    {{ bigint("sum(case when kind = 'job' then 1 else 0 end)") }} as jobs,
    {{ bigint('sum(score)') }} as total_score,
    {{ bigint('count(distinct author)') }} as authors,
    min(created_day) as first_seen_day,
    max(created_day) as last_seen_day
from links
where domain is not null
{% if is_incremental() %}
    and domain in (select domain from ({{ doctordata.rebuilt_keys() }}) as rebuilt)
{% endif %}
group by domain
