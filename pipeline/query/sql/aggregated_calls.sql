-- name: aggregated_calls
-- description: per USER_ACTIONS summary of one principal, the calls of each API it names, and whether the summary counts any error
-- columns: event_id, account_id, window_start, window_end, event_source, aws_region, principal, principal_account, principal_kind, principal_name, event_name, calls, has_errors
--
-- A USER_ACTIONS record counts one principal's calls (primaryDimension userIdentity, one
-- statistic) and breaks them down by other dimensions: eventName, errorCode, ... The breakdowns
-- are not crossed, so an error cannot be pinned on one API: a summary that counts any error
-- (an errorCode other than none) is no evidence that its calls were authorized. A summary of
-- several principals cannot say which called what, and is left out.

with

records as (
    select
        event_id,
        recipient_account_id as account_id,
        event_time as window_start,
        window_end,
        event_source,
        aws_region,
        summary,
        json_extract(summary, '$.primaryDimension.statistics') as principals
    from aggregated_events
    where template = 'USER_ACTIONS'
),

one_principal as (
    select
        * exclude (principals),
        principals -> 0 ->> 'name' as principal,
        coalesce(json_extract(summary, '$.details'), '[]') as details
    from records
    where json_array_length(principals) = 1
),

dimensions as (
    select
        one_principal.* exclude (details),
        detail ->> 'dimension' as dimension,
        coalesce(json_extract(detail, '$.statistics'), '[]') as statistics
    -- cast(json(...) as varchar[]): each element's JSON text; the form Spark's translation
    -- (from_json(..., 'array<string>')) reads the same way (Spark has no JSON type)
    from one_principal,
        unnest(cast(json(details) as varchar[])) as t(detail)
),

statistics as (
    select
        dimensions.* exclude (statistics),
        statistic ->> 'name' as name,
        try_cast(statistic ->> 'value' as bigint) as value
    from dimensions,
        unnest(cast(json(statistics) as varchar[])) as t(statistic)
),

errors as (
    select
        event_id,
        account_id,
        bool_or(coalesce(lower(name), 'null') not in ('null', 'none', '')) as has_errors
    from statistics
    where dimension = 'errorCode'
    group by all
),

final as (
    select
        statistics.event_id,
        statistics.account_id,
        window_start,
        window_end,
        event_source,
        aws_region,
        principal,
        nullif(split_part(principal, ':', 5), '') as principal_account,
        case
            when principal like 'arn:%:iam::%:role/%' or principal like 'arn:%:sts::%:assumed-role/%'
                then 'role'
            when principal like 'arn:%:iam::%:user/%' then 'user'
        end as principal_kind,
        case
            when principal like 'arn:%:sts::%:assumed-role/%'
                then regexp_extract(principal, 'assumed-role/([^/]+)/', 1)
            else regexp_extract(principal, '[^/]+$')
        end as principal_name,
        name as event_name,
        value as calls,
        coalesce(errors.has_errors, false) as has_errors
    from statistics
    left join errors
        on errors.event_id = statistics.event_id
        and errors.account_id = statistics.account_id
    where dimension = 'eventName'
)

select * from final
