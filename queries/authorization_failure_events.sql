-- name: authorization_failure_events
-- description: Every denied call (the whole access-denied family), one row per event, with the denied action, resource and why.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: principal_arn varchar optional Only this principal.
-- param: account_id varchar optional Only calls received by this account.
-- columns: event_time, account_id, principal_arn, caller_arn, event_source, event_name, action, resource, error_code, reason, policy_type, is_explicit_deny, source_ip, user_agent, event_id

with

denied as (
    select
        event_id,
        recipient_account_id,
        event_time,
        principal_arn,
        error_code,
        -- the call's own action first, then what the mapping inferred (the least of several:
        -- arg_min would pick any, and Spark's min_by would not skip a null as DuckDB's does)
        coalesce(min(action) filter (where inferred_from = 'event'), min(action))
            as mapped_action,
        coalesce(min(resource_arn) filter (where inferred_from = 'event'), min(resource_arn))
            as mapped_resource,
        any_value(denied_action) as denied_action,
        any_value(denied_resource) as denied_resource,
        any_value(denied_by) as policy_type,
        any_value(
            case
                when denied_by like '%polic%' or denied_by like '%boundary%' then denied_by
                else denied_by || ' policy'
            end
        ) as policy_label,
        any_value(is_explicit_deny) as is_explicit_deny
    from event_actions
    where is_authorized = false
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
        and ($principal_arn is null or principal_arn = $principal_arn)
        and ($account_id is null or recipient_account_id = $account_id)
    group by event_id, recipient_account_id, event_time, principal_arn, error_code
),

calls as (
    select
        event_id,
        recipient_account_id,
        event_source,
        event_name,
        user_identity_arn,
        source_ip_address,
        user_agent
    from events
    -- only the denied calls' rows: the wide columns are read for those alone
    where event_id in (select event_id from denied)
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select
        denied.event_time,
        denied.recipient_account_id as account_id,
        denied.principal_arn,
        calls.user_identity_arn as caller_arn,
        calls.event_source,
        calls.event_name,
        coalesce(denied.denied_action, denied.mapped_action) as action,
        coalesce(denied.denied_resource, denied.mapped_resource) as resource,
        denied.error_code,
        case
            when denied.policy_type is null then 'the error message does not say why'
            when denied.is_explicit_deny then 'explicit deny in a ' || denied.policy_label
            else 'no ' || denied.policy_label || ' allows the action'
        end as reason,
        denied.policy_type,
        denied.is_explicit_deny,
        calls.source_ip_address as source_ip,
        calls.user_agent,
        denied.event_id
    from denied
    left join calls
        on calls.event_id = denied.event_id
        and calls.recipient_account_id is not distinct from denied.recipient_account_id
)

select * from final
order by event_time, event_id
