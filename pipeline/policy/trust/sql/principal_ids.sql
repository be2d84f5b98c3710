-- name: principal_ids
-- description: the unique id of every principal in the snapshot, with its ARN
-- columns: principal_id, principal_arn

select
    principal_id,
    principal_arn
from iam_principals
where principal_id is not null
