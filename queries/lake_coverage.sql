-- name: lake_coverage
-- description: Which accounts, regions and UTC days the lake holds events of: one row per account, region and day from the window's first event day to its last, with the events and whether that region, or the whole account, delivered nothing that day (a gap).
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only events received by this account.
-- columns: account_id, aws_region, event_date, events, is_region_gap, is_account_gap

-- The days run from the first to the last day on which any account of the window has events,
-- the same for every account and region, so a row with no events is a day the lake holds
-- nothing for that place while others delivered: a trail stopped, a region disabled, a file
-- not yet ingested. A region is listed for an account once it has an event in the window.

with

window_events as (
    select
        recipient_account_id,
        aws_region,
        cast(event_time as date) as event_date
    from events
    where ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
        and ($account_id is null or recipient_account_id = $account_id)
),

per_day as (
    select
        recipient_account_id as account_id,
        coalesce(aws_region, '(none)') as aws_region,
        event_date,
        count(*) as events
    from window_events
    group by all
),

span as (
    select
        min(event_date) as first_day,
        max(event_date) as last_day
    from per_day
),

days as (
    -- the cast outside the unnest: Spark SQL takes no generator inside an expression
    select cast(day as date) as event_date
    from (
        select unnest(generate_series(first_day, last_day, interval 1 day)) as day
        from span
    )
),

places as (
    select distinct
        account_id,
        aws_region
    from per_day
),

account_days as (
    select distinct
        account_id,
        event_date
    from per_day
),

final as (
    select
        places.account_id,
        places.aws_region,
        days.event_date,
        coalesce(per_day.events, 0) as events,
        per_day.events is null as is_region_gap,
        account_days.account_id is null as is_account_gap
    from places
    cross join days
    left join per_day
        on per_day.account_id = places.account_id
        and per_day.aws_region = places.aws_region
        and per_day.event_date = days.event_date
    left join account_days
        on account_days.account_id = places.account_id
        and account_days.event_date = days.event_date
)

select * from final
order by account_id, aws_region, event_date
