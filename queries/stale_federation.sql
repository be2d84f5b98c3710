-- name: stale_federation
-- description: SAML and OIDC identity providers of the latest captures that no successful AssumeRoleWithSAML or AssumeRoleWithWebIdentity used in the window, with the roles that trust them, their last successful sign-in anywhere in the lake and the window's failed sign-ins.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only this account.
-- columns: account_id, provider_arn, kind, url, audiences, created_at, trusting_roles, last_used_at, failed_sign_ins, reason

-- A provider is used when a sign-in through it succeeded (no errorCode): a failed one is counted,
-- never taken for use. Sign-ins are logged in the account of the role assumed, which is the
-- provider's account.
-- How an event names its provider:
--   AssumeRoleWithSAML: requestParameters.principalArn, the provider's ARN (userIdentity only
--     has the NameQualifier, a hash).
--   AssumeRoleWithWebIdentity: userIdentity.identityProvider, else responseElements.provider:
--     the provider's ARN, or the token's issuer (the URL host and path, without https://) when
--     AWS names it that way; the issuer matches the provider's URL (or the part of its ARN
--     after oidc-provider/) in the same account.
-- trusting_roles are the roles of the account's latest IAM snapshot whose trust policy lets
-- the provider in (iam_role_trusts: its ARN as a Federated principal of an Allow statement);
-- null when no snapshot of the account's roles is loaded, so unknown, never "none".
-- A listing that failed is a row whose ARN is the pattern it would have listed (ending in
-- a wildcard): no provider, so left out.

with

providers as (
    select
        account_id,
        provider_arn,
        kind,
        url,
        audiences,
        cast(created_at as timestamp) as created_at
    from iam_identity_providers
    where provider_arn not like '%/*'
        and ($account_id is null or account_id = $account_id)
),

-- The names a sign-in can give a provider: its ARN, and an OIDC provider's issuer.
provider_names as (
    select
        account_id,
        provider_arn,
        provider_arn as provider_name
    from providers
    union all
    select
        account_id,
        provider_arn,
        'issuer:' || lower(
            rtrim(coalesce(url, regexp_extract(provider_arn, 'oidc-provider/(.+)$', 1)), '/')
        ) as provider_name
    from providers
    where kind = 'oidc'
),

sign_ins as (
    select
        recipient_account_id as account_id,
        event_time,
        error_code is null as is_success,
        case
            when event_name = 'AssumeRoleWithSAML' then request_parameters ->> 'principalArn'
            else coalesce(user_identity_identity_provider, response_elements ->> 'provider')
        end as named_provider
    from events
    where event_source = 'sts.amazonaws.com'
        and event_name in ('AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity')
        and ($account_id is null or recipient_account_id = $account_id)
),

named_sign_ins as (
    select
        account_id,
        event_time,
        is_success,
        case
            when named_provider like 'arn:%' then named_provider
            else 'issuer:' || lower(rtrim(regexp_replace(named_provider, '^https://', ''), '/'))
        end as provider_name
    from sign_ins
    where named_provider is not null
),

provider_use as (
    select
        provider_names.provider_arn,
        max(named_sign_ins.event_time) filter (where named_sign_ins.is_success) as last_used_at,
        count(*) filter (
            where named_sign_ins.is_success
                and ($since is null or named_sign_ins.event_time >= $since)
                and ($until is null or named_sign_ins.event_time < $until)
        ) as window_sign_ins,
        count(*) filter (
            where not named_sign_ins.is_success
                and ($since is null or named_sign_ins.event_time >= $since)
                and ($until is null or named_sign_ins.event_time < $until)
        ) as failed_sign_ins
    from provider_names
    inner join named_sign_ins
        on named_sign_ins.account_id = provider_names.account_id
        and named_sign_ins.provider_name = provider_names.provider_name
    group by provider_names.provider_arn
),

-- Accounts whose latest snapshot says which roles exist (and so which trust nothing).
snapshot_accounts as (
    select distinct account_id
    from iam_role_trusts
),

trusting as (
    select
        providers.provider_arn,
        list_sort(list(iam_role_trusts.role_arn)) as trusting_roles
    from providers
    inner join iam_role_trusts
        on iam_role_trusts.account_id = providers.account_id
        and list_contains(iam_role_trusts.federated_principals, providers.provider_arn)
    group by providers.provider_arn
),

-- Accounts with events in the window: for the others no sign-in could have been seen.
coverage as (
    select distinct recipient_account_id as account_id
    from events
    where ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

judged as (
    select
        providers.account_id,
        providers.provider_arn,
        providers.kind,
        providers.url,
        providers.audiences,
        providers.created_at,
        case
            when snapshot_accounts.account_id is not null
                then coalesce(trusting.trusting_roles, [])
        end as trusting_roles,
        provider_use.last_used_at,
        coalesce(provider_use.failed_sign_ins, 0) as failed_sign_ins,
        coverage.account_id is not null as has_coverage
    from providers
    left join provider_use on provider_use.provider_arn = providers.provider_arn
    left join trusting on trusting.provider_arn = providers.provider_arn
    left join snapshot_accounts on snapshot_accounts.account_id = providers.account_id
    left join coverage on coverage.account_id = providers.account_id
    where coalesce(provider_use.window_sign_ins, 0) = 0
),

final as (
    select
        account_id,
        provider_arn,
        kind,
        url,
        audiences,
        created_at,
        trusting_roles,
        last_used_at,
        failed_sign_ins,
        case
            when not has_coverage
                then 'the lake holds no events of its account in the window: a sign-in could not be seen'
            when last_used_at is not null and $until is not null and last_used_at >= $until
                then 'no sign-in in the window; the last one is after it, on '
                    || cast(cast(last_used_at as date) as varchar)
            when last_used_at is not null
                then 'no sign-in in the window; the last one was on '
                    || cast(cast(last_used_at as date) as varchar)
            when $since is not null and created_at >= $since
                then 'created in the window (on ' || cast(cast(created_at as date) as varchar)
                    || ') and not signed in through since'
            when trusting_roles is null
                then 'nothing ever signed in through it in the lake (no IAM snapshot of its account says which roles trust it)'
            when array_length(trusting_roles) = 0
                then 'no role trusts it and nothing ever signed in through it in the lake: it can be deleted'
            when array_length(trusting_roles) = 1
                then 'a role trusts it but nothing ever signed in through it in the lake'
            else cast(array_length(trusting_roles) as varchar)
                || ' roles trust it but nothing ever signed in through it in the lake'
        end
        || case
            when failed_sign_ins = 1 then ' (a failed sign-in in the window)'
            when failed_sign_ins > 1
                then ' (' || cast(failed_sign_ins as varchar) || ' failed sign-ins in the window)'
            else ''
        end as reason
    from judged
)

select * from final
order by account_id, provider_arn
