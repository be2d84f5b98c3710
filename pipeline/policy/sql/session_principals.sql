-- name: session_principals
-- description: the principals (roles) an assumed-role session ARN acted as
-- param: arn varchar the session ARN
-- columns: principal_arn

select distinct principal_arn
from events
where user_identity_arn = $arn and principal_arn is not null
order by principal_arn
