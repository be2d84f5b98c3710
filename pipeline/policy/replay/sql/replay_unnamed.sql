-- name: replay_unnamed
-- description: rows to add to _replay_rows for an action each of whose calls also needs a resource of a type its events never name (RunInstances: its instance, volumes, network interface): one per call, numbered from $first_request_id
-- param: action varchar the action
-- param: resource_type varchar the resource type its events never name
-- param: first_request_id integer the request_id after the largest one in _replay_rows
-- columns: as _replay_rows

-- One row per call, standing for its context: rows of one request_id share it, so their new
-- rows may share a new request_id too.
with calls as (
    select distinct on (event_id, recipient_account_id) *
    from _replay_rows
    where action = $action
    order by event_id, recipient_account_id, request_id
),

final as (
    select
        $first_request_id - 1 + dense_rank() over (order by request_id) as request_id,
        null::varchar as resource_arn,
        $resource_type as unnamed_type,
        * exclude (request_id, resource_arn, unnamed_type)
    from calls
)

select * from final
