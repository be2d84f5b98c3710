-- name: staged_rows_kept
-- description: a data file the workers wrote, without its duplicate rows, in its own order (after duplicate_rows)
-- param: file varchar the data file
-- columns: the table's columns in their order

select staged.* exclude (file_row_number)
from read_parquet($file, file_row_number = true, hive_partitioning = false) as staged
where staged.file_row_number not in (
    select file_row_number
    from _marked
    where filename = $file
        and is_duplicate
)
order by staged.file_row_number
