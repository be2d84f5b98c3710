-- name: resource_policy_row
-- description: the latest capture of a resource's account: the resource's policy row (none when it is not listed) and whether the account was captured at all
-- param: account_id varchar the resource's account
-- param: resource_arn varchar the resource's ARN as captured
-- param: name_arn varchar the resource as calls name it (a secret without its random suffix), or null
-- columns: is_captured, resource_arn, policy, error_code, details, captured_at

with

account_capture as (
    select
        max(captured_at) as captured_at
    from iam_resource_policies
    where account_id = $account_id
),

policy_row as (
    select
        resource_arn,
        policy,
        error_code,
        details,
        captured_at
    from iam_resource_policies
    where account_id = $account_id
        and (
            resource_arn = $resource_arn
            or regexp_replace(resource_arn, '-[A-Za-z0-9]{6}$', '') = $name_arn
        )
),

final as (
    select
        account_capture.captured_at is not null as is_captured,
        policy_row.resource_arn,
        policy_row.policy,
        policy_row.error_code,
        policy_row.details,
        coalesce(policy_row.captured_at, account_capture.captured_at) as captured_at
    from account_capture
    left join policy_row
        on true
)

select * from final
order by resource_arn nulls last
