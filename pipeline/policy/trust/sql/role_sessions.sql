-- name: role_sessions
-- description: the role's sessions seen acting in the window, one row per session name and access key
-- param: account varchar the role's account id
-- param: name varchar the role's name, lower-cased
-- param: since timestamp optional start of the window (null: the first event)
-- param: until timestamp optional end of the window, exclusive (null: after the last event)
-- columns: session_name, access_key_id, web_identity_provider, has_ec2_role_delivery, first_seen, last_seen, events

with

acting as (
    select
        user_identity_arn,
        user_identity_access_key_id,
        web_id_federation_provider,
        additional_event_data,
        session_issuer_arn,
        event_time
    from events
    where user_identity_type = 'AssumedRole'
        and session_issuer_arn like '%:role/%'
        and split_part(session_issuer_arn, ':', 5) = $account
        and lower(regexp_extract(session_issuer_arn, '[^/]+$')) = $name
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select
        regexp_extract(user_identity_arn, '[^/]+$') as session_name,
        user_identity_access_key_id as access_key_id,
        any_value(web_id_federation_provider) as web_identity_provider,
        bool_or(coalesce(additional_event_data like '%ec2RoleDelivery%', false))
            as has_ec2_role_delivery,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        count(*) as events
    from acting
    group by 1, 2
)

select * from final
order by session_name, access_key_id
