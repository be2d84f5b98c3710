-- name: staged_actions_kept
-- description: an actions file the workers wrote, without the rows of its events file's duplicates (after duplicate_rows)
-- param: events_file varchar the events data file it mirrors
-- param: actions_file varchar the actions file
-- columns: the event_actions table's columns in their order
--
-- A data file never holds one event twice (the workers keep its first copy), so an event's key
-- names its action rows alone.

select actions.* exclude (file_row_number)
from read_parquet($actions_file, file_row_number = true, hive_partitioning = false) as actions
anti join (
    select
        event_id,
        account_key
    from _marked
    where filename = $events_file
        and is_duplicate
) as duplicates
    on duplicates.event_id = actions.event_id
    and duplicates.account_key = coalesce(actions.recipient_account_id, '')
order by actions.file_row_number
