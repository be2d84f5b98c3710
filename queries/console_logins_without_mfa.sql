-- name: console_logins_without_mfa
-- description: People who really signed in to the console without MFA, per identity: password sign-ins of IAM users and root without MFA, and role or federated sessions the lake shows were issued without MFA; Identity Center, SAML and web identity sign-ins are not counted.
-- uses: console_logins
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- columns: account_id, identity_type, principal_arn, user_arn, user_name, sign_ins, first_sign_in_at, last_sign_in_at, source_ips, user_agents, reason

with

without_mfa as (
    select
        account_id,
        identity_type,
        principal_arn,
        user_arn,
        user_name,
        reason,
        event_time,
        source_ip,
        user_agent
    from console_logins
    where is_without_mfa
),

final as (
    select
        account_id,
        identity_type,
        principal_arn,
        user_arn,
        user_name,
        count(*) as sign_ins,
        min(event_time) as first_sign_in_at,
        max(event_time) as last_sign_in_at,
        coalesce(list_sort(list(distinct source_ip) filter (where source_ip is not null)), [])
            as source_ips,
        coalesce(list_sort(list(distinct user_agent) filter (where user_agent is not null)), [])
            as user_agents,
        reason
    from without_mfa
    group by account_id, identity_type, principal_arn, user_arn, user_name, reason
)

select * from final
order by last_sign_in_at desc, account_id, user_arn
