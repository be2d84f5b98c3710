-- name: resource_uses
-- description: the resource_uses view: every call on a resource that can hold a resource-based policy (S3 bucket, KMS key, SQS queue, SNS topic, Lambda function, Secrets Manager secret, ECR repository), one row per call, IAM action and resource, by principals of any account, AWS services and anonymous callers
-- columns: call_id, event_id, recipient_account_id, event_time, aws_region, event_source, event_name, action, action_resource_arn, service, resource_arn, resource_account_id, caller_kind, caller_arn, caller_account_id, caller_evidence, via_service, source_arn, source_account, source_ip_address, vpc_endpoint_id, is_authorized, is_explicit_deny, denied_by, error_code
--
-- resource_arn is the resource whose policy decides: the bucket of an S3 object, a Lambda
-- function without its version or alias; action_resource_arn the resource the action named.
-- Calls on what holds no resource policy (an SNS subscription, a KMS alias) are left out.
-- caller_kind is
--   principal  a user, role (the role of a session), root or federated principal: the IAM
--              actions of event_actions;
--   service    an AWS service acting with its own service principal (userIdentity type
--              AWSService, e.g. CloudTrail reading its bucket's ACL): event_actions records
--              no action for them (MAPPING.md: not a permission of the caller), so the action
--              is the one the API needs (_service_api_actions, from the mapping) and the
--              resource is the one the event's resources name (for S3 the bucket of
--              requestParameters.bucketName). caller_arn is the service (invokedBy);
--              source_arn / source_account are the resource and account the service acted for
--              when the event logs them (inScopeOf, eventVersion 1.11), else null;
--   anonymous  an unauthenticated caller (accountId ANONYMOUS_PRINCIPAL).
-- A call across accounts is logged by both (same sharedEventID); it is one call (call_id) and
-- one row per action and resource, from the copy of the resource's account when the lake holds
-- it. When the resource's account only logs the caller's account (an AWSAccount identity),
-- caller_arn is taken from the caller account's copy, else from the principal id seen
-- elsewhere in the lake, else it is the account's root ARN; caller_evidence says which.
-- resource_account_id is the ARN's account, for S3 (whose ARNs name none) the bucket's
-- accountId in the event's resources, else the account that received the event.
-- via_service is the service a principal's call went through (invokedBy), for example S3
-- calling KMS with the caller's credentials.

with

action_rows as (
    select
        event_id,
        recipient_account_id,
        action,
        resource_arn as action_resource_arn,
        is_authorized,
        is_explicit_deny,
        denied_by,
        principal_arn
    from event_actions
    where classification = 'iam_action'
        and resource_arn is not null
        and split_part(resource_arn, ':', 3)
            in ('s3', 'kms', 'sqs', 'sns', 'lambda', 'secretsmanager', 'ecr')
),

principal_calls as (
    select
        events.event_id,
        events.recipient_account_id,
        events.event_time,
        events.aws_region,
        events.event_source,
        events.event_name,
        action_rows.action,
        action_rows.action_resource_arn,
        case
            when action_rows.principal_arn = 'anonymous' then 'anonymous'
            else 'principal'
        end as caller_kind,
        action_rows.principal_arn,
        events.user_identity_type,
        events.user_identity_principal_id,
        case
            when events.user_identity_account_id <> 'ANONYMOUS_PRINCIPAL'
                then events.user_identity_account_id
        end as caller_account_id,
        events.user_identity_invoked_by as via_service,
        cast(null as varchar) as source_arn,
        cast(null as varchar) as source_account,
        events.shared_event_id,
        events.source_ip_address,
        events.vpc_endpoint_id,
        coalesce(
            case when events.resources -> 0 ->> 'type' = 'AWS::S3::Bucket'
                then events.resources -> 0 ->> 'accountId' end,
            case when events.resources -> 1 ->> 'type' = 'AWS::S3::Bucket'
                then events.resources -> 1 ->> 'accountId' end
        ) as bucket_account_id,
        action_rows.is_authorized,
        action_rows.is_explicit_deny,
        action_rows.denied_by,
        events.error_code
    from action_rows
    inner join events
        on events.event_id = action_rows.event_id
        and events.recipient_account_id is not distinct from action_rows.recipient_account_id
),

service_events as (
    select
        *,
        case
            when event_source = 's3.amazonaws.com'
                and request_parameters ->> 'bucketName' is not null
                then 'arn:'
                    || case
                        when aws_region like 'us-gov-%' then 'aws-us-gov'
                        when aws_region like 'cn-%' then 'aws-cn'
                        else 'aws'
                    end
                    || ':s3:::' || (request_parameters ->> 'bucketName')
                    || coalesce('/' || (request_parameters ->> 'key'), '')
            else resources -> 0 ->> 'ARN'
        end as named_arn
    from events
    where user_identity_type = 'AWSService'
        and coalesce(event_type, 'AwsApiCall') = 'AwsApiCall'
),

