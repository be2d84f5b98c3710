-- name: known_objects
-- description: which of the listed (uri, fingerprint) pairs earlier runs recorded as read
-- param: files varchar[] the object-record files
-- columns: uri, fingerprint

select distinct
    records.uri,
    records.fingerprint
from read_parquet($files) as records
inner join listed
    on listed.uri = records.uri
    and listed.fingerprint = records.fingerprint
