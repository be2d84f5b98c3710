-- name: stale_action_rows
-- description: action rows of the window derived by an older mapping than the installed one (the lake predates an upgrade)
-- param: principal_arn varchar the role or user
-- param: mapping_version varchar the installed mapping version
-- param: since timestamp optional start of the window
-- param: until timestamp optional end of the window, exclusive
-- columns: stale_rows

select count(*) as stale_rows
from event_actions
where principal_arn = $principal_arn
    and mapping_version <> $mapping_version
    and ($since is null or event_time >= $since)
    and ($until is null or event_time < $until)
