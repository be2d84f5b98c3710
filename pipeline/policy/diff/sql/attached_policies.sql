-- name: attached_policies
-- description: the managed policies attached to a user, role or group, with their documents (null when the snapshot lacks the policy)
-- param: owner varchar the owner's ARN
-- columns: policy_arn, policy_name, document, is_aws_managed, attachment_count

select
    a.policy_arn,
    a.policy_name,
    p.document,
    p.is_aws_managed,
    p.attachment_count
from iam_attachments as a
left join iam_policies as p on p.policy_arn = a.policy_arn
where a.owner_arn = $owner
order by a.policy_arn
