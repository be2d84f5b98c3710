-- name: new_events
-- description: the staged events of one slice that neither an earlier copy in the run nor the table's day already holds, first copy kept
-- param: staged varchar[] the run's staging files of the slice's day
-- param: existing varchar[] the day's data files in the table (and the slices of the day this run wrote)
-- param: start timestamp the slice's first hour
-- param: end timestamp the end of the slice's last hour, exclusive
-- columns: the events table's columns in their order (staged.* less the dedup keys)
--
-- An event is (event_id, recipient_account_id) on the UTC day of its eventTime: the copies
-- CloudTrail delivers twice (organisation and account trails, re-sent files, overlapping
-- exports) share eventID and eventTime, so each day is deduplicated on its own, against the
-- day's files in the table and the slices of the day this run already wrote. Two different
-- events that merely share a placeholder eventID on different days are both kept.

with staged as (
    select *, coalesce(recipient_account_id, '') as account_key
    from read_parquet($staged, filename = true, file_row_number = true)
    where event_time >= $start and event_time < $end
),
existing as (
    select event_id, coalesce(recipient_account_id, '') as account_key
    from read_parquet($existing, hive_partitioning = false)
    where event_time >= $start and event_time < $end
),
first_copies as (
    select event_id, account_key, min((filename, file_row_number)) as first_copy
    from staged
    group by all
),
new_events as (
    select first_copies.first_copy
    from first_copies
    anti join existing
        on existing.event_id = first_copies.event_id
        and existing.account_key = first_copies.account_key
),
final as (
    select staged.* exclude (account_key, filename, file_row_number)
    from staged
    semi join new_events on new_events.first_copy = (staged.filename, staged.file_row_number)
)
select * from final
