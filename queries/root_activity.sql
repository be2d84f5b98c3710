-- name: root_activity
-- description: Every root user event, one row each: sign-ins (failed ones too), console, access-key and centralised root (sts:AssumeRoot) sessions, with how root got in and why the row is here.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: include_service_events boolean optional Also AWS service events and calls a service made on root's behalf (invokedBy); default false.
-- columns: event_time, account_id, root_session_kind, event_source, event_name, aws_region, source_ip, user_agent, is_success, error_code, error_message, is_console_login, mfa_used, access_key_id, is_service_event, is_read_only, caller_arn, task_policy_arn, reason, logged_in_account_id, event_id

with

-- The sts:AssumeRoot calls of the whole lake, not only the window: a privileged session's
-- calls in a member account may fall inside the window while the call that opened it is
-- just before it (sessions last at most 15 minutes).
assume_root_calls as (
    select
        event_id,
        event_time,
        recipient_account_id,
        event_source,
        event_name,
        aws_region,
        source_ip_address,
        user_agent,
        error_code,
        error_message,
        read_only,
        user_identity_type,
        -- targetPrincipal is the member account id or a principal ARN in it
        nullif(
            regexp_extract(
                json_extract_string(request_parameters, '$.targetPrincipal'), '(\d{12})', 1
            ),
            ''
        ) as target_account_id,
        json_extract_string(request_parameters, '$.taskPolicyArn.arn') as task_policy_arn,
        nullif(json_extract_string(response_elements, '$.credentials.accessKeyId'), '')
            as issued_key_id,
        coalesce(nullif(user_identity_arn, ''), principal_arn) as caller_arn,
        session_mfa_authenticated as caller_mfa_authenticated
    from events
    where event_source = 'sts.amazonaws.com'
        and event_name = 'AssumeRoot'
),

-- One opening call per issued key, so that a key never multiplies the rows of its calls. (The
-- filters say what DuckDB's arg_max does anyway, skip nulls, which Spark's max_by does not.)
root_sessions_opened as (
    select
        issued_key_id,
        arg_max(caller_arn, event_time) filter (where caller_arn is not null) as caller_arn,
        arg_max(task_policy_arn, event_time) filter (where task_policy_arn is not null)
            as task_policy_arn,
        arg_max(caller_mfa_authenticated, event_time)
            filter (where caller_mfa_authenticated is not null) as caller_mfa_authenticated
    from assume_root_calls
    where issued_key_id is not null
    group by issued_key_id
),

