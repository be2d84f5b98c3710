-- name: replay_rows
-- description: one row per (authorized call, IAM action, resource) of the principal in the window, with the request context the lake holds for it and request_id, the same for every row of the same (action, resource, context)
-- param: principal_arn varchar the role or user
-- param: since timestamp optional start of the window
-- param: until timestamp optional end of the window, exclusive
-- param: with_source_ip boolean keep the caller's IP address (a policy asks aws:SourceIp or aws:VpcSourceIp)
-- param: with_time boolean keep the call's time (a policy asks aws:CurrentTime or aws:EpochTime)
-- param: with_identity boolean keep the user id, user name and source identity (a policy asks them)
-- param: with_session boolean keep the session's creation time (a policy asks aws:TokenIssueTime)
-- param: with_user_agent boolean keep the user agent (a policy asks aws:UserAgent)
-- param: with_s3_listing boolean keep the prefix, delimiter and max-keys of S3 listings (a policy asks s3:prefix, s3:delimiter or s3:max-keys)
-- columns: request_id, event_id, recipient_account_id, event_time, action, resource_arn, event_source, event_name, inferred_from, unnamed_type, aws_region, source_ip_address, vpc_endpoint_id, invoked_by, identity_type, access_key_kind, mfa_authenticated, session_created_at, user_name, principal_id, source_identity, user_agent, has_tls, request_time, has_request_parameters, s3_prefix, s3_delimiter, s3_max_keys

-- Columns a policy does not ask about are nulled, so that calls differing only in them share a
-- request_id and are judged once.

with actions as (
    select
        event_id,
        recipient_account_id,
        event_time,
        action,
        resource_arn,
        event_source,
        event_name,
        inferred_from
    from event_actions
    where principal_arn = $principal_arn
        and classification = 'iam_action'
        and action is not null
        and is_authorized
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

with_context as (
    select
        actions.*,
        -- set on the rows replay_unnamed.sql adds: a resource type the call needs but the event
        -- does not name
        null::varchar as unnamed_type,
        events.aws_region,
        case when $with_source_ip then events.source_ip_address end as source_ip_address,
        events.vpc_endpoint_id,
        events.user_identity_invoked_by as invoked_by,
        events.user_identity_type as identity_type,
        left(events.user_identity_access_key_id, 4) as access_key_kind,
        events.session_mfa_authenticated as mfa_authenticated,
        case when $with_session then events.session_creation_date end as session_created_at,
        case when $with_identity then events.user_identity_user_name end as user_name,
        case when $with_identity then events.user_identity_principal_id end as principal_id,
        case when $with_identity then events.session_source_identity end as source_identity,
        case when $with_user_agent then events.user_agent end as user_agent,
        events.tls_details is not null as has_tls,
        case when $with_time then actions.event_time end as request_time,
        events.request_parameters is not null as has_request_parameters,
        case
            when $with_s3_listing and actions.action = 's3:ListBucket'
                then json_extract_string(events.request_parameters, '$.prefix')
        end as s3_prefix,
        case
            when $with_s3_listing and actions.action = 's3:ListBucket'
                then json_extract_string(events.request_parameters, '$.delimiter')
        end as s3_delimiter,
        case
            when $with_s3_listing and actions.action = 's3:ListBucket'
                then json_extract_string(events.request_parameters, '$."max-keys"')
        end as s3_max_keys
    from actions
    left join events
        on events.event_id = actions.event_id
        and events.recipient_account_id = actions.recipient_account_id
        and events.event_time = actions.event_time
),

final as (
    select
        dense_rank() over (
            order by
                action,
                resource_arn,
                unnamed_type,
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
        *
    from with_context
)

select * from final
