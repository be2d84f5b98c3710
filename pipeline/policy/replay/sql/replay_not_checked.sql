-- name: replay_not_checked
-- description: the principal's calls in the window that are not replayed: denied when made (no policy change can break them)
-- param: principal_arn varchar the role or user
-- param: since timestamp optional start of the window
-- param: until timestamp optional end of the window, exclusive
-- columns: denied_calls

select count(distinct (event_id, recipient_account_id)) as denied_calls
from event_actions
where principal_arn = $principal_arn
    and classification = 'iam_action'
    and action is not null
    and not coalesce(is_authorized, true)
    and ($since is null or event_time >= $since)
    and ($until is null or event_time < $until)
