-- name: principal_uses
-- description: one row per (action, resource, outcome) the principal exercised in the window, with its calls, regions, services acting for it and VPC endpoints
-- param: principal_arn varchar the role or user
-- param: since timestamp optional start of the window (null: the first event)
-- param: until timestamp optional end of the window, exclusive (null: after the last event)
-- columns: action, resource_arn, is_authorized, denied_action, denied_resource, denied_by, is_explicit_deny, events, first_seen_at, last_seen_at, inferred_from, own_events, calls, regions, invoked_by, direct_events, vpc_endpoints, events_outside_vpce, action_events

with actions as (
    select
        event_id,
        recipient_account_id,
        event_time,
        event_source,
        event_name,
        action,
        resource_arn,
        coalesce(is_authorized, false) as is_authorized,
        inferred_from,
        denied_action,
        denied_resource,
        denied_by,
        coalesce(is_explicit_deny, false) as is_explicit_deny
    from event_actions
    where principal_arn = $principal_arn
        and classification = 'iam_action'
        and action is not null
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

with_context as (
    select
        actions.*,
        events.aws_region,
        events.user_identity_invoked_by as invoked_by,
        events.vpc_endpoint_id
    from actions
    left join events
        on events.event_id = actions.event_id
        and events.recipient_account_id = actions.recipient_account_id
        and events.event_time = actions.event_time
),

-- Each event counted once per use (and once among its own calls) by a first-row flag:
-- DuckDB's count(distinct) over a million event ids does not spill and ran out of its 1 GB.
flagged as (
    select
        *,
        row_number() over (
            partition by
                action,
                resource_arn,
                is_authorized,
                denied_action,
                denied_resource,
                denied_by,
                is_explicit_deny,
                event_id
            order by event_time  -- any row will do; Spark wants an order
        ) = 1 as is_first,
        row_number() over (
            partition by
                action,
                resource_arn,
                is_authorized,
                denied_action,
                denied_resource,
                denied_by,
                is_explicit_deny,
                event_id,
                coalesce(inferred_from, 'event') = 'event'
            order by event_time
        ) = 1 as is_first_of_kind
    from with_context
),

per_action as (
    select
        action,
        is_authorized,
        count(distinct event_id) as action_events
    from flagged
    group by all
),

grouped as (
    select
        action,
        resource_arn,
        is_authorized,
        denied_action,
        denied_resource,
        denied_by,
        is_explicit_deny,
        count(*) filter (where is_first) as events,
        min(event_time) as first_seen_at,
        max(event_time) as last_seen_at,
        list_sort(
            list(distinct event_source || ' ' || event_name || ' ' || inferred_from)
                filter (where coalesce(inferred_from, 'event') <> 'event')
        ) as inferred_from,
        count(*) filter (where is_first_of_kind and coalesce(inferred_from, 'event') = 'event')
            as own_events,
        list_sort(list(distinct event_source || ' ' || event_name)) as calls,
        list_sort(list(distinct aws_region) filter (where aws_region is not null)) as regions,
        list_sort(
            list(distinct invoked_by || ' ' || coalesce(aws_region, ''))
                filter (where invoked_by is not null)
        ) as invoked_by,
        count(*) filter (where is_first and invoked_by is null) as direct_events,
        list_sort(list(distinct vpc_endpoint_id) filter (where vpc_endpoint_id is not null))
            as vpc_endpoints,
        count(*) filter (where is_first and vpc_endpoint_id is null) as events_outside_vpce
    from flagged
    group by all
),

final as (
    select
        grouped.*,
        per_action.action_events
    from grouped
    inner join per_action using (action, is_authorized)
)

select * from final
order by action, resource_arn nulls first, is_authorized desc, denied_by nulls first
