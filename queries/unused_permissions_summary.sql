-- name: unused_permissions_summary
-- description: Per principal: granted, used, unused, not observable and uncovered action counts, services never used, last activity, share used.
-- uses: unused_permissions
-- param: since timestamp Start of the window (inclusive).
-- param: until timestamp End of the window (exclusive).
-- param: principal_arn varchar optional Only this principal.
-- param: account_id varchar optional Only this account.
-- columns: principal_arn, principal_type, account_id, granted, used, unused, not_observable, outside_coverage, used_share, services_never_used, last_activity_at, is_aws_managed

with

permissions as (
    select
        principal_arn,
        principal_type,
        account_id,
        service,
        status,
        last_seen,
        is_aws_managed
    from unused_permissions
),

per_service as (
    select
        principal_arn,
        service,
        bool_or(status = 'used') as is_used,
        bool_or(status = 'unused') as has_unused
    from permissions
    group by all
),

never_used as (
    select
        principal_arn,
        list_sort(list(service)) as services_never_used
    from per_service
    where not is_used and has_unused
    group by all
),

per_principal as (
    select
        principal_arn,
        any_value(principal_type) as principal_type,
        any_value(account_id) as account_id,
        count(*) as granted,
        count(*) filter (where status = 'used') as used,
        count(*) filter (where status = 'unused') as unused,
        count(*) filter (where status = 'not_observable') as not_observable,
        count(*) filter (where status = 'outside_coverage') as outside_coverage,
        max(last_seen) as last_activity_at,
        bool_or(is_aws_managed) as is_aws_managed
    from permissions
    group by all
),

final as (
    select
        per_principal.principal_arn,
        per_principal.principal_type,
        per_principal.account_id,
        per_principal.granted,
        per_principal.used,
        per_principal.unused,
        per_principal.not_observable,
        per_principal.outside_coverage,
        round(per_principal.used / per_principal.granted, 4) as used_share,
        coalesce(never_used.services_never_used, []) as services_never_used,
        per_principal.last_activity_at,
        per_principal.is_aws_managed
    from per_principal
    left join never_used on never_used.principal_arn = per_principal.principal_arn
)

select * from final
order by account_id, principal_arn
