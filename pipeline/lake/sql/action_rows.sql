-- name: action_rows
-- description: action rows of the event_actions table, and how many an older mapping derived
-- param: files varchar[] the table's current data files
-- param: version varchar the installed mapping version
-- columns: action_rows, stale_action_rows

select
    count(*) as action_rows,
    count(*) filter (where mapping_version <> $version) as stale_action_rows
from read_parquet($files, hive_partitioning = false)
