-- name: used_actions
-- description: IAM actions each principal used (authorized calls only), per resource, in a time window.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: principal_arn varchar optional Only this principal (role, user, root ARN).
-- columns: principal_arn, action, service, access_level, resource_arn, first_seen, last_seen, event_count

with

actions as (
    select
        principal_arn,
        action,
        resource_arn,
        event_time
    from event_actions
    where classification = 'iam_action'
        and is_authorized
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
        and ($principal_arn is null or principal_arn = $principal_arn)
),

catalogue as (
    select
        action,
        service,
        access_level
    from iam_actions
),

per_resource as (
    select
        principal_arn,
        action,
        resource_arn,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        count(*) as event_count
    from actions
    group by all
),

final as (
    select
        per_resource.principal_arn,
        per_resource.action,
        catalogue.service,
        catalogue.access_level,
        per_resource.resource_arn,
        per_resource.first_seen,
        per_resource.last_seen,
        per_resource.event_count
    from per_resource
    left join catalogue on catalogue.action = per_resource.action
)

select * from final
order by principal_arn, action, resource_arn nulls first
