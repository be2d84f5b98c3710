-- name: unused_permissions
-- description: Per principal and granted action: used, unused, not observable by CloudTrail, or outside the lake's coverage, with evidence.
-- param: since timestamp Start of the window (inclusive).
-- param: until timestamp End of the window (exclusive).
-- param: principal_arn varchar optional Only this principal.
-- param: account_id varchar optional Only this account.
-- columns: principal_arn, principal_type, account_id, action, service, access_level, status, reason, last_seen, event_count, granted_by, is_conditional, is_aws_managed

with

grants as (
    select
        principal_arn,
        account_id,
        action,
        service,
        access_level,
        granted_by,
        is_conditional
    from iam_grants
    where ($principal_arn is null or principal_arn = $principal_arn)
        and ($account_id is null or account_id = $account_id)
),

principals as (
    select
        principal_arn,
        principal_type,
        is_aws_managed
    from iam_principals
),

window_events as (
    select
        event_id,
        recipient_account_id,
        event_source,
        event_category,
        read_only,
        management_event
    from events
    where event_time >= $since
        and event_time < $until
),

-- What the lake could see for each account in the window.
coverage as (
    select
        recipient_account_id as account_id,
        count(*) as events,
        count(*) filter (where management_event and read_only) as read_events,
        count(*) filter (where management_event and not read_only) as write_events
    from window_events
    group by 1
),

-- Data events of a service are logged for the account when the lake holds some, or holds the
-- trail's aggregated summaries of them.
data_services as (
    select distinct
        recipient_account_id as account_id,
        split_part(event_source, '.', 1) as service
    from window_events
    where event_category = 'Data'
    union
    select distinct
        recipient_account_id as account_id,
        split_part(event_source, '.', 1) as service
    from aggregated_events
    where event_time >= $since
        and event_time < $until
),

-- Sources a trail's management event selectors can leave out.
excludable_sources as (
    select distinct
        recipient_account_id as account_id,
        split_part(event_source, '.', 1) as service
    from window_events
    where event_source in ('kms.amazonaws.com', 'rds-data.amazonaws.com')
),

used as (
    select
        principal_arn,
        lower(action) as action_key,
        max(event_time) as last_seen,
        count(distinct event_id) as event_count
    from event_actions
    where classification = 'iam_action'
        and is_authorized
        and event_time >= $since
        and event_time < $until
    group by 1, 2
),

-- USER_ACTIONS summaries that name a granted principal (matched by account, kind and name: a
-- summary may name the session, whose ARN carries no role path) and an API, and count no error:
-- those calls were authorized (see aggregated_use for what a summary cannot tell).
aggregated_used as (
    select
        grant_principals.principal_arn,
        lower(aggregated_use.action) as action_key,
        max(aggregated_use.window_start) as last_seen,
        sum(aggregated_use.calls) as event_count
    from aggregated_use
    inner join (select distinct principal_arn from grants) as grant_principals
        on split_part(grant_principals.principal_arn, ':', 5) = aggregated_use.principal_account
        and split_part(split_part(grant_principals.principal_arn, ':', 6), '/', 1)
            = aggregated_use.principal_kind
        and lower(regexp_extract(grant_principals.principal_arn, '[^/]+$'))
            = lower(aggregated_use.principal_name)
    where aggregated_use.action is not null
        and not aggregated_use.has_errors
        and aggregated_use.window_start >= $since
        and aggregated_use.window_start < $until
    group by 1, 2
),

observable as (
    select
        lower(action) as action_key,
        is_data_event
    from iam_observable_actions
),

classified as (
    select
        grants.*,
        principals.principal_type,
        principals.is_aws_managed,
        greatest(used.last_seen, aggregated_used.last_seen) as last_seen,
        cast(coalesce(used.event_count, 0) + coalesce(aggregated_used.event_count, 0) as bigint)
            as event_count,
        -- The first rule that applies decides: status and the reason a person reads.
        case
            when used.action_key is not null
                then {'status': 'used', 'reason': 'authorized calls in the window'}
            when aggregated_used.action_key is not null
                then {'status': 'used',
                      'reason': 'calls counted by aggregated USER_ACTIONS summaries of the window'}
            when coverage.account_id is null
                then {'status': 'outside_coverage',
                      'reason': 'the lake holds no events of this account in the window'}
            when observable.action_key is null
                then {'status': 'not_observable',
                      'reason': 'no CloudTrail event maps to this action'}
            when observable.is_data_event and data_services.service is null
                then {'status': 'not_observable',
                      'reason': 'a data event, and the lake holds no data events of this service for the account'}
            when grants.service in ('kms', 'rds-data') and excludable_sources.service is null
                then {'status': 'not_observable',
                      'reason': 'the trail may exclude this source: the lake holds none of its events'}
            when not observable.is_data_event
                and grants.access_level in ('Read', 'List')
                and coverage.read_events = 0
                then {'status': 'not_observable',
                      'reason': 'the lake holds no read-only management events for the account'}
            when not observable.is_data_event
                and grants.access_level not in ('Read', 'List')
                and coverage.write_events = 0
                then {'status': 'not_observable',
                      'reason': 'the lake holds no write management events for the account'}
            else {'status': 'unused', 'reason': 'observable, and no authorized call in the window'}
        end as verdict
    from grants
    left join principals on principals.principal_arn = grants.principal_arn
    left join used
        on used.principal_arn = grants.principal_arn
        and used.action_key = lower(grants.action)
    left join aggregated_used
        on aggregated_used.principal_arn = grants.principal_arn
        and aggregated_used.action_key = lower(grants.action)
    left join coverage on coverage.account_id = grants.account_id
    left join observable on observable.action_key = lower(grants.action)
    left join data_services
        on data_services.account_id = grants.account_id
        and data_services.service = grants.service
    left join excludable_sources
        on excludable_sources.account_id = grants.account_id
        and excludable_sources.service = grants.service
),

final as (
    select
        principal_arn,
        principal_type,
        account_id,
        action,
        service,
        access_level,
        verdict.status as status,
        verdict.reason as reason,
        last_seen,
        event_count,
        granted_by,
        is_conditional,
        is_aws_managed
    from classified
)

select * from final
order by principal_arn, service, action
