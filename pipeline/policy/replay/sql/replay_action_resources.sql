-- name: replay_action_resources
-- description: per action of _replay_rows, the resources its calls name, and the largest request_id
-- columns: action, resources, last_request_id

select
    action,
    list(distinct resource_arn) filter (where resource_arn is not null) as resources,
    max(max(request_id)) over () as last_request_id
from _replay_rows
group by action
order by action
