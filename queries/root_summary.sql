-- name: root_summary
-- description: Root user activity per account: console sign-ins with and without MFA, failed sign-ins, API calls, root access key use, centralised root sessions, last activity; counted from root_activity, so the numbers add up to its rows.
-- uses: root_activity
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: include_service_events boolean optional Also count AWS service events and calls a service made on root's behalf (invokedBy); default false.
-- columns: account_id, events, console_logins, console_logins_with_mfa, console_logins_without_mfa, failed_logins, api_calls, failed_api_calls, access_key_calls, access_keys_used, assumed_root_calls, assume_root_requests, service_events, source_ips, first_activity_at, last_activity_at, last_console_login_at

with

activity as (
    select
        account_id,
        root_session_kind,
        event_time,
        is_success,
        mfa_used,
        access_key_id,
        source_ip
    from root_activity
),

final as (
    select
        account_id,
        -- events = console_logins + failed_logins + api_calls + assume_root_requests
        count(*) as events,
        count(*) filter (where root_session_kind = 'console_login') as console_logins,
        count(*) filter (where root_session_kind = 'console_login' and mfa_used)
            as console_logins_with_mfa,
        count(*) filter (where root_session_kind = 'console_login' and not mfa_used)
            as console_logins_without_mfa,
        count(*) filter (where root_session_kind = 'login_failure') as failed_logins,
        count(*) filter (
            where root_session_kind not in ('console_login', 'login_failure', 'assume_root')
        ) as api_calls,
        count(*) filter (
            where root_session_kind not in ('console_login', 'login_failure', 'assume_root')
            and not is_success
        ) as failed_api_calls,
        count(*) filter (where root_session_kind = 'access_key') as access_key_calls,
        coalesce(
            list_sort(
                list(distinct access_key_id)
                    filter (where root_session_kind = 'access_key' and access_key_id is not null)
            ),
            []
        ) as access_keys_used,
        count(*) filter (where root_session_kind = 'assumed_root') as assumed_root_calls,
        count(*) filter (where root_session_kind = 'assume_root') as assume_root_requests,
        count(*) filter (where root_session_kind = 'service') as service_events,
        coalesce(
            list_sort(list(distinct source_ip) filter (where source_ip is not null)), []
        ) as source_ips,
        min(event_time) as first_activity_at,
        max(event_time) as last_activity_at,
        max(event_time) filter (where root_session_kind = 'console_login') as last_console_login_at
    from activity
    group by account_id
)

select * from final
order by last_activity_at desc, account_id
