-- name: replay_unknown
-- description: per action and reason the calls whose outcome the lake cannot tell (a condition key it does not hold, a resource the event does not name)
-- columns: action, reason, calls, first_seen_at, last_seen_at

with unknown as (
    select
        rows.event_id,
        rows.recipient_account_id,
        rows.event_time,
        rows.action,
        unnest(verdicts.unknown) as reason
    from _replay_rows as rows
    inner join _replay_verdicts as verdicts using (request_id)
    where verdicts.severity = 1
),

final as (
    select
        action,
        reason,
        count(distinct (event_id, recipient_account_id)) as calls,
        min(event_time) as first_seen_at,
        max(event_time) as last_seen_at
    from unknown
    group by action, reason
)

select * from final
order by action, reason
