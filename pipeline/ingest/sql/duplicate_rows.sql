-- name: duplicate_rows
-- description: marks each row the workers wrote for one day as kept or as a duplicate (an earlier copy in the run, in source order, or the day's table files hold its key), into the temporary table _marked
-- param: staged varchar[] the run's data files of the day, in source order (RUN-SEQ names)
-- param: existing varchar[] the day's data files in the table
-- param: start timestamp the day's first instant
-- param: end timestamp the next day's first instant
-- columns: filename, file_row_number, event_id, account_key, source_uri, is_duplicate
--
-- Only the key columns are read. Two different events that merely share a placeholder eventID
-- on different days are both kept: each day is marked on its own.

create or replace temp table _marked as

with staged as (
    select
        event_id,
        coalesce(recipient_account_id, '') as account_key,
        source_uri,
        filename,
        file_row_number
    from read_parquet($staged, filename = true, file_row_number = true, hive_partitioning = false)
),

existing as (
    select distinct
        event_id,
        coalesce(recipient_account_id, '') as account_key
    from read_parquet($existing, hive_partitioning = false)
    where event_time >= $start
        and event_time < $end
),

first_copies as (
    select
        event_id,
        account_key,
        min((filename, file_row_number)) as first_copy
    from staged
    group by all
),

final as (
    select
        staged.filename,
        staged.file_row_number,
        staged.event_id,
        staged.account_key,
        staged.source_uri,
        (staged.filename, staged.file_row_number) <> first_copies.first_copy
            or existing.event_id is not null as is_duplicate
    from staged
    inner join first_copies using (event_id, account_key)
    left join existing using (event_id, account_key)
)

select * from final
