-- name: lake_organizations
-- description: the accounts the lake knows to be members of an AWS Organization: those whose events came from an organization trail's delivery files (AWSLogs/o-ORGID/ACCOUNT/...)
-- columns: organization_id, account_id

with

delivered as (
    select distinct
        source_uri
    from events
    where source_uri like '%/AWSLogs/o-%'
),

final as (
    select distinct
        regexp_extract(source_uri, '/AWSLogs/(o-[a-z0-9]{10,32})/([0-9]{12})/', 1)
            as organization_id,
        regexp_extract(source_uri, '/AWSLogs/(o-[a-z0-9]{10,32})/([0-9]{12})/', 2) as account_id
    from delivered
)

select * from final
where organization_id <> ''
order by organization_id, account_id
