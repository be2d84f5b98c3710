-- name: unused_principals
-- description: Users and roles with no authorized activity in the window, with IAM's own last-used dates and which access keys went unused.
-- param: since timestamp Start of the window (inclusive).
-- param: until timestamp End of the window (exclusive).
-- param: account_id varchar optional Only this account.
-- columns: principal_arn, principal_type, account_id, status, created_at, last_activity_at, role_last_used_at, password_last_used_at, access_keys_unused, access_keys_used, is_aws_managed

with

principals as (
    select
        principal_arn,
        principal_type,
        account_id,
        cast(created_at as timestamp) as created_at,
        cast(role_last_used_at as timestamp) as role_last_used_at,
        cast(password_last_used_at as timestamp) as password_last_used_at,
        is_aws_managed
    from iam_principals
    where ($account_id is null or account_id = $account_id)
),

window_events as (
    select
        recipient_account_id,
        user_identity_access_key_id,
        event_time
    from events
    where event_time >= $since
        and event_time < $until
),

coverage as (
    select distinct recipient_account_id as account_id
    from window_events
),

activity as (
    select
        principal_arn,
        max(event_time) as last_activity_at
    from event_actions
    where is_authorized
        and event_time >= $since
        and event_time < $until
    group by 1
),

key_use as (
    select
        user_identity_access_key_id as access_key_id,
        max(event_time) as last_used_at
    from window_events
    where user_identity_access_key_id is not null
    group by 1
),

keys as (
    select
        iam_access_keys.user_arn,
        iam_access_keys.access_key_id,
        key_use.last_used_at
    from iam_access_keys
    left join key_use on key_use.access_key_id = iam_access_keys.access_key_id
),

per_user_keys as (
    select
        user_arn,
        list_sort(list(access_key_id) filter (where last_used_at is null))
            as access_keys_unused,
        list_sort(list(access_key_id) filter (where last_used_at is not null))
            as access_keys_used
    from keys
    group by 1
),

final as (
    select
        principals.principal_arn,
        principals.principal_type,
        principals.account_id,
        case
            when activity.principal_arn is not null then 'active'
            when coverage.account_id is null then 'outside_coverage'
            when principals.created_at > $since then 'younger_than_window'
            else 'unused'
        end as status,
        principals.created_at,
        activity.last_activity_at,
        principals.role_last_used_at,
        principals.password_last_used_at,
        coalesce(per_user_keys.access_keys_unused, []) as access_keys_unused,
        coalesce(per_user_keys.access_keys_used, []) as access_keys_used,
        principals.is_aws_managed
    from principals
    left join activity on activity.principal_arn = principals.principal_arn
    left join coverage on coverage.account_id = principals.account_id
    left join per_user_keys on per_user_keys.user_arn = principals.principal_arn
)

select * from final
order by account_id, status, principal_arn
