-- name: group_memberships
-- description: the groups a user belongs to, by name
-- param: arn varchar the user's ARN
-- columns: group_name, group_arn

select group_name, group_arn
from iam_group_members
where user_arn = $arn
order by group_name
