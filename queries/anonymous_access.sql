-- name: anonymous_access
-- description: Calls by unauthenticated callers (userIdentity.accountId ANONYMOUS_PRINCIPAL: public-bucket reads and writes, anonymous mounts) per account, service, resource and key prefix: succeeded and failed calls, writes, source IPs and user agents.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only this account.
-- columns: account_id, event_source, resource_arn, key_prefix, event_names, calls, succeeded, failed, denied, writes, first_seen, last_seen, source_ips, user_agents, reason

-- An anonymous call carries no credentials, so no principal of any account made it: CloudTrail
-- logs it with userIdentity {type AWSAccount, principalId "", accountId ANONYMOUS_PRINCIPAL},
-- principal_arn is 'anonymous', and it never counts as another account's call. A call that
-- succeeded was allowed to everyone by a resource policy or an ACL.
-- resource_arn is the bucket for S3 calls (requestParameters.bucketName), else the first ARN the
-- event's resources name; key_prefix is the S3 key up to its last '/' ('' for a key at the top
-- of the bucket, null when the call names no key).
-- writes counts the calls that are not read-only; denied those that failed authorization.

with

anonymous_calls as (
    select
        event_id,
        recipient_account_id,
        event_time,
        event_source,
        event_name,
        error_code,
        read_only,
        source_ip_address,
        user_agent,
        request_parameters ->> 'bucketName' as bucket,
        request_parameters ->> 'key' as object_key,
        resources -> 0 ->> 'ARN' as first_resource_arn
    from events
    where user_identity_account_id = 'ANONYMOUS_PRINCIPAL'
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
        and ($account_id is null or recipient_account_id = $account_id)
),

denied_events as (
    select distinct
        event_id,
        recipient_account_id
    from event_actions
    where principal_arn = 'anonymous'
        and is_authorized = false
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

located as (
    select
        anonymous_calls.*,
        case
            when bucket is not null then 'arn:aws:s3:::' || bucket
            else first_resource_arn
        end as resource_arn,
        case
            when object_key is null then null
            when contains(object_key, '/') then regexp_extract(object_key, '^(.*/)', 1)
            else ''
        end as key_prefix,
        denied_events.event_id is not null as is_denied
    from anonymous_calls
    left join denied_events
        on denied_events.event_id = anonymous_calls.event_id
        and denied_events.recipient_account_id
            is not distinct from anonymous_calls.recipient_account_id
),

final as (
    select
        recipient_account_id as account_id,
        event_source,
        resource_arn,
        key_prefix,
        list_sort(list(distinct event_name) filter (where event_name is not null)) as event_names,
        count(*) as calls,
        count(*) filter (where error_code is null) as succeeded,
        count(*) filter (where error_code is not null) as failed,
        count(*) filter (where is_denied) as denied,
        count(*) filter (where read_only is distinct from true) as writes,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        coalesce(
            list_sort(
                list(distinct source_ip_address) filter (where source_ip_address is not null)
            ),
            []
        ) as source_ips,
        coalesce(
            list_sort(list(distinct user_agent) filter (where user_agent is not null)),
            []
        ) as user_agents,
        case
            when count(*) filter (where error_code is null and read_only is distinct from true) > 0
                then 'unauthenticated callers changed it: it is publicly writable'
            when count(*) filter (where error_code is null) > 0
                then 'unauthenticated callers read it: it is public'
            else 'unauthenticated callers tried and failed'
        end as reason
    from located
    group by recipient_account_id, event_source, resource_arn, key_prefix
)

select * from final
order by account_id, event_source, resource_arn nulls last, key_prefix nulls first
