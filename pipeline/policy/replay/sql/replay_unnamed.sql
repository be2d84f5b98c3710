-- name: replay_unnamed
-- description: rows to add to _replay_rows for an action each of whose calls also needs a resource of a type its events never name (RunInstances: its instance, volumes, network interface): one per call, numbered from $first_request_id
-- param: action varchar the action
-- param: resource_type varchar the resource type its events never name
-- param: first_request_id integer the request_id after the largest one in _replay_rows
-- columns: as _replay_rows

with calls as (
    select distinct on (event_id, recipient_account_id)
        * exclude (request_id, resource_arn, unnamed_type)
    from _replay_rows
    where action = $action
),

final as (
    select
        event_id,
        recipient_account_id,
        event_time,
        $first_request_id - 1 + dense_rank() over (
            order by
                event_source,
                event_name,
                inferred_from,
                aws_region,
                source_ip_address,
                vpc_endpoint_id,
                invoked_by,
                identity_type,
                access_key_kind,
                mfa_authenticated,
                session_created_at,
                user_name,
                principal_id,
                source_identity,
                user_agent,
                has_tls,
                request_time,
                has_request_parameters,
                s3_prefix,
                s3_delimiter,
                s3_max_keys
        ) as request_id,
        action,
        null::varchar as resource_arn,
        $resource_type as unnamed_type,
        * exclude (event_id, recipient_account_id, event_time, action)
    from calls
)

select * from final
