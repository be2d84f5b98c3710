-- name: identity_paths
-- description: Per principal and path (human, deployer, workload, aws_service, other_account, anonymous, unclassified): events, sessions, who created the sessions, session-name families, user agents, caller accounts and the reasons; the events add up to the window's events.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only events received by this account.
-- columns: account_id, principal_arn, identity_types, path, events, sessions, session_sources, session_name_families, source_accounts, user_agents, reasons, first_seen, last_seen, events_by_day

-- A path is how the credentials behind one event came to be, which tells what kind of actor holds
-- them. Every event of the window gets exactly one path, so one row is (receiving account,
-- principal, path) and the rows' events add up to the events of the window. The closed list:
--
--   human          a person: console sign-in or console session, SAML or Identity Center sign-in,
--                  an Identity Center user behind the session (userIdentity.onBehalfOf, the
--                  person named in session_sources as identity_center:USER_ID), an Identity
--                  Center (aws-reserved/sso.amazonaws.com) role, root, an MFA session,
--                  a browser, an IAM user who signs in to the console, a session created by SAML
--                  or named after an e-mail address
--   deployer       CI/CD: a deploy tool's user agent (Terraform, CDK, CloudFormation, Pulumi, SAM,
--                  Serverless, CodeBuild), a call CloudFormation makes for the caller, a session
--                  created by web identity from a CI provider (GitHub Actions, GitLab, CircleCI,
--                  Bitbucket, Terraform Cloud, Buildkite, Azure DevOps, Spacelift) or assumed by
--                  CodeBuild, CodePipeline, CodeDeploy or CloudFormation, a GitHubActions or
--                  AWSCodeBuild-* session name, that provider's own sign-in event
--   workload       code running on AWS compute: a session assumed by EC2 (instance profile),
--                  Lambda, ECS tasks, EKS pods, Glue, SageMaker, App Runner or Step Functions, or
--                  by EKS web identity (IRSA); ec2RoleDelivery credentials; an i-*, awslambda_* or
--                  32-hex (ECS task) session name; a Lambda or ECS runtime user agent
--   aws_service    AWS acting: an AWSService identity, a service event without identity type, a
--                  service-linked role (aws-service-role/), a role assumed by any other service
--   other_account  another account's credentials: the caller's account differs from the account
--                  that received the event, or the role session was created by a principal of
--                  another account
--   anonymous      no credentials at all: an unauthenticated request (userIdentity.accountId
--                  ANONYMOUS_PRINCIPAL, principal_arn 'anonymous'), such as a public-bucket read
--   unclassified   none of the above; the reason says what was seen (a long-lived access key of
--                  a user who never signs in to the console, an SDK's botocore-session-* or
--                  aws-go-sdk-* session whose Assume* event is not in the lake, ...)
--
-- Rules are tried in this order and the first that applies decides: AWS service; anonymous;
-- other account (the caller, then the session's creator); deploy-tool user agent; human evidence on the event;
-- the session's creator; session-name and user-agent patterns; unclassified.
--
-- A role session's creator is the AssumeRole, AssumeRoleWithSAML or AssumeRoleWithWebIdentity
-- event that returned its credentials: matched by access key id, else by role and session name
-- (the latest such event at most 12 hours, the longest session, before the call). A session
-- created by a principal of the same account takes that caller's own path (one level; the
-- caller's own creator is not followed).
--
-- sessions counts distinct access key ids (role sessions, IAM users' keys, console sessions).
-- source_accounts are the accounts the credentials came from: the session creator's, else the
-- caller's.
-- session_sources names the creators: service:NAME, oidc:SUBJECT, saml:NAME, principal:ARN (the
-- caller's user or role) or account:ID (only the account is logged); for the federated sign-in
-- events themselves, the subject signing in; identity_center:USER_ID for the Identity Center user
-- a session acts for (onBehalfOf).
-- session_name_families groups role session names: i-* (EC2 instance id), awslambda_*,
-- {32 hex} (ECS task id), *@domain (e-mail), digits and UUIDs replaced by * otherwise.
-- user_agents keeps each user agent's first product token (Terraform's after its APN prefix).
-- events_by_day splits the row's events by UTC day ({event_date, events}, oldest first; they add
-- up to events), for charts over time: each signature counts its events per day, so the split
-- never changes which path an event is on.

with

-- Rules read only what identifies the credentials and the client, so the window's events are
-- first grouped by those columns (a "signature": one per session, user agent and account, far
-- fewer than events) and each signature is classified once. The Assume* calls of the window and
-- of the 12 hours before it (where the window's sessions were created) are kept one per event.
signature_columns as not materialized (
    select
        event_id,
        event_time,
        event_name,
        event_source,
        error_code,
        request_parameters,
        response_elements,
        recipient_account_id,
        event_type = 'AwsConsoleSignIn' as is_console_sign_in,
        coalesce(event_source like 'sso%', false) as is_sso_source,
        user_identity_type,
        user_identity_arn,
        user_identity_principal_id,
        user_identity_account_id,
        user_identity_access_key_id,
        user_identity_user_name,
        user_identity_invoked_by,
        user_identity_identity_provider,
        on_behalf_of_user_id,
        session_credential_from_console,
        session_mfa_authenticated,
        principal_arn,
        -- a service's name stands here for AWS service identities; other callers' IPs are not
        -- read by any rule and would only multiply the signatures
        case
            when user_identity_type = 'AWSService' or user_identity_type is null
                then source_ip_address
        end as source_ip_address,
        user_agent,
        case
            when contains(user_identity, 'ec2RoleDelivery')
                then user_identity ->> '$.sessionContext.ec2RoleDelivery'
        end as ec2_role_delivery
    from events
    where ($since is null or event_time >= cast($since as timestamp) - interval 12 hours)
        and ($until is null or event_time < $until)
),

signatures as (
    select
        'window' as kind,
        * exclude (
            event_id,
            event_time,
            event_name,
            event_source,
            error_code,
            request_parameters,
            response_elements
        ),
        count(*) as events,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        -- each event's UTC day (histogram() would be smaller, but Spark SQL has none)
        list(cast(event_time as date)) as event_dates
    from signature_columns
    where ($since is null or event_time >= $since)
        and ($account_id is null or recipient_account_id = $account_id)
    group by all
),

-- The signatures' columns in their order, then what only an Assume* event has (the union below
-- matches columns by position: Spark SQL has no UNION BY NAME).
assumption_events as (
    select
        'assumption' as kind,
        * exclude (
            event_id,
            event_time,
            event_name,
            event_source,
            error_code,
            request_parameters,
            response_elements
        ),
        1 as events,
        event_time as first_seen,
        event_time as last_seen,
        cast(null as date[]) as event_dates,  -- an assumption is counted in its window row
        event_id,
        event_time,
        event_name,
        request_parameters,
        response_elements
    from signature_columns
    where event_source = 'sts.amazonaws.com'
        and event_name in ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity')
        and error_code is null
        and request_parameters ->> 'roleArn' is not null
),

scope as (
    select
        *,
        lower(coalesce(user_agent, '')) as agent,
        case
            when user_identity_type = 'AssumedRole'
                then coalesce(
                    nullif(regexp_extract(user_identity_principal_id, ':(.+)$', 1), ''),
                    nullif(regexp_extract(user_identity_arn, 'assumed-role/[^/]+/(.+)$', 1), '')
                )
        end as session_name
    from (
        select
            *,
            null as event_id,
            null as event_time,
            null as event_name,
            null as request_parameters,
            null as response_elements
        from signatures
        union all
        select * from assumption_events
    )
),

-- IAM users with a successful console sign-in anywhere in the lake are people's users.
console_users as (
    select distinct
        principal_arn
    from events
    where event_name = 'ConsoleLogin'
        and user_identity_type = 'IAMUser'
        and response_elements ->> 'ConsoleLogin' = 'Success'
),

named as (
    select
        scope.*,
        console_users.principal_arn is not null as is_console_user,
        case
            when session_name is null then null
            -- anchored regexp_matches: what regexp_full_match tests, in both engines' SQL
            when regexp_matches(session_name, '^(i-[0-9a-f]{8,17})$') then 'i-*'
            when starts_with(session_name, 'awslambda_') then 'awslambda_*'
            when regexp_matches(session_name, '^([0-9a-f]{32})$') then '{32 hex}'
            when regexp_matches(session_name, '^([^@]+@[^@]+\.[^@]+)$')
                then '*@' || split_part(session_name, '@', 2)
            else regexp_replace(
                regexp_replace(
                    session_name,
                    '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
                    '*',
                    'g'
                ),
                '[0-9]+',
                '*',
                'g'
            )
        end as session_name_family,
        regexp_matches(
            coalesce(user_identity_identity_provider, ''),
            'token\.actions\.githubusercontent\.com|gitlab|circleci|bitbucket|app\.terraform\.io'
            || '|buildkite|vstoken\.dev\.azure\.com|spacelift'
        ) as is_ci_provider,
        coalesce(user_identity_identity_provider, '') like '%oidc.eks.%' as is_eks_provider
    from scope
    left join console_users
        on console_users.principal_arn = scope.principal_arn
        and scope.user_identity_type = 'IAMUser'
),

-- What the event itself shows: three groups of (path, reason) rules; in each, the first
-- rule that applies decides.
direct as (
    select
        named.*,
        case
            when user_identity_type = 'AWSService'
                then {
                    'path': 'aws_service',
                    'reason': 'AWS service '
                        || coalesce(user_identity_invoked_by, source_ip_address, 'unnamed')
                        || ' calling as itself'
                }
            when user_identity_type is null and user_identity_invoked_by is not null
                then {
                    'path': 'aws_service',
                    'reason': 'event of ' || user_identity_invoked_by
                        || ' without identity type'
                }
            when principal_arn like '%:role/aws-service-role/%'
                then {'path': 'aws_service', 'reason': 'service-linked role'}
            when user_identity_account_id = 'ANONYMOUS_PRINCIPAL'
                then {
                    'path': 'anonymous',
                    'reason': 'unauthenticated request (ANONYMOUS_PRINCIPAL)'
                }
            when user_identity_account_id <> recipient_account_id
                then {
                    'path': 'other_account',
                    'reason': 'caller of account ' || user_identity_account_id
                        || ' in account ' || recipient_account_id
                }
        end as service_or_account_rule,
        case
            when regexp_matches(
                    agent,
                    'terraform|aws-cdk|cloudformation|pulumi|aws-sam-cli|serverless|codebuild'
                )
                then {
                    'path': 'deployer',
                    'reason': 'user agent of a deploy tool ('
                        || regexp_extract(
                            agent,
                            'terraform|aws-cdk|cloudformation|pulumi|aws-sam-cli|serverless'
                            || '|codebuild'
                        )
                        || ')'
                }
            when user_identity_invoked_by = 'cloudformation.amazonaws.com'
                then {'path': 'deployer', 'reason': 'call CloudFormation made for the caller'}
            when is_console_sign_in
                then {'path': 'human', 'reason': 'console sign-in'}
            when session_credential_from_console
                then {'path': 'human', 'reason': 'console session'}
            when user_identity_type = 'SAMLUser'
                then {'path': 'human', 'reason': 'SAML sign-in'}
            when user_identity_type = 'IdentityCenterUser'
                then {'path': 'human', 'reason': 'Identity Center user sign-in'}
            when on_behalf_of_user_id is not null
                then {
                    'path': 'human',
                    'reason': 'session on behalf of Identity Center user ' || on_behalf_of_user_id
                }
            when user_identity_type = 'Unknown' and is_sso_source
                then {'path': 'human', 'reason': 'Identity Center portal user'}
            when user_identity_type = 'Root'
                then {'path': 'human', 'reason': 'root user'}
            when principal_arn like '%:role/aws-reserved/sso.amazonaws.com/%'
                then {'path': 'human', 'reason': 'Identity Center permission set role'}
            when session_mfa_authenticated
                then {'path': 'human', 'reason': 'MFA-authenticated session'}
            when starts_with(agent, 'mozilla/')
                then {'path': 'human', 'reason': 'browser user agent'}
            when is_console_user
                then {'path': 'human', 'reason': 'IAM user who signs in to the console'}
        end as strong_rule,
        case
            when ec2_role_delivery is not null
                then {
                    'path': 'workload',
                    'reason': 'EC2 instance profile credentials (ec2RoleDelivery)'
                }
            when session_name_family = 'i-*'
                then {'path': 'workload', 'reason': 'session named after an EC2 instance'}
            when session_name_family = 'awslambda_*'
                then {'path': 'workload', 'reason': 'Lambda session name (awslambda_*)'}
            when session_name_family = '{32 hex}'
                then {'path': 'workload', 'reason': 'session named like an ECS task id'}
            when agent like '%exec-env/aws_lambda%'
                then {'path': 'workload', 'reason': 'Lambda runtime user agent'}
            when agent like '%exec-env/aws_ecs%'
                then {'path': 'workload', 'reason': 'ECS runtime user agent'}
            when session_name = 'GitHubActions'
                then {
                    'path': 'deployer',
                    'reason': 'GitHubActions session name (configure-aws-credentials)'
                }
            when session_name like 'AWSCodeBuild-%'
                then {'path': 'deployer', 'reason': 'CodeBuild session name'}
            when session_name_family like '*@%'
                then {'path': 'human', 'reason': 'session named after an e-mail address'}
            when user_identity_type = 'WebIdentityUser' and is_ci_provider
                then {
                    'path': 'deployer',
                    'reason': 'web identity sign-in from CI provider '
                        || user_identity_identity_provider
                }
            when user_identity_type = 'WebIdentityUser' and is_eks_provider
                then {'path': 'workload', 'reason': 'EKS service account sign-in (IRSA)'}
        end as pattern_rule
    from named
),

assumptions as (
    select
        event_id,
        event_time,
        event_name,
        user_identity_type,
        user_identity_arn,
        user_identity_account_id,
        user_identity_invoked_by,
        user_identity_user_name,
        user_identity_identity_provider,
        source_ip_address,
        principal_arn,
        is_ci_provider,
        is_eks_provider,
        request_parameters ->> 'roleArn' as role_arn,
        split_part(request_parameters ->> 'roleArn', ':', 5) as role_account_id,
        coalesce(
            nullif(
                regexp_extract(response_elements ->> '$.assumedRoleUser.arn', '[^/]+$'), ''
            ),
            request_parameters ->> 'roleSessionName'
        ) as session_name,
        response_elements ->> '$.credentials.accessKeyId' as access_key_id,
        coalesce(user_identity_invoked_by, source_ip_address) as service,
        case
            when user_identity_type = 'AWSService'
                then 'service:' || coalesce(user_identity_invoked_by, source_ip_address)
            when user_identity_type = 'WebIdentityUser'
                then 'oidc:' || coalesce(user_identity_user_name, user_identity_identity_provider)
            when user_identity_type = 'SAMLUser' then 'saml:' || user_identity_user_name
            when principal_arn is not null and user_identity_type <> 'AWSAccount'
                then 'principal:' || principal_arn
            when user_identity_account_id is not null then 'account:' || user_identity_account_id
        end as source,
        coalesce(service_or_account_rule, strong_rule, pattern_rule) as caller_rule
    from direct
    where kind = 'assumption'
),

-- What the session's creator says about the session.
creators as (
    select
        event_id,
        event_time,
        role_arn,
        session_name,
        access_key_id,
        user_identity_type,
        user_identity_account_id as caller_account_id,
        source,
        case
            when user_identity_account_id <> role_account_id
                then {
                    'path': 'other_account',
                    'reason': 'session created by ' || event_name || ' from account '
                        || user_identity_account_id
                        || case when source like 'account:%' then '' else ' by ' || source end
                }
            when user_identity_type = 'AWSService'
                and service in (
                    'ec2.amazonaws.com',
                    'lambda.amazonaws.com',
                    'edgelambda.amazonaws.com',
                    'ecs-tasks.amazonaws.com',
                    'pods.eks.amazonaws.com',
                    'glue.amazonaws.com',
                    'sagemaker.amazonaws.com',
                    'tasks.apprunner.amazonaws.com',
                    'states.amazonaws.com'
                )
                then {
                    'path': 'workload',
                    'reason': 'session created by ' || service || ' ('
                        || case service
                            when 'ec2.amazonaws.com' then 'EC2 instance profile'
                            when 'lambda.amazonaws.com' then 'Lambda execution role'
                            when 'edgelambda.amazonaws.com' then 'Lambda@Edge execution role'
                            when 'ecs-tasks.amazonaws.com' then 'ECS task'
                            when 'pods.eks.amazonaws.com' then 'EKS Pod Identity'
                            else 'a service running your code'
                        end
                        || ')'
                }
            when user_identity_type = 'AWSService'
                and service in (
                    'codebuild.amazonaws.com',
                    'codepipeline.amazonaws.com',
                    'codedeploy.amazonaws.com',
                    'cloudformation.amazonaws.com'
                )
                then {
                    'path': 'deployer',
                    'reason': 'session created by ' || service || ' (CI/CD service)'
                }
            when user_identity_type = 'AWSService'
                then {
                    'path': 'aws_service',
                    'reason': 'session created by ' || service || ' (a service role AWS uses)'
                }
            when user_identity_type = 'WebIdentityUser' and is_ci_provider
                then {
                    'path': 'deployer',
                    'reason': 'session created by web identity from CI provider '
                        || user_identity_identity_provider
                }
            when user_identity_type = 'WebIdentityUser' and is_eks_provider
                then {
                    'path': 'workload',
                    'reason': 'session created by EKS web identity (IRSA)'
                }
            when user_identity_type = 'SAMLUser'
                then {'path': 'human', 'reason': 'session created by SAML federation'}
            when principal_arn is not null and caller_rule is not null
                then {
                    'path': caller_rule.path,
                    'reason': 'session created by ' || principal_arn || ' ('
                        || caller_rule.reason || ')'
                }
        end as rule
    from assumptions
),

-- One creator per set of credentials: the two copies of a cross-account AssumeRole return the
-- same access key; the caller's copy names the caller, the role account's copy only its account.
-- (A ranked subquery, not QUALIFY: Spark SQL has none.)
creators_by_key as (
    select * exclude (recency)
    from (
        select
            *,
            row_number() over (
                partition by access_key_id
                order by user_identity_type = 'AWSAccount', event_time, event_id
            ) as recency
        from creators
        where access_key_id is not null
    )
    where recency = 1
),

creators_by_name as (
    select * exclude (recency)
    from (
        select
            *,
            row_number() over (
                partition by role_arn, session_name, event_time
                order by user_identity_type = 'AWSAccount', event_id
            ) as recency
        from creators
        where session_name is not null
    )
    where recency = 1
),

windowed as (
    select
        recipient_account_id,
        events,
        event_dates,
        first_seen,
        last_seen,
        user_identity_type,
        user_identity_account_id,
        user_identity_access_key_id,
        user_identity_user_name,
        user_identity_identity_provider,
        on_behalf_of_user_id,
        principal_arn,
        user_agent,
        session_name,
        session_name_family,
        service_or_account_rule,
        strong_rule,
        pattern_rule
    from direct
    where kind = 'window'
),

-- The latest creator by role and session name at or before each signature's first event: an
-- as-of join, written as a window over the creators and the signatures of each role session in
-- time order (a creator before a call of the same instant), since Spark SQL has no ASOF JOIN.
latest_by_name as (
    select
        principal_arn,
        session_name,
        first_seen,
        is_call,
        last_value(creator ignore nulls) over (
            partition by principal_arn, session_name
            order by first_seen, is_call
            rows between unbounded preceding and current row
        ) as creator
    from (
        select distinct
            principal_arn,
            session_name,
            first_seen,
            true as is_call,
            null as creator
        from windowed
        where principal_arn is not null and session_name is not null
        union all
        select
            role_arn as principal_arn,
            session_name,
            event_time as first_seen,
            false as is_call,
            {
                'event_time': event_time,
                'source': source,
                'caller_account_id': caller_account_id,
                'rule': rule
            } as creator
        from creators_by_name
    )
),

-- A creator counts when it precedes the call by at most 12 hours, whichever way it was found.
linked as (
    select
        windowed.*,
        case
            when by_key.event_time <= windowed.first_seen
                and by_key.event_time > windowed.first_seen - interval 12 hours
                then {
                    'source': by_key.source,
                    'account_id': by_key.caller_account_id,
                    'rule': by_key.rule
                }
            when by_name.creator.event_time > windowed.first_seen - interval 12 hours
                then {
                    'source': by_name.creator.source,
                    'account_id': by_name.creator.caller_account_id,
                    'rule': by_name.creator.rule
                }
        end as creator
    from windowed
    left join creators_by_key as by_key
        on windowed.user_identity_type = 'AssumedRole'
        and by_key.access_key_id = windowed.user_identity_access_key_id
    left join latest_by_name as by_name
        on by_name.is_call
        and by_name.principal_arn = windowed.principal_arn
        and by_name.session_name = windowed.session_name
        and by_name.first_seen = windowed.first_seen
),

classified as (
    select
        *,
        coalesce(
            service_or_account_rule,
            case when creator.rule.path = 'other_account' then creator.rule end,
            strong_rule,
            creator.rule,
            pattern_rule,
            {
                'path': 'unclassified',
                'reason': case
                    when user_identity_type = 'IAMUser'
                        and user_identity_access_key_id like 'AKIA%'
                        then 'long-lived access key of an IAM user '
                            || 'who does not sign in to the console'
                    when creator.source is not null
                        then 'session created by ' || creator.source
                            || ', which does not tell what uses it'
                    when user_identity_type = 'AssumedRole'
                        then 'role session ' || coalesce(session_name_family, '(unnamed)')
                            || ' whose Assume* event is not in the lake'
                    else 'no evidence for '
                        || coalesce(user_identity_type, 'an event without identity type')
                end
            }
        ) as decision,
        case
            when user_identity_type = 'SAMLUser'
                then 'saml:' || coalesce(user_identity_user_name, user_identity_identity_provider)
            when user_identity_type = 'WebIdentityUser'
                then 'oidc:' || coalesce(user_identity_user_name, user_identity_identity_provider)
            when on_behalf_of_user_id is not null then 'identity_center:' || on_behalf_of_user_id
            else creator.source
        end as session_source,
        case
            when user_agent = 'AWS Internal' or user_agent like '%.amazonaws.com' then user_agent
            else nullif(
                regexp_extract(
                    regexp_replace(user_agent, '^\[?(APN/\S+ )?(HashiCorp/\S+ )?', ''),
                    '^[^ ,\[\]()]+'
                ),
                ''
            )
        end as client
    from linked
),

days as (
    select
        recipient_account_id,
        principal_arn,
        path,
        event_date,
        count(*) as events
    from (
        select
            recipient_account_id,
            principal_arn,
            decision.path as path,
            unnest(event_dates) as event_date
        from classified
    )
    group by recipient_account_id, principal_arn, path, event_date
),

days_per_row as (
    select
        recipient_account_id,
        principal_arn,
        path,
        -- oldest first: a struct sorts by its first field (list ... order by loses its order in
        -- Spark SQL)
        list_sort(list({'event_date': event_date, 'events': events})) as events_by_day
    from days
    group by recipient_account_id, principal_arn, path
),

per_row as (
    select
        recipient_account_id as account_id,
        principal_arn,
        coalesce(
            list_sort(
                list(distinct user_identity_type) filter (where user_identity_type is not null)
            ),
            []
        ) as identity_types,
        decision.path as path,
        cast(sum(events) as bigint) as events,
        count(distinct user_identity_access_key_id) as sessions,
        coalesce(
            list_sort(list(distinct session_source) filter (where session_source is not null)),
            []
        ) as session_sources,
        coalesce(
            list_sort(
                list(distinct session_name_family) filter (where session_name_family is not null)
            ),
            []
        ) as session_name_families,
        coalesce(
            list_sort(
                list(distinct coalesce(creator.account_id, user_identity_account_id)) filter (
                    where coalesce(creator.account_id, user_identity_account_id) is not null
                        and decision.path <> 'anonymous'
                )
            ),
            []
        ) as source_accounts,
        coalesce(list_sort(list(distinct client) filter (where client is not null)), [])
            as user_agents,
        list_sort(list(distinct decision.reason)) as reasons,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from classified
    group by recipient_account_id, principal_arn, decision.path
),

final as (
    select
        per_row.*,
        days_per_row.events_by_day
    from per_row
    left join days_per_row
        on days_per_row.recipient_account_id = per_row.account_id
        and days_per_row.principal_arn is not distinct from per_row.principal_arn
        and days_per_row.path = per_row.path
)

select * from final
order by account_id, principal_arn nulls last, path
