-- name: resource_account
-- description: the account a resource belongs to, for resources whose ARN names none (S3 buckets): the account of its capture, else of the calls that named it, else whether the lake holds events of any account at all
-- param: resource_arn varchar the resource
-- columns: account_id

with

candidates as (
    select
        account_id,
        1 as rank
    from iam_resource_policies
    where resource_arn = $resource_arn
    union all
    select
        resource_account_id as account_id,
        2 as rank
    from resource_uses
    where resource_arn = $resource_arn
        and resource_account_id is not null
),

final as (
    select
        account_id
    from candidates
    order by rank, account_id
    limit 1
)

select * from final
