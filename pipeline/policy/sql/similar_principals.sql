-- name: similar_principals
-- description: principals of the lake with the same account, kind and name as one that has no events (another path)
-- param: account varchar the account id
-- param: kind varchar the ARN's part before the first slash, e.g. arn:aws:iam::111122223333:role
-- param: name varchar the name after the last slash
-- columns: principal_arn

select distinct principal_arn
from events
where principal_arn is not null
    and split_part(principal_arn, ':', 5) = $account
    and split_part(principal_arn, '/', 1) = $kind
    and regexp_extract(principal_arn, '[^/]+$') = $name
order by principal_arn
limit 5
