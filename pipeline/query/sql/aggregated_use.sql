-- name: aggregated_use
-- description: the aggregated_use view: the calls USER_ACTIONS summaries name, per principal and API, with each IAM action the API needs
-- columns: event_id, account_id, window_start, window_end, event_source, aws_region, principal, principal_account, principal_kind, principal_name, event_name, calls, has_errors, action

select
    calls.*,
    api.action
from _aggregated_calls as calls
left join _aggregated_api_actions as api
    on api.event_source = calls.event_source
    and api.event_name = calls.event_name
