-- name: resource_access
-- description: Who used each resource that can hold a resource-based policy (S3 bucket, KMS key, SQS queue, SNS topic, Lambda function, Secrets Manager secret, ECR repository) per resource: principals and their accounts, other accounts, AWS services, anonymous callers, actions, calls and denied calls, and what the latest capture holds of its policy.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only resources of this account.
-- param: service varchar optional Only this service's resources (s3, kms, sqs, sns, lambda, secretsmanager, ecr).
-- columns: account_id, service, resource_arn, principals, external_principals, external_accounts, aws_services, anonymous_calls, actions, calls, denied, external_calls, service_calls, first_seen, last_seen, policy_state, reason

-- One row per resource the window's calls named (resource_uses: an S3 object's calls count for
-- its bucket, a function version's for its function), whoever called:
--   principals           users and roles (a session counts for its role) of any account;
--   external_principals  those of another account than the resource's;
--   external_accounts    the accounts those belong to;
--   aws_services         AWS services acting with their own service principal (CloudTrail
--                        reading its bucket's ACL, EventBridge invoking a function);
--   anonymous_calls      unauthenticated calls (see anonymous_access).
-- A call is counted once however many IAM actions it needed; denied counts the calls that
-- failed authorization. policy_state is what the latest capture of the account says:
-- 'policy' (it has one), 'no policy', 'unreadable: CODE', or 'not captured'. A secret named
-- by its name matches the captured ARN that adds Secrets Manager's 6-character suffix.

with

uses as (
    select *
    from resource_uses
    where ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
        and ($account_id is null or resource_account_id = $account_id)
        and ($service is null or service = $service)
),

per_resource as (
    select
        resource_account_id as account_id,
        service,
        resource_arn,
        coalesce(
            list_sort(list(distinct caller_arn) filter (where caller_kind = 'principal')), []
        ) as principals,
        coalesce(
            list_sort(
                list(distinct caller_arn) filter (
                    where caller_kind = 'principal'
                        and caller_account_id is distinct from resource_account_id
                )
            ),
            []
        ) as external_principals,
        coalesce(
            list_sort(
                list(distinct caller_account_id) filter (
                    where caller_kind = 'principal'
                        and caller_account_id is distinct from resource_account_id
                        and caller_account_id is not null
                )
            ),
            []
        ) as external_accounts,
        coalesce(
            list_sort(list(distinct caller_arn) filter (where caller_kind = 'service')), []
        ) as aws_services,
        count(distinct call_id) filter (where caller_kind = 'anonymous') as anonymous_calls,
        list_sort(list(distinct action)) as actions,
        count(distinct call_id) as calls,
        count(distinct call_id) filter (where is_authorized = false) as denied,
        count(distinct call_id) filter (
            where caller_kind = 'principal'
                and caller_account_id is distinct from resource_account_id
        ) as external_calls,
        count(distinct call_id) filter (where caller_kind = 'service') as service_calls,
        min(event_time) as first_seen,
        max(event_time) as last_seen
    from uses
    group by resource_account_id, service, resource_arn
),

captured as (
    select
        resource_arn,
        account_id,
        case
            when error_code is not null then 'unreadable: ' || error_code
            when policy is null then 'no policy'
            else 'policy'
        end as policy_state
    from iam_resource_policies
),

covered_accounts as (
    select distinct
        account_id
    from iam_resource_policies
),

matched as (
    select
        per_resource.account_id,
        per_resource.resource_arn,
        min(captured.policy_state) as policy_state
    from per_resource
    inner join captured
        on captured.account_id = per_resource.account_id
        and (
            captured.resource_arn = per_resource.resource_arn
            or (
                per_resource.service = 'secretsmanager'
                and regexp_replace(captured.resource_arn, '-[A-Za-z0-9]{6}$', '')
                    = per_resource.resource_arn
            )
        )
    group by per_resource.account_id, per_resource.resource_arn
),

located as (
    select
        per_resource.*,
        coalesce(
            matched.policy_state,
            case when covered_accounts.account_id is not null then 'no policy' end,
            'not captured'
        ) as policy_state
    from per_resource
    left join matched
        on matched.account_id = per_resource.account_id
        and matched.resource_arn = per_resource.resource_arn
    left join covered_accounts
        on covered_accounts.account_id = per_resource.account_id
),

final as (
    select
        account_id,
        service,
        resource_arn,
        principals,
        external_principals,
        external_accounts,
        aws_services,
        anonymous_calls,
        actions,
        calls,
        denied,
        external_calls,
        service_calls,
        first_seen,
        last_seen,
        policy_state,
        case
            when anonymous_calls > 0
                then 'unauthenticated callers used it: check that its policy means to be public'
            when array_length(external_accounts) > 0
                then 'used from ' || array_length(external_accounts)
                    || ' other account(s): its policy should admit exactly '
                    || array_to_string(external_principals, ', ')
            when array_length(aws_services) > 0
                then 'used by AWS services (' || array_to_string(aws_services, ', ')
                    || '): their grants need confused-deputy conditions'
            else 'used only by principals of its own account: their identity policies suffice'
        end as reason
    from located
)

select * from final
order by account_id, service, resource_arn
