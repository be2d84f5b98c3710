-- name: role_principals
-- description: the snapshot's principals of the role's account that bear its name, whatever their type (the caller keeps the role)
-- param: account varchar the role's account id
-- param: name varchar the role's name, lower-cased
-- columns: principal_arn, principal_type, name, path, account_id, is_aws_managed, trust_policy

select
    principal_arn,
    principal_type,
    name,
    path,
    account_id,
    is_aws_managed,
    trust_policy
from iam_principals
where account_id = $account
    and lower(name) = $name
order by principal_type
