-- name: bulk_principals
-- description: the users and roles of the latest IAM snapshots that policy bulk right-sizes
-- param: account_id varchar optional only this account (null: every account)
-- columns: principal_arn, principal_type, name, path, account_id, is_aws_managed

select
    principal_arn,
    principal_type,
    name,
    path,
    account_id,
    is_aws_managed
from iam_principals
where principal_type in ('role', 'user')
    and ($account_id is null or account_id = $account_id)
order by account_id, principal_type, principal_arn
