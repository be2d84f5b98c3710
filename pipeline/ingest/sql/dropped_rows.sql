-- name: dropped_rows
-- description: how many duplicate rows each data file of the day holds (after duplicate_rows)
-- columns: filename, rows

select
    filename,
    count(*) as rows
from _marked
where is_duplicate
group by filename
