-- name: resource_account
-- description: the account of a resource whose ARN names none (an S3 bucket), as the latest captures list it
-- param: resource_arn varchar the resource
-- columns: account_id

select
    min(account_id) as account_id
from iam_resource_policies
where resource_arn = $resource_arn
