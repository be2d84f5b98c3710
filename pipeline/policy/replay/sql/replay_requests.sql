-- name: replay_requests
-- description: each distinct request of _replay_rows (one action, resource and context) once, with its calls
-- columns: request_id, action, resource_arn, event_source, event_name, inferred_from, unnamed_type, aws_region, source_ip_address, vpc_endpoint_id, invoked_by, identity_type, access_key_kind, mfa_authenticated, session_created_at, user_name, principal_id, source_identity, user_agent, has_tls, request_time, has_request_parameters, s3_prefix, s3_delimiter, s3_max_keys, calls

-- Every row of a request holds the same values (they are what numbers it): any one will do.
select
    request_id,
    any_value(columns(* exclude (request_id, event_id, recipient_account_id, event_time))),
    count(*) as calls
from _replay_rows
group by request_id
order by request_id
