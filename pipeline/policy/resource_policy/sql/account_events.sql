-- name: account_events
-- description: what the lake holds of one account: its events, and the event sources whose data events it holds (a data-event action of another source could not have been seen, so it is unknown, not unused)
-- param: account_id varchar the account
-- columns: events, data_event_sources

select
    count(*) as events,
    coalesce(
        list_sort(list(distinct event_source) filter (where event_category = 'Data')), []
    ) as data_event_sources
from events
where recipient_account_id = $account_id
