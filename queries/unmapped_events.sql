-- name: unmapped_events
-- description: Events the mapping could not turn into IAM actions, by source and name, with why.
-- param: since timestamp optional Start of the window (inclusive).
-- param: until timestamp optional End of the window (exclusive).
-- columns: event_source, event_name, events, reason

with

unknown as (
    select
        event_source,
        event_name,
        reason
    from event_actions
    where classification = 'unknown'
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select
        event_source,
        event_name,
        count(*) as events,
        reason
    from unknown
    group by event_source, event_name, reason
)

select * from final
order by events desc, event_source, event_name
