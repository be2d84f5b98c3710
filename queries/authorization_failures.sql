-- name: authorization_failures
-- description: Denied calls aggregated per principal, action, resource, error code and reason; failures add up to the denied events.
-- uses: authorization_failure_events
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: principal_arn varchar optional Only this principal.
-- param: account_id varchar optional Only calls received by this account.
-- columns: principal_arn, action, resource, error_code, reason, failures, first_seen, last_seen, source_ips, user_agents

with

failures as (
    select
        principal_arn,
        action,
        resource,
        error_code,
        reason,
        event_time,
        source_ip,
        user_agent
    from authorization_failure_events
),

final as (
    select
        principal_arn,
        action,
        resource,
        error_code,
        reason,
        count(*) as failures,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        coalesce(
            list_sort(list(distinct source_ip) filter (where source_ip is not null)), []
        ) as source_ips,
        coalesce(
            list_sort(list(distinct user_agent) filter (where user_agent is not null)),
            []
        ) as user_agents
    from failures
    group by principal_arn, action, resource, error_code, reason
)

select * from final
order by failures desc, principal_arn, action, resource
