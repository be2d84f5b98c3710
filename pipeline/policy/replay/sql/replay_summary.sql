-- name: replay_summary
-- description: the replayed calls by outcome: a call is refused when any of its (action, resource) requests is, unknown when none is refused and one is unknown, allowed otherwise
-- columns: calls_checked, allowed, refused, unknown, requests

with judged as (
    select
        rows.event_id,
        rows.recipient_account_id,
        verdicts.severity
    from _replay_rows as rows
    inner join _replay_verdicts as verdicts using (request_id)
),

per_call as (
    select
        event_id,
        recipient_account_id,
        max(severity) as severity
    from judged
    group by all
),

final as (
    select
        count(*) as calls_checked,
        count(*) filter (where severity = 0) as allowed,
        count(*) filter (where severity = 2) as refused,
        count(*) filter (where severity = 1) as unknown,
        (select count(*) from _replay_verdicts) as requests
    from per_call
)

select * from final
