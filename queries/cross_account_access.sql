-- name: cross_account_access
-- description: Calls across an account boundary per external principal, call and role: callers of another account acting here (inbound, AssumeRole into this account included) and AssumeRole from here into another account (outbound); calls add up to the cross-account events.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only this account's side of the boundary.
-- columns: account_id, direction, external_account_id, is_external_account_in_lake, caller_arn, caller_evidence, event_source, event_name, role_arn, session_names, calls, denied, session_events, first_seen, last_seen, source_ips, user_agents, reason

-- An event crosses an account boundary when
--   inbound   the caller's account (userIdentity.accountId) differs from the account that
--             received the event; or it is an AssumeRole into a role of another account than the
--             caller's, received without recipient account (the role's account is taken);
--   outbound  it is an AssumeRole, received by the caller's own account, of a role in another
--             account (the caller's side of the call; the role's account logs the inbound copy).
-- Each such event is one call in exactly one row, so calls add up to the crossing events.
-- Federated sign-ins (SAML, web identity) carry no caller account, AWS acting (an AWSService
-- identity, a service event) is no caller of another account, and an anonymous caller
-- (accountId ANONYMOUS_PRINCIPAL) belongs to no account at all (see anonymous_access): none is
-- counted.
--
-- caller_arn is the caller's user or role. When the receiving account only logs the caller's
-- account (an AWSAccount identity), it is taken from the caller account's copy of the same call
-- (same sharedEventID), else from the principal id seen elsewhere in the lake (a role's or user's
-- unique id), else it stays the account's root ARN; caller_evidence says which.
-- session_events counts, for AssumeRole rows, the window's calls made with the credentials those
-- AssumeRole calls returned (matched by access key id), wherever they were logged.
-- denied counts the calls that failed authorization (see event_actions.is_authorized).

with

calls as (
    select
        event_id,
        recipient_account_id,
        event_time,
        event_source,
        event_name,
        user_identity_type,
        user_identity_principal_id,
        user_identity_account_id,
        principal_arn,
        shared_event_id,
        source_ip_address,
        user_agent,
        event_source = 'sts.amazonaws.com' and event_name = 'AssumeRole' as is_assume_role,
        request_parameters ->> 'roleArn' as requested_role_arn,
        response_elements ->> '$.credentials.accessKeyId' as issued_access_key_id,
        coalesce(
            nullif(
                regexp_extract(response_elements ->> '$.assumedRoleUser.arn', '[^/]+$'), ''
            ),
            request_parameters ->> 'roleSessionName'
        ) as requested_session_name,
        nullif(regexp_extract(user_identity_principal_id, ':(.+)$', 1), '') as caller_session_name
    from events
    where ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
        and user_identity_account_id is not null
        and user_identity_account_id <> 'ANONYMOUS_PRINCIPAL'
        -- AWS acting is not a caller of another account (see identity_paths: aws_service).
        and user_identity_type is distinct from 'AWSService'
        and (user_identity_type is not null or user_identity_invoked_by is null)
),

crossing as (
    select
        *,
        case when is_assume_role then requested_role_arn end as role_arn,
        case
            when is_assume_role then nullif(split_part(requested_role_arn, ':', 5), '')
        end as role_account_id
    from calls
),

directed as (
    select
        *,
        case
            when role_account_id <> user_identity_account_id
                and recipient_account_id = user_identity_account_id
                then 'outbound'
            when user_identity_account_id <> recipient_account_id then 'inbound'
            when role_account_id <> user_identity_account_id and recipient_account_id is null
                then 'inbound'
        end as direction,
        coalesce(recipient_account_id, role_account_id) as account_id
    from crossing
),

boundary as (
    select
        *,
        case when direction = 'outbound' then role_account_id else user_identity_account_id end
            as external_account_id
    from directed
    where direction is not null
        and ($account_id is null or account_id = $account_id)
),

