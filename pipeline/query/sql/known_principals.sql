-- name: known_principals
-- description: the known_principals view: the unique id of each role (AROA...) and user (AIDA...) the lake's events name, with its ARN (one per id): what names a caller that another account's copy of a call logs only by its id
-- columns: principal_id, principal_arn

with

named as (
    select
        session_issuer_principal_id as principal_id,
        session_issuer_arn as principal_arn
    from events
    where session_issuer_principal_id like 'AROA%'
    union all
    select
        user_identity_principal_id as principal_id,
        principal_arn
    from events
    where user_identity_type = 'IAMUser'
        and user_identity_principal_id like 'AIDA%'
),

final as (
    select
        principal_id,
        min(principal_arn) as principal_arn
    from named
    where principal_arn is not null
    group by principal_id
)

select * from final
