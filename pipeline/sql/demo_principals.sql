-- name: demo_principals
-- description: who acted in the demo's lake, and how many distinct IAM actions each used or was denied
-- columns: principal_arn, actions_used, actions_denied, events

select
    principal_arn,
    count(distinct action) filter (where is_authorized) as actions_used,
    count(distinct action) filter (where not is_authorized) as actions_denied,
    count(distinct event_id) as events
from event_actions
where classification = 'iam_action'
group by principal_arn
order by actions_used desc, principal_arn
limit 12
