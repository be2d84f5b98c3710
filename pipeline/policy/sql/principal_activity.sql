-- name: principal_activity
-- description: the principal's events in the whole lake and in the window
-- param: principal_arn varchar the role or user
-- param: since timestamp optional start of the window
-- param: until timestamp optional end of the window, exclusive
-- columns: events, events_in_window, first_event_at, last_event_at

select
    count(*) as events,
    count(*) filter (
        where ($since is null or event_time >= $since) and ($until is null or event_time < $until)
    ) as events_in_window,
    min(event_time) as first_event_at,
    max(event_time) as last_event_at
from events
where principal_arn = $principal_arn
