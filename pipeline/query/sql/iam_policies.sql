-- name: iam_policies
-- description: the iam_policies view: each account's own policies from its latest snapshot, and each AWS managed policy from the newest snapshot that holds it
-- columns: the policies table's columns of the IAM snapshot store
--
-- AWS managed policies (account "aws") are only in snapshots whose account attaches them, so
-- the newest snapshot alone may lack one another account still uses.

select policies.*
from _iam_policies_all as policies
semi join _iam_latest as latest
    on policies.snapshot_id = latest.snapshot_id
    and policies.account_id = latest.account_id
where policies.account_id <> 'aws'

union all

-- A subquery, not QUALIFY: Spark has no QUALIFY, and sqlglot's rewrite of one keeps its rank
-- column in a select *.
select * exclude (recency)
from (
    select
        *,
        row_number() over (
            partition by policy_arn order by captured_at desc, snapshot_id desc
        ) as recency
    from _iam_policies_all
    where account_id = 'aws'
)
where recency = 1
