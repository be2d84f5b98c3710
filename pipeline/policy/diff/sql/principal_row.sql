-- name: principal_row
-- description: the principal's row in the latest IAM snapshot of its account
-- param: account varchar the principal's account id
-- param: kind varchar its type: user or role
-- param: name varchar its name, lower-cased
-- columns: principal_arn, principal_type, name, account_id, is_aws_managed, permissions_boundary_arn

select
    principal_arn,
    principal_type,
    name,
    account_id,
    is_aws_managed,
    permissions_boundary_arn
from iam_principals
where account_id = $account and principal_type = $kind and lower(name) = $name
