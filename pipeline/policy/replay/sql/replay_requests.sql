-- name: replay_requests
-- description: each distinct request of _replay_rows (one action, resource and context) once, with its calls
-- columns: request_id, action, resource_arn, unnamed_type, event_source, event_name, inferred_from, aws_region, source_ip_address, vpc_endpoint_id, invoked_by, identity_type, access_key_kind, mfa_authenticated, session_created_at, user_name, principal_id, source_identity, user_agent, has_tls, request_time, has_request_parameters, s3_prefix, s3_delimiter, s3_max_keys, calls

select
    request_id,
    any_value(action) as action,
    any_value(resource_arn) as resource_arn,
    any_value(unnamed_type) as unnamed_type,
    any_value(event_source) as event_source,
    any_value(event_name) as event_name,
    any_value(inferred_from) as inferred_from,
    any_value(aws_region) as aws_region,
    any_value(source_ip_address) as source_ip_address,
    any_value(vpc_endpoint_id) as vpc_endpoint_id,
    any_value(invoked_by) as invoked_by,
    any_value(identity_type) as identity_type,
    any_value(access_key_kind) as access_key_kind,
    any_value(mfa_authenticated) as mfa_authenticated,
    any_value(session_created_at) as session_created_at,
    any_value(user_name) as user_name,
    any_value(principal_id) as principal_id,
    any_value(source_identity) as source_identity,
    any_value(user_agent) as user_agent,
    any_value(has_tls) as has_tls,
    any_value(request_time) as request_time,
    any_value(has_request_parameters) as has_request_parameters,
    any_value(s3_prefix) as s3_prefix,
    any_value(s3_delimiter) as s3_delimiter,
    any_value(s3_max_keys) as s3_max_keys,
    count(*) as calls
from _replay_rows
group by request_id
order by request_id
