-- name: replay_refused
-- description: per (action, resource) the calls the policies would refuse, when, and why (the Deny statements, or the Allow statements that came close and what they lacked)
-- columns: action, resource_arn, unnamed_type, is_explicit_deny, calls, first_seen_at, last_seen_at, statements, misses

with refused as (
    select
        rows.event_id,
        rows.recipient_account_id,
        rows.event_time,
        rows.action,
        rows.resource_arn,
        rows.unnamed_type,
        verdicts.is_explicit_deny,
        verdicts.statements,
        verdicts.misses
    from _replay_rows as rows
    inner join _replay_verdicts as verdicts using (request_id)
    where verdicts.severity = 2
),

final as (
    select
        action,
        resource_arn,
        unnamed_type,
        bool_or(is_explicit_deny) as is_explicit_deny,
        count(distinct (event_id, recipient_account_id)) as calls,
        min(event_time) as first_seen_at,
        max(event_time) as last_seen_at,
        list_sort(flatten(list(distinct statements))) as statements,
        list_sort(flatten(list(distinct misses))) as misses
    from refused
    group by action, resource_arn, unnamed_type
)

select * from final
order by action, resource_arn nulls first, unnamed_type
