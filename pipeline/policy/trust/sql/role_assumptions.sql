-- name: role_assumptions
-- description: AssumeRole, AssumeRoleWithWebIdentity and AssumeRoleWithSAML calls naming the role, in the window
-- param: account varchar the role's account id
-- param: name varchar the role's name, lower-cased
-- param: since timestamp optional start of the window (null: the first event)
-- param: until timestamp optional end of the window, exclusive (null: after the last event)
-- columns: event_id, recipient_account_id, shared_event_id, event_time, event_name, error_code, error_message, user_identity_type, user_identity_arn, user_identity_account_id, user_identity_principal_id, user_identity_invoked_by, user_identity_identity_provider, user_identity_user_name, principal_arn, source_ip_address, request_parameters, response_elements, requested_role

with

calls as (
    select
        event_id,
        recipient_account_id,
        shared_event_id,
        event_time,
        event_name,
        error_code,
        error_message,
        user_identity_type,
        user_identity_arn,
        user_identity_account_id,
        user_identity_principal_id,
        user_identity_invoked_by,
        user_identity_identity_provider,
        user_identity_user_name,
        principal_arn,
        source_ip_address,
        request_parameters,
        response_elements,
        coalesce(
            request_parameters ->> 'roleArn',
            regexp_extract(error_message, 'on resource: (arn:\S+)', 1)
        ) as requested_role
    from events
    where event_source = 'sts.amazonaws.com'
        and event_name in ('AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRoleWithSAML')
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select *
    from calls
    where split_part(requested_role, ':', 5) = $account
        and lower(regexp_extract(requested_role, '[^/]+$')) = $name
        and requested_role like '%:role/%'
)

select * from final
order by event_time, event_id
