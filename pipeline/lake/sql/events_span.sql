-- name: events_span
-- description: the time span, accounts and regions of the events table's data files
-- param: files varchar[] the table's current data files
-- columns: first_event_at, last_event_at, accounts, regions

select
    min(event_time) as first_event_at,
    max(event_time) as last_event_at,
    count(distinct recipient_account_id) as accounts,
    count(distinct aws_region) as regions
from read_parquet($files, hive_partitioning = false)