root_events as (
    select
        event_id,
        event_time,
        recipient_account_id,
        coalesce(
            nullif(user_identity_account_id, ''),
            nullif(regexp_extract(user_identity_arn, '(\d{12})', 1), ''),
            recipient_account_id
        ) as root_account_id,
        event_source,
        event_name,
        lower(event_type) as event_type,
        aws_region,
        source_ip_address,
        user_agent,
        error_code,
        error_message,
        read_only,
        principal_arn,
        user_identity_invoked_by as invoked_by,
        nullif(user_identity_access_key_id, '') as access_key_id,
        session_credential_from_console,
        session_mfa_authenticated,
        event_source = 'signin.amazonaws.com' and event_name = 'ConsoleLogin' as is_console_login,
        -- sign-in events put their outcome under their own name: {"ConsoleLogin": "Failure"}
        case
            when event_source = 'signin.amazonaws.com'
                then json_extract_string(response_elements, '$.' || event_name)
        end as sign_in_result,
        lower(json_extract_string(additional_event_data, '$.MFAUsed')) as mfa_used_flag,
        json_extract_string(additional_event_data, '$.MFAIdentifier') as mfa_identifier,
        json_extract_string(user_identity, '$.sessionContext.assumedRoot') = 'true'
            as is_marked_assumed_root
    from events
    where user_identity_type = 'Root'
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

classified as (
    select
        root_events.*,
        opened.caller_arn,
        opened.task_policy_arn,
        opened.caller_mfa_authenticated,
        -- signin.amazonaws.com as invokedBy is the console acting on root's own click
        -- (root creating its access key, for one), not a service acting for root
        root_events.event_type = 'awsserviceevent'
        or coalesce(root_events.invoked_by, 'signin.amazonaws.com') <> 'signin.amazonaws.com'
            as is_service_event,
        coalesce(root_events.session_credential_from_console, false)
        or root_events.event_type in ('awsconsolesignin', 'awsconsoleaction')
        or root_events.user_agent in ('console.amazonaws.com', 'signin.amazonaws.com')
        or root_events.user_agent like 'console.%.amazonaws.com'
        or root_events.invoked_by = 'signin.amazonaws.com'
            as is_console_session,
        opened.issued_key_id is not null or coalesce(root_events.is_marked_assumed_root, false)
            as is_assumed_root
    from root_events
    left join root_sessions_opened as opened
        on opened.issued_key_id = root_events.access_key_id
),

root_rows as (
    select
        event_time,
        root_account_id as account_id,
        case
            when is_console_login and sign_in_result = 'Success' then 'console_login'
            when is_console_login then 'login_failure'
            when is_service_event then 'service'
            when is_assumed_root then 'assumed_root'
            when is_console_session then 'console'
            when access_key_id like 'AKIA%' then 'access_key'
            when access_key_id like 'ASIA%' then 'temporary_credentials'
            else 'unknown'
        end as root_session_kind,
        event_source,
        event_name,
        aws_region,
        source_ip_address as source_ip,
        user_agent,
        case
            when is_console_login then coalesce(sign_in_result = 'Success', false)
            else error_code is null and coalesce(sign_in_result, 'Success') = 'Success'
        end as is_success,
        error_code,
        error_message,
        is_console_login,
        case
            when is_console_login then
                case
                    when mfa_used_flag = 'yes' or mfa_identifier is not null then true
                    when mfa_used_flag = 'no' then false
                end
            when is_assumed_root then coalesce(caller_mfa_authenticated, session_mfa_authenticated)
            else session_mfa_authenticated
        end as mfa_used,
        access_key_id,
        is_service_event,
        read_only as is_read_only,
        case when is_assumed_root then caller_arn else principal_arn end as caller_arn,
        task_policy_arn,
        invoked_by,
        recipient_account_id as logged_in_account_id,
        event_id
    from classified
),

root_reasons as (
    select
        *,
        case root_session_kind
            when 'console_login' then
                'root signed in to the console '
                || case mfa_used
                    when true then 'with MFA'
                    when false then 'without MFA'
                    else '(MFA not recorded)'
                end
            when 'login_failure' then
                'failed root sign-in: ' || coalesce(error_message, error_code, 'no reason recorded')
            when 'service' then
                'AWS acting for root: ' || coalesce(invoked_by, 'an AWS service event')
            when 'assumed_root' then
                case
                    when caller_arn is null then
                        'privileged root session (sts:AssumeRoot);'
                        || ' the call that opened it is not in the lake'
                    else
                        'privileged root session opened by ' || caller_arn || ' with sts:AssumeRoot'
                        || coalesce(' (task policy ' || task_policy_arn || ')', '')
                end
            when 'console' then 'root call from a console session'
            when 'access_key' then 'root long-term access key ' || access_key_id
            when 'temporary_credentials' then
                'root temporary credentials ' || access_key_id
                || ' from neither the console nor sts:AssumeRoot (sts:GetSessionToken,'
                || ' or a console session logged before CloudTrail marked those)'
            else 'root call; the event records no credential'
        end as reason
    from root_rows
),

-- The management or delegated-admin principal asking for a member account's root.
assume_root_rows as (
    select
        event_time,
        target_account_id as account_id,
        'assume_root' as root_session_kind,
        event_source,
        event_name,
        aws_region,
        source_ip_address as source_ip,
        user_agent,
        error_code is null as is_success,
        error_code,
        error_message,
        false as is_console_login,
        caller_mfa_authenticated as mfa_used,
        issued_key_id as access_key_id,
        false as is_service_event,
        read_only as is_read_only,
        caller_arn,
        task_policy_arn,
        coalesce(caller_arn, 'an unknown caller')
        || ' asked for a privileged root session in account '
        || coalesce(target_account_id, '(not recorded)')
        || coalesce(' (task policy ' || task_policy_arn || ')', '')
        || coalesce(' and was refused: ' || error_code, '') as reason,
        recipient_account_id as logged_in_account_id,
        event_id
    from assume_root_calls
    -- root cannot call AssumeRoot; should it try, that event is already one of root's rows
    where user_identity_type is distinct from 'Root'
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select
        event_time,
        account_id,
        root_session_kind,
        event_source,
        event_name,
        aws_region,
        source_ip,
        user_agent,
        is_success,
        error_code,
        error_message,
        is_console_login,
        mfa_used,
        access_key_id,
        is_service_event,
        is_read_only,
        caller_arn,
        task_policy_arn,
        reason,
        logged_in_account_id,
        event_id
    from root_reasons
    where coalesce($include_service_events, false) or not is_service_event
    union all
    select * from assume_root_rows
)

select * from final
order by event_time, account_id, event_id
