-- name: action_coverage
-- description: Share of events, and of distinct source/name pairs, the mapping classified, per account.
-- param: since timestamp optional Start of the window (inclusive).
-- param: until timestamp optional End of the window (exclusive).
-- columns: recipient_account_id, events, events_classified, event_share, pairs, pairs_classified, pair_share

with

per_event as (
    select
        recipient_account_id,
        event_source,
        event_name,
        bool_and(classification <> 'unknown') as is_classified
    from event_actions
    where ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
    group by recipient_account_id, event_id, event_source, event_name
),

per_pair as (
    select
        recipient_account_id,
        event_source,
        event_name,
        bool_and(is_classified) as is_classified
    from per_event
    group by all
),

events as (
    select
        recipient_account_id,
        count(*) as events,
        count(*) filter (where is_classified) as events_classified
    from per_event
    group by all
),

pairs as (
    select
        recipient_account_id,
        count(*) as pairs,
        count(*) filter (where is_classified) as pairs_classified
    from per_pair
    group by all
),

final as (
    select
        events.recipient_account_id,
        events.events,
        events.events_classified,
        round(events.events_classified / events.events, 4) as event_share,
        pairs.pairs,
        pairs.pairs_classified,
        round(pairs.pairs_classified / pairs.pairs, 4) as pair_share
    from events
    join pairs on pairs.recipient_account_id is not distinct from events.recipient_account_id
)

select * from final
order by recipient_account_id
