-- name: kept_rows
-- description: the rows of the day that are no duplicates, per source URI (after duplicate_rows)
-- columns: source_uri, rows

select
    source_uri,
    count(*) as rows
from _marked
where not is_duplicate
group by source_uri