service_calls as (
    select
        service_events.event_id,
        service_events.recipient_account_id,
        service_events.event_time,
        service_events.aws_region,
        service_events.event_source,
        service_events.event_name,
        api.action,
        service_events.named_arn as action_resource_arn,
        'service' as caller_kind,
        coalesce(service_events.user_identity_invoked_by, service_events.principal_arn)
            as principal_arn,
        service_events.user_identity_type,
        service_events.user_identity_principal_id,
        cast(null as varchar) as caller_account_id,
        cast(null as varchar) as via_service,
        service_events.in_scope_of_source_arn as source_arn,
        service_events.in_scope_of_source_account as source_account,
        service_events.shared_event_id,
        service_events.source_ip_address,
        service_events.vpc_endpoint_id,
        coalesce(
            case when service_events.resources -> 0 ->> 'type' = 'AWS::S3::Bucket'
                then service_events.resources -> 0 ->> 'accountId' end,
            case when service_events.resources -> 1 ->> 'type' = 'AWS::S3::Bucket'
                then service_events.resources -> 1 ->> 'accountId' end
        ) as bucket_account_id,
        -- The event logs whether the call was refused; which policy refused it is not known.
        service_events.error_code is null
            or service_events.error_code not in (
                'AccessDenied', 'AccessDeniedException', 'Forbidden', 'UnauthorizedAccess'
            ) as is_authorized,
        cast(null as boolean) as is_explicit_deny,
        cast(null as varchar) as denied_by,
        service_events.error_code
    from service_events
    inner join _service_api_actions as api
        on api.event_source = service_events.event_source
        and api.event_name = service_events.event_name
    where split_part(service_events.named_arn, ':', 3)
        in ('s3', 'kms', 'sqs', 'sns', 'lambda', 'secretsmanager', 'ecr')
),

calls as (
    select
        *,
        coalesce(
            nullif(split_part(action_resource_arn, ':', 5), ''),
            bucket_account_id,
            recipient_account_id
        ) as resource_account_id
    from (
        select * from principal_calls
        union all
        select * from service_calls
    )
),

located as (
    select
        *,
        coalesce(shared_event_id, event_id || '@' || coalesce(recipient_account_id, ''))
            as call_id,
        split_part(action_resource_arn, ':', 3) as service,
        case
            when split_part(action_resource_arn, ':', 3) = 's3'
                then regexp_extract(action_resource_arn, '^(arn:[^:]+:s3:::[^/]+)', 1)
            when split_part(action_resource_arn, ':', 3) = 'lambda'
                and split_part(action_resource_arn, ':', 6) = 'function'
                then regexp_extract(
                    action_resource_arn, '^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+)', 1
                )
            else action_resource_arn
        end as resource_arn
    from calls
),

-- The caller account's copy of the same call names the caller.
caller_copies as (
    select
        shared_event_id,
        min(principal_arn) as principal_arn
    from calls
    where shared_event_id is not null
        and user_identity_type <> 'AWSAccount'
        and caller_kind = 'principal'
    group by shared_event_id
),

resolved as (
    select
        located.*,
        case
            when located.user_identity_type is distinct from 'AWSAccount'
                or located.caller_kind <> 'principal'
                then located.principal_arn
            else coalesce(
                caller_copies.principal_arn, known_ids.principal_arn, located.principal_arn
            )
        end as caller_arn,
        case
            when located.caller_kind = 'service' then 'the event''s invokedBy'
            when located.caller_kind = 'anonymous' then 'an unauthenticated call'
            when located.user_identity_type is distinct from 'AWSAccount'
                then 'the event''s userIdentity'
            when caller_copies.principal_arn is not null
                then 'the caller account''s copy of the call (same sharedEventID)'
            when known_ids.principal_arn is not null
                then 'principal id ' || known_ids.principal_id || ' seen elsewhere in the lake'
            else 'only the caller''s account is logged'
        end as caller_evidence
    from located
    left join caller_copies
        on located.user_identity_type = 'AWSAccount'
        and located.caller_kind = 'principal'
        and caller_copies.shared_event_id = located.shared_event_id
    left join known_principals as known_ids
        on located.user_identity_type = 'AWSAccount'
        and located.caller_kind = 'principal'
        and known_ids.principal_id = split_part(located.user_identity_principal_id, ':', 1)
    -- Only what holds a resource policy: not an SNS subscription, a KMS alias, a Lambda layer.
    where regexp_matches(
        located.resource_arn,
        '^arn:[^:]+:(s3:::[^/]+|kms:[^:]*:[0-9]*:key/[^:/]+|(sqs|sns):[^:]*:[0-9]*:[^:/]+'
            || '|lambda:[^:]*:[0-9]*:function:[^:]+|secretsmanager:[^:]*:[0-9]*:secret:[^:]+'
            || '|ecr:[^:]*:[0-9]*:repository/.+)$'
    )
),

-- Of the copies of one call (same sharedEventID), the one the resource's account logged,
-- else one naming the caller, else the first account's. Only copies are ranked: sorting every
-- row of a large lake would cost more than the rest of the view.
kept_copies as (
    select
        shared_event_id,
        action,
        action_resource_arn,
        arg_min(
            recipient_account_id,
            case when recipient_account_id is not distinct from resource_account_id then 0 else 2 end
                + case when user_identity_type is distinct from 'AWSAccount' then 0 else 1 end
                || '@' || coalesce(recipient_account_id, '')
        ) as recipient_account_id
    from calls
    where shared_event_id is not null
    group by shared_event_id, action, action_resource_arn
),

deduplicated as (
    select
        resolved.*
    from resolved
    left join kept_copies
        on kept_copies.shared_event_id = resolved.shared_event_id
        and kept_copies.action = resolved.action
        and kept_copies.action_resource_arn = resolved.action_resource_arn
        and kept_copies.recipient_account_id is not distinct from resolved.recipient_account_id
    where resolved.shared_event_id is null
        or kept_copies.shared_event_id is not null
),

final as (
    select
        call_id,
        event_id,
        recipient_account_id,
        event_time,
        aws_region,
        event_source,
        event_name,
        action,
        action_resource_arn,
        service,
        resource_arn,
        resource_account_id,
        caller_kind,
        caller_arn,
        caller_account_id,
        caller_evidence,
        via_service,
        source_arn,
        source_account,
        source_ip_address,
        vpc_endpoint_id,
        is_authorized,
        is_explicit_deny,
        denied_by,
        error_code
    from deduplicated
)

select * from final
