-- name: resource_scopes
-- description: each action the principal is granted, with the resources its grants reach
-- param: arn varchar the principal's ARN
-- columns: action, resource_scope

select action, resource_scope
from iam_grants
where principal_arn = $arn
