-- name: staged_hours
-- description: staged rows per hour, to cut a run's commit into slices of bounded size
-- param: staged varchar[] the run's staging files
-- columns: hour, n

select date_trunc('hour', event_time) as hour, count(*) as n
from read_parquet($staged)
group by 1
order by 1
