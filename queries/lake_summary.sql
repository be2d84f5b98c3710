-- name: lake_summary
-- description: What the lake holds: events, accounts, regions, first and last event, per event source (first row: all).
-- columns: event_source, events, accounts, regions, principals, first_event_at, last_event_at

with

events_in_lake as (
    select
        event_source,
        recipient_account_id,
        aws_region,
        principal_arn,
        event_time
    from events
),

per_source as (
    select
        coalesce(event_source, '(none)') as event_source,
        count(*) as events,
        count(distinct recipient_account_id) as accounts,
        count(distinct aws_region) as regions,
        count(distinct principal_arn) as principals,
        min(event_time) as first_event_at,
        max(event_time) as last_event_at
    from events_in_lake
    group by 1
),

overall as (
    select
        '(all)' as event_source,
        count(*) as events,
        count(distinct recipient_account_id) as accounts,
        count(distinct aws_region) as regions,
        count(distinct principal_arn) as principals,
        min(event_time) as first_event_at,
        max(event_time) as last_event_at
    from events_in_lake
),

final as (
    select *, 0 as sort_group from overall
    union all
    select *, 1 as sort_group from per_source
)

select * exclude (sort_group)
from final
order by sort_group, events desc, event_source
