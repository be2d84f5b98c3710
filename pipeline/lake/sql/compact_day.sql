-- name: compact_day
-- description: one day's data files merged, sorted by account and time so account filters prune row groups
-- param: files varchar[] the day's data files to merge
-- columns: the events table's columns in their order

select *
from read_parquet($files, hive_partitioning = false)
order by recipient_account_id, event_time, event_id
