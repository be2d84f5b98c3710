-- name: resource_callers
-- description: who used one resource in the window: per caller (principal, AWS service or anonymous), action and resource the action named, the calls, denied calls, last use, and where the call came from
-- param: resource_arn varchar the resource whose policy decides (a bucket, key, queue, topic, function, secret or repository)
-- param: name_arn varchar the same resource as calls may name it (a secret without its random suffix), or null
-- param: since timestamp optional start of the window (inclusive)
-- param: until timestamp optional end of the window (exclusive)
-- columns: resource_account_id, caller_kind, caller_arn, caller_account_id, caller_evidence, action, action_resource_arn, calls, denied, explicit_denials, denied_by, first_seen, last_seen, via_services, source_arns, source_accounts, vpc_endpoints

with

uses as (
    select *
    from resource_uses
    where (
            resource_arn = $resource_arn
            or resource_arn = $name_arn
            or (
                service = 'secretsmanager'
                and regexp_replace(resource_arn, '-[A-Za-z0-9]{6}$', '') = $name_arn
            )
        )
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select
        resource_account_id,
        caller_kind,
        caller_arn,
        caller_account_id,
        min(caller_evidence) as caller_evidence,
        action,
        action_resource_arn,
        count(distinct call_id) filter (where is_authorized is distinct from false) as calls,
        count(distinct call_id) filter (where is_authorized = false) as denied,
        count(distinct call_id) filter (where is_explicit_deny) as explicit_denials,
        coalesce(
            list_sort(list(distinct denied_by) filter (where denied_by is not null)), []
        ) as denied_by,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        coalesce(
            list_sort(list(distinct via_service) filter (where via_service is not null)), []
        ) as via_services,
        coalesce(
            list_sort(list(distinct source_arn) filter (where source_arn is not null)), []
        ) as source_arns,
        coalesce(
            list_sort(list(distinct source_account) filter (where source_account is not null)),
            []
        ) as source_accounts,
        coalesce(
            list_sort(list(distinct vpc_endpoint_id) filter (where vpc_endpoint_id is not null)),
            []
        ) as vpc_endpoints
    from uses
    group by
        resource_account_id, caller_kind, caller_arn, caller_account_id, action, action_resource_arn
)

select * from final
order by resource_account_id, caller_kind, caller_arn, action, action_resource_arn
