-- name: console_logins
-- description: Every console sign-in (ConsoleLogin), successful or failed: who, whether MFA was used and, when not at sign-in, whether Identity Center, a SAML or web identity provider, or an MFA-authenticated session stood in for it.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- columns: event_time, account_id, identity_type, principal_arn, user_arn, user_name, is_success, failure_reason, mfa_used, mfa_status, mfa_enforced_by, is_without_mfa, reason, issued_by_call, issued_by_arn, source_ip, user_agent, login_to, aws_region, event_id

with

logins as (
    select
        event_id,
        event_time,
        recipient_account_id,
        user_identity_type,
        principal_arn,
        nullif(user_identity_arn, '') as user_arn,
        user_identity_user_name,
        session_issuer_arn,
        session_mfa_authenticated,
        web_id_federation_provider,
        error_code,
        error_message,
        source_ip_address,
        user_agent,
        aws_region,
        json_extract_string(response_elements, '$.ConsoleLogin') as login_result,
        lower(json_extract_string(additional_event_data, '$.MFAUsed')) as mfa_used_flag,
        json_extract_string(additional_event_data, '$.MFAIdentifier') as mfa_identifier,
        json_extract_string(additional_event_data, '$.SamlProviderArn') as saml_provider_arn,
        json_extract_string(additional_event_data, '$.LoginTo') as login_to
    from events
    where event_source = 'signin.amazonaws.com'
        and event_name = 'ConsoleLogin'
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

-- The STS calls that issue the sessions a person can take to the console, from the whole lake
-- (a session may start before the window). A session ARN names role and session only, so the
-- latest issue before the sign-in is the one used.
issued_sessions as (
    select
        coalesce(
            json_extract_string(response_elements, '$.assumedRoleUser.arn'),
            json_extract_string(response_elements, '$.federatedUser.arn')
        ) as session_arn,
        event_time as issued_at,
        event_name as issued_by_call,
        coalesce(nullif(user_identity_arn, ''), principal_arn) as issued_by_arn,
        -- What vouches for the person behind the issuing call. A chained role session is
        -- followed one step only: further back the lake is not searched, so it stays unknown.
        case
            when event_name = 'AssumeRoleWithSAML' then 'saml_provider'
            when event_name = 'AssumeRoleWithWebIdentity' then 'web_identity_provider'
            -- an AssumeRole made with MFA carries the device in its parameters
            when json_extract_string(request_parameters, '$.serialNumber') is not null
                or session_mfa_authenticated
                then 'mfa_session'
            when session_issuer_arn like '%:role/aws-reserved/sso.amazonaws.com/%'
                or user_identity_arn like '%:assumed-role/AWSReservedSSO\_%' escape '\'
                then 'identity_center'
            -- long-term credentials without an MFA device; GetFederationToken takes none at all
            when user_identity_type in ('IAMUser', 'Root') then 'none'
        end as issuer_mfa
    from events
    where event_source = 'sts.amazonaws.com'
        and event_name in (
            'AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'GetFederationToken'
        )
        and error_code is null
),

-- The issues of the sessions the sign-ins used: a few among all of the lake's.
issued_sessions_known as (
    select * from issued_sessions
    where session_arn is not null
        and session_arn in (select user_arn from logins)
),

-- Each sign-in's latest issue of its session at or before it: an as-of join, written as a window
-- over the issues and the sign-ins of each session in time order (an issue before a sign-in of
-- the same instant), since Spark SQL has no ASOF JOIN.
latest_issues as (
    select
        event_id,
        recipient_account_id,
        event_time,
        is_login,
        last_value(issue ignore nulls) over (
            partition by session_arn
            order by happened_at, is_login
            rows between unbounded preceding and current row
        ) as issued
    from (
        select
            user_arn as session_arn,
            event_time as happened_at,
            true as is_login,
            event_id,
            recipient_account_id,
            event_time,
            null as issue
        from logins
        union all
        select
            session_arn,
            issued_at as happened_at,
            false as is_login,
            null as event_id,
            null as recipient_account_id,
            null as event_time,
            {
                'issued_at': issued_at,
                'issued_by_call': issued_by_call,
                'issued_by_arn': issued_by_arn,
                'issuer_mfa': issuer_mfa
            } as issue
        from issued_sessions_known
    )
),

with_issuer as (
    select
        logins.*,
        -- GetFederationToken sessions last up to 36 hours, role sessions up to 12: an older
        -- issue cannot be the one this sign-in used
        case
            when latest.issued.issued_at >= logins.event_time - interval 36 hours
                then latest.issued.issued_by_call
        end as issued_by_call,
        case
            when latest.issued.issued_at >= logins.event_time - interval 36 hours
                then latest.issued.issued_by_arn
        end as issued_by_arn,
        case
            when latest.issued.issued_at >= logins.event_time - interval 36 hours
                then latest.issued.issuer_mfa
        end as issuer_mfa
    from logins
    left join latest_issues as latest
        on latest.is_login
        and latest.event_id = logins.event_id
        and latest.recipient_account_id is not distinct from logins.recipient_account_id
        and latest.event_time = logins.event_time
),

judged as (
    select
        *,
        coalesce(login_result = 'Success', false) as is_success,
        case
            when coalesce(login_result, '') <> 'Success'
                then coalesce(
                    error_message,
                    error_code,
                    'ConsoleLogin: ' || login_result,
                    'no result recorded'
                )
        end as failure_reason,
        case
            when mfa_used_flag = 'yes' or mfa_identifier is not null then true
            when mfa_used_flag = 'no' then false
        end as mfa_used,
        case
            when mfa_used_flag = 'yes' or mfa_identifier is not null then null
            -- Identity Center's permission-set roles live under this path; a session ARN drops
            -- the path but keeps the AWSReservedSSO_ role name
            when session_issuer_arn like '%:role/aws-reserved/sso.amazonaws.com/%'
                or user_arn like '%:assumed-role/AWSReservedSSO\_%' escape '\'
                then 'identity_center'
            when saml_provider_arn is not null then 'saml_provider'
            when web_id_federation_provider is not null then 'web_identity_provider'
            when session_mfa_authenticated then 'mfa_session'
            when issuer_mfa <> 'none' then issuer_mfa
        end as mfa_enforced_by
    from with_issuer
),

statused as (
    select
        *,
        case
            when mfa_used then 'used'
            when mfa_enforced_by is not null then 'elsewhere'
            when user_identity_type in ('IAMUser', 'Root') and mfa_used = false then 'not_used'
            when issuer_mfa = 'none' then 'not_used'
            else 'unknown'
        end as mfa_status
    from judged
),

final as (
    select
        event_time,
        recipient_account_id as account_id,
        user_identity_type as identity_type,
        principal_arn,
        user_arn,
        case
            when user_identity_type = 'Root' then 'root'
            when user_identity_type = 'AssumedRole'
                then coalesce(
                    nullif(regexp_extract(user_arn, ':assumed-role/[^/]+/(.+)$', 1), ''),
                    user_identity_user_name
                )
            when user_identity_type = 'FederatedUser'
                then coalesce(
                    nullif(regexp_extract(user_arn, ':federated-user/(.+)$', 1), ''),
                    user_identity_user_name
                )
            else user_identity_user_name
        end as user_name,
        is_success,
        failure_reason,
        mfa_used,
        mfa_status,
        mfa_enforced_by,
        is_success and mfa_status = 'not_used' as is_without_mfa,
        case
            when not is_success
                then 'sign-in failed: ' || failure_reason
                    || case when mfa_used then ' (after an MFA step)' else '' end
            when mfa_status = 'used'
                then 'MFA used at sign-in' || coalesce(' (' || mfa_identifier || ')', '')
            when mfa_enforced_by = 'identity_center' and issued_by_call = 'AssumeRole'
                then 'role session obtained by ' || issued_by_arn
                    || ', an IAM Identity Center session: Identity Center authenticates the person'
                    || ' and applies its MFA policy'
            when mfa_enforced_by = 'identity_center'
                then 'signed in through IAM Identity Center, which authenticates the person'
                    || ' and applies its MFA policy'
            when mfa_enforced_by = 'saml_provider'
                then 'signed in through SAML provider '
                    || coalesce(saml_provider_arn, issued_by_arn, '(not recorded)')
                    || ', which authenticates the person and applies its MFA policy'
            when mfa_enforced_by = 'web_identity_provider'
                then 'signed in through web identity provider '
                    || coalesce(web_id_federation_provider, issued_by_arn, '(not recorded)')
                    || ', which authenticates the person and applies its MFA policy'
            when mfa_enforced_by = 'mfa_session'
                then 'role session created with MFA' || coalesce(' by ' || issued_by_arn, '')
            when user_identity_type = 'Root' and mfa_status = 'not_used'
                then 'root password sign-in without MFA'
            when mfa_status = 'not_used' and issued_by_call = 'GetFederationToken'
                then 'federated session obtained by ' || issued_by_arn
                    || ' with sts:GetFederationToken, which cannot carry MFA'
            when mfa_status = 'not_used' and issued_by_call = 'AssumeRole'
                then 'role session obtained by ' || issued_by_arn
                    || ' with sts:AssumeRole without MFA'
            when mfa_status = 'not_used' then 'password sign-in without MFA'
            when user_identity_type in ('AssumedRole', 'FederatedUser')
                then 'the call that issued this session is not in the lake,'
                    || ' so whether MFA was used is unknown'
            else 'the event does not say whether MFA was used'
        end as reason,
        issued_by_call,
        issued_by_arn,
        source_ip_address as source_ip,
        user_agent,
        login_to,
        aws_region,
        event_id
    from statused
)

select * from final
order by event_time, account_id, event_id
