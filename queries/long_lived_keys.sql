-- name: long_lived_keys
-- description: Calls signed with long-term access keys (AKIA...), per key and principal: calls succeeded, denied and failed, first and last use, services, regions, source IPs, user agents; root keys flagged and listed first.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: principal_arn varchar optional Only this principal.
-- param: account_id varchar optional Only keys of this account.
-- columns: access_key_id, principal_arn, principal_type, account_id, is_root_key, calls, succeeded, denied, other_errors, first_seen, last_seen, services, regions, source_ips, user_agents, reason

-- Long-term keys of IAM users and of root start with AKIA; everything STS hands out (role
-- sessions, console sessions, GetSessionToken, federation tokens) starts with ASIA, so the prefix
-- alone separates them and console-signed calls never appear here.
-- Whether a key still exists in IAM is not answered here: the query has to run on lakes without
-- an IAM snapshot, and DuckDB cannot reference a view that may not exist. unused_principals
-- lists each user's keys from the snapshot.

with

keyed as (
    select
        event_id,
        recipient_account_id,
        event_time,
        user_identity_access_key_id as access_key_id,
        -- for cross-account calls the key belongs to the caller's account, not the recipient
        coalesce(user_identity_account_id, recipient_account_id) as account_id,
        coalesce(principal_arn, user_identity_arn) as principal_arn,
        user_identity_type as principal_type,
        event_source,
        aws_region,
        source_ip_address,
        user_agent,
        error_code
    from events
    where user_identity_access_key_id like 'AKIA%'
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

denials as (
    -- the mapping decides what counts as a denial (every access-denied code, read from the
    -- message), the same rule authorization_failures uses
    select distinct
        event_id,
        recipient_account_id
    from event_actions
    where is_authorized = false
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

calls as (
    select
        keyed.event_time,
        keyed.access_key_id,
        keyed.account_id,
        keyed.principal_arn,
        keyed.principal_type,
        keyed.event_source,
        keyed.aws_region,
        keyed.source_ip_address,
        keyed.user_agent,
        keyed.error_code,
        denials.event_id is not null as is_denied
    from keyed
    left join denials
        on denials.event_id = keyed.event_id
        and denials.recipient_account_id is not distinct from keyed.recipient_account_id
    where ($principal_arn is null or keyed.principal_arn = $principal_arn)
        and ($account_id is null or keyed.account_id = $account_id)
),

per_key as (
    select
        access_key_id,
        principal_arn,
        -- (the filter: DuckDB's arg_max skips nulls, Spark's max_by does not)
        arg_max(principal_type, event_time) filter (where principal_type is not null)
            as principal_type,
        account_id,
        bool_or(principal_type = 'Root') as is_root_key,
        count(*) as calls,
        count(*) filter (where error_code is null and not is_denied) as succeeded,
        count(*) filter (where is_denied) as denied,
        -- errors after authorization (dry runs, missing entities): the key itself worked
        count(*) filter (where error_code is not null and not is_denied) as other_errors,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        list_sort(list(distinct event_source) filter (where event_source is not null))
            as services,
        list_sort(list(distinct aws_region) filter (where aws_region is not null)) as regions,
        list_sort(list(distinct source_ip_address) filter (where source_ip_address is not null))
            as source_ips,
        list_sort(list(distinct user_agent) filter (where user_agent is not null))
            as user_agents
    from calls
    group by access_key_id, principal_arn, account_id
),

final as (
    select
        access_key_id,
        principal_arn,
        principal_type,
        account_id,
        is_root_key,
        calls,
        succeeded,
        denied,
        other_errors,
        first_seen,
        last_seen,
        services,
        regions,
        coalesce(source_ips, []) as source_ips,
        coalesce(user_agents, []) as user_agents,
        case
            when is_root_key
                then 'access key of the root user: root should have no access keys; delete it'
            else 'long-term access key of an IAM user: valid until deleted; '
                || 'prefer roles or Identity Center, or rotate it'
        end as reason
    from per_key
)

select * from final
order by is_root_key desc, account_id, principal_arn, access_key_id