-- The caller account's copy of the same call names the caller.
caller_copies as (
    select
        shared_event_id,
        recipient_account_id,
        min(principal_arn) as principal_arn
    from events
    where shared_event_id is not null
        and user_identity_type <> 'AWSAccount'
        and principal_arn is not null
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
    group by shared_event_id, recipient_account_id
),

lake_accounts as (
    select distinct
        recipient_account_id as account_id
    from events
    where recipient_account_id is not null
),

session_activity as (
    select
        user_identity_access_key_id as access_key_id,
        count(*) as events
    from events
    where user_identity_type = 'AssumedRole'
        and user_identity_access_key_id in (
            select issued_access_key_id from boundary where issued_access_key_id is not null
        )
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
    group by user_identity_access_key_id
),

denied_events as (
    select distinct
        event_id,
        recipient_account_id
    from event_actions
    where is_authorized = false
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

resolved as (
    select
        boundary.*,
        case
            when boundary.user_identity_type <> 'AWSAccount' then boundary.principal_arn
            else coalesce(
                caller_copies.principal_arn, known_ids.principal_arn, boundary.principal_arn
            )
        end as caller_arn,
        case
            when boundary.user_identity_type <> 'AWSAccount' then 'the event''s userIdentity'
            when caller_copies.principal_arn is not null
                then 'the caller account''s copy of the call (same sharedEventID)'
            when known_ids.principal_arn is not null
                then 'principal id ' || known_ids.principal_id || ' seen elsewhere in the lake'
            else 'only the caller''s account is logged'
        end as caller_evidence,
        case
            when boundary.is_assume_role then boundary.requested_session_name
            else boundary.caller_session_name
        end as session_name,
        case
            when boundary.is_assume_role then coalesce(session_activity.events, 0)
        end as session_events,
        denied_events.event_id is not null as is_denied,
        lake_accounts.account_id is not null as is_external_account_in_lake
    from boundary
    left join caller_copies
        on boundary.user_identity_type = 'AWSAccount'
        and caller_copies.shared_event_id = boundary.shared_event_id
        and caller_copies.recipient_account_id = boundary.user_identity_account_id
    left join known_principals as known_ids
        on boundary.user_identity_type = 'AWSAccount'
        and known_ids.principal_id = split_part(boundary.user_identity_principal_id, ':', 1)
    left join session_activity
        on session_activity.access_key_id = boundary.issued_access_key_id
    left join denied_events
        on denied_events.event_id = boundary.event_id
        and denied_events.recipient_account_id is not distinct from boundary.recipient_account_id
    left join lake_accounts
        on lake_accounts.account_id = boundary.external_account_id
),

final as (
    select
        account_id,
        direction,
        external_account_id,
        is_external_account_in_lake,
        caller_arn,
        list_sort(list(distinct caller_evidence)) as caller_evidence,
        event_source,
        event_name,
        role_arn,
        coalesce(
            list_sort(list(distinct session_name) filter (where session_name is not null)),
            []
        ) as session_names,
        count(*) as calls,
        count(*) filter (where is_denied) as denied,
        cast(sum(session_events) as bigint) as session_events,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        coalesce(
            list_sort(
                list(distinct source_ip_address) filter (where source_ip_address is not null)
            ),
            []
        ) as source_ips,
        coalesce(
            list_sort(list(distinct user_agent) filter (where user_agent is not null)),
            []
        ) as user_agents,
        case
            when direction = 'outbound'
                then 'AssumeRole from account ' || account_id || ' into a role of account '
                    || external_account_id
            when role_arn is not null
                then 'AssumeRole into ' || role_arn || ' by a caller of account '
                    || external_account_id
            else 'caller of account ' || external_account_id || ' acting in account '
                || account_id
        end as reason
    from resolved
    group by
        account_id,
        direction,
        external_account_id,
        is_external_account_in_lake,
        caller_arn,
        event_source,
        event_name,
        role_arn
)

select * from final
order by account_id, direction, external_account_id, caller_arn, event_source, event_name, role_arn
