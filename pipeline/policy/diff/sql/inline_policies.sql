-- name: inline_policies
-- description: the inline policies of a user, role or group, by name
-- param: owner varchar the owner's ARN
-- columns: policy_name, document

select policy_name, document
from iam_inline_policies
where owner_arn = $owner
order by policy_name
