-- name: sensitive_actions
-- description: Successful calls that change who can do what or hide activity (IAM policies, principals, credentials and trust, role passing, resource policies and sharing, KMS key destruction, Organizations, logging and detection turned off) and every call an unauthenticated caller made (public reads and, worse, public writes), one row per event and sensitive action, with the category and why.
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only this account.
-- param: category varchar optional Only this category (iam_policy_change, iam_principal_created, iam_credentials, trust_policy_change, identity_provider_change, role_passing, resource_policy_change, resource_shared, kms_key_destruction, organizations_change, logging_disabled, logging_changed, detection_disabled, anonymous_read, anonymous_write); an unknown one is an error.
-- param: allow_principals varchar optional Known automation to leave out: comma-separated principal or caller ARNs, '*' matching any run of characters (arn:aws:iam::111122223333:role/deploy-*).
-- columns: event_time, account_id, principal_arn, caller_arn, category, action, resource_arn, reason, detail, event_source, event_name, source_ip, user_agent, access_key_id, event_id

-- The sensitive set is defined by IAM action, not by event name: event_actions maps every event
-- name that needs an action to it (Lambda's versioned names, PutAdvancedEventSelectors ->
-- cloudtrail:PutEventSelectors, ...) and adds the actions a call needs but never logs
-- (iam:PassRole from a role parameter), so one row here covers them all.
-- An anonymous caller (principal 'anonymous', userIdentity.accountId ANONYMOUS_PRINCIPAL) holds no
-- credentials: whatever it did succeed at, a resource policy or ACL grants to everyone. Its
-- reads are anonymous_read, anything else (Write, Permissions management, Tagging, or an action
-- the catalogue does not know) anonymous_write.
-- Only calls without an error: a denied call changed nothing (authorization_failures lists it),
-- and an error after authorization (EntityTemporarilyUnmodifiable, a dry run, a missing entity)
-- means the caller held the permission but the change did not happen (used_actions counts it).
--
-- The Spark SQL of sensitive_actions.sql (the Spark engine reads this file; DuckDB never does):
-- the same query, written by hand where DuckDB's SQL has no Spark translation that means the
-- same (an error() for a misspelt category, glob patterns, JSON text made one line). Change both.

with

sensitive as (
    -- detail_path: the request parameter shown as evidence ('$' for the whole request);
    -- detail_like: when set, only calls whose parameter matches it count (a share that adds an
    -- account, not one that removes it; GuardDuty switched off, not on).
    select * from values
    ('iam:AttachUserPolicy', 'iam_policy_change', 'attaches a managed policy to a user', '$.policyArn', null),
    ('iam:AttachRolePolicy', 'iam_policy_change', 'attaches a managed policy to a role', '$.policyArn', null),
    ('iam:AttachGroupPolicy', 'iam_policy_change', 'attaches a managed policy to a group', '$.policyArn', null),
    ('iam:DetachUserPolicy', 'iam_policy_change', 'detaches a managed policy from a user', '$.policyArn', null),
    ('iam:DetachRolePolicy', 'iam_policy_change', 'detaches a managed policy from a role', '$.policyArn', null),
    ('iam:DetachGroupPolicy', 'iam_policy_change', 'detaches a managed policy from a group', '$.policyArn', null),
    ('iam:PutUserPolicy', 'iam_policy_change', 'writes an inline policy of a user', '$.policyDocument', null),
    ('iam:PutRolePolicy', 'iam_policy_change', 'writes an inline policy of a role', '$.policyDocument', null),
    ('iam:PutGroupPolicy', 'iam_policy_change', 'writes an inline policy of a group', '$.policyDocument', null),
    ('iam:DeleteUserPolicy', 'iam_policy_change', 'deletes an inline policy of a user', '$.policyName', null),
    ('iam:DeleteRolePolicy', 'iam_policy_change', 'deletes an inline policy of a role', '$.policyName', null),
    ('iam:DeleteGroupPolicy', 'iam_policy_change', 'deletes an inline policy of a group', '$.policyName', null),
    ('iam:CreatePolicyVersion', 'iam_policy_change', 'writes a new version of a managed policy (in force at once with setAsDefault)', '$.policyDocument', null),
    ('iam:SetDefaultPolicyVersion', 'iam_policy_change', 'puts another version of a managed policy in force', '$.versionId', null),
    ('iam:PutUserPermissionsBoundary', 'iam_policy_change', 'sets the permissions boundary of a user', '$.permissionsBoundary', null),
    ('iam:PutRolePermissionsBoundary', 'iam_policy_change', 'sets the permissions boundary of a role', '$.permissionsBoundary', null),
    ('iam:DeleteUserPermissionsBoundary', 'iam_policy_change', 'removes the permissions boundary of a user', null, null),
    ('iam:DeleteRolePermissionsBoundary', 'iam_policy_change', 'removes the permissions boundary of a role', null, null),
    ('iam:AddUserToGroup', 'iam_policy_change', 'adds a user to a group: it gains the group''s policies', '$.groupName', null),
    ('iam:RemoveUserFromGroup', 'iam_policy_change', 'removes a user from a group', '$.groupName', null),
    ('sso:CreateAccountAssignment', 'iam_policy_change', 'gives an Identity Center user or group a permission set in an account', '$.principalId', null),
    ('sso:AttachManagedPolicyToPermissionSet', 'iam_policy_change', 'attaches a managed policy to an Identity Center permission set', '$.managedPolicyArn', null),
    ('sso:AttachCustomerManagedPolicyReferenceToPermissionSet', 'iam_policy_change', 'attaches a customer managed policy to an Identity Center permission set', '$.customerManagedPolicyReference', null),
    ('sso:PutInlinePolicyToPermissionSet', 'iam_policy_change', 'writes the inline policy of an Identity Center permission set', '$.inlinePolicy', null),
    ('sso:PutPermissionsBoundaryToPermissionSet', 'iam_policy_change', 'sets the permissions boundary of an Identity Center permission set', '$.permissionsBoundary', null),
    ('iam:CreateUser', 'iam_principal_created', 'creates an IAM user', '$.userName', null),
    ('iam:CreateRole', 'iam_principal_created', 'creates a role; its trust policy says who can assume it', '$.assumeRolePolicyDocument', null),
    ('iam:CreateAccessKey', 'iam_credentials', 'creates a long-term access key', '$.userName', null),
    ('iam:UpdateAccessKey', 'iam_credentials', 'reactivates an access key', '$.status', 'Active'),
    ('iam:CreateLoginProfile', 'iam_credentials', 'gives a user a console password', '$.userName', null),
    ('iam:UpdateLoginProfile', 'iam_credentials', 'changes a user''s console password', '$.userName', null),
    ('iam:UploadSSHPublicKey', 'iam_credentials', 'adds an SSH key for CodeCommit', '$.userName', null),
    ('iam:UploadSigningCertificate', 'iam_credentials', 'adds a signing certificate to a user', '$.userName', null),
    ('iam:CreateServiceSpecificCredential', 'iam_credentials', 'creates a service-specific password', '$.serviceName', null),
    ('iam:DeactivateMFADevice', 'iam_credentials', 'turns off a user''s MFA device', '$.serialNumber', null),
    ('iam:DeleteVirtualMFADevice', 'iam_credentials', 'deletes a virtual MFA device', '$.serialNumber', null),
    ('sts:GetFederationToken', 'iam_credentials', 'issues federated-user credentials that outlive deleting the caller''s access key', '$.policy', null),
    ('iam:UpdateAssumeRolePolicy', 'trust_policy_change', 'rewrites who can assume a role', '$.policyDocument', null),
    ('iam:CreateOpenIDConnectProvider', 'identity_provider_change', 'trusts a new OIDC identity provider', '$.url', null),
    ('iam:AddClientIDToOpenIDConnectProvider', 'identity_provider_change', 'adds an audience to an OIDC identity provider', '$.clientID', null),
    ('iam:UpdateOpenIDConnectProviderThumbprint', 'identity_provider_change', 'changes the certificates an OIDC identity provider is trusted by', '$.thumbprintList', null),
    ('iam:CreateSAMLProvider', 'identity_provider_change', 'trusts a new SAML identity provider', '$.name', null),
    ('iam:UpdateSAMLProvider', 'identity_provider_change', 'replaces the metadata of a SAML identity provider', null, null),
    ('rolesanywhere:CreateTrustAnchor', 'identity_provider_change', 'trusts a certificate authority to hand out role credentials (IAM Roles Anywhere)', '$.name', null),
    ('rolesanywhere:UpdateTrustAnchor', 'identity_provider_change', 'changes a certificate authority trusted by IAM Roles Anywhere', '$.name', null),
    ('rolesanywhere:CreateProfile', 'identity_provider_change', 'lets IAM Roles Anywhere certificates assume roles', '$.roleArns', null),
    ('rolesanywhere:UpdateProfile', 'identity_provider_change', 'changes which roles IAM Roles Anywhere certificates can assume', '$.roleArns', null),
    ('iam:PassRole', 'role_passing', 'passes a role to a service, which then acts with the role''s permissions', null, null),
    ('lambda:AddPermission', 'resource_policy_change', 'lets another principal invoke or manage a Lambda function', '$.principal', null),
    ('lambda:AddLayerVersionPermission', 'resource_policy_change', 'shares a Lambda layer version', '$.principal', null),
    ('s3:PutBucketPolicy', 'resource_policy_change', 'replaces a bucket policy', '$.bucketPolicy', null),
    ('s3:DeleteBucketPolicy', 'resource_policy_change', 'deletes a bucket policy (and any deny in it)', null, null),
    ('s3:PutBucketAcl', 'resource_policy_change', 'replaces a bucket ACL', '$', null),
    ('sqs:AddPermission', 'resource_policy_change', 'lets other accounts use a queue', '$.aWSAccountIds', null),
    ('sqs:SetQueueAttributes', 'resource_policy_change', 'replaces a queue policy', '$.attributes.Policy', '%'),
    ('sns:AddPermission', 'resource_policy_change', 'lets other accounts use a topic', '$.aWSAccountId', null),
    ('sns:SetTopicAttributes', 'resource_policy_change', 'replaces a topic policy', '$.attributeName', 'Policy'),
    ('secretsmanager:PutResourcePolicy', 'resource_policy_change', 'replaces a secret''s resource policy', '$.resourcePolicy', null),
    ('ecr:SetRepositoryPolicy', 'resource_policy_change', 'replaces a container repository policy', '$.policyText', null),
    ('kms:PutKeyPolicy', 'resource_policy_change', 'replaces a KMS key policy: who can use and manage the key', '$.policy', null),
    ('ec2:ModifyImageAttribute', 'resource_shared', 'shares an AMI with another account or everyone', '$.launchPermission.add.items', '[{%'),
    ('ec2:ModifySnapshotAttribute', 'resource_shared', 'shares an EBS snapshot with another account or everyone', '$.createVolumePermission.add.items', '[{%'),
    ('rds:ModifyDBSnapshotAttribute', 'resource_shared', 'shares an RDS snapshot with another account or everyone', '$.valuesToAdd', '["%'),
    ('rds:ModifyDBClusterSnapshotAttribute', 'resource_shared', 'shares an RDS cluster snapshot with another account or everyone', '$.valuesToAdd', '["%'),
    ('kms:ScheduleKeyDeletion', 'kms_key_destruction', 'schedules a KMS key for deletion: what it encrypts becomes unreadable', '$.pendingWindowInDays', null),
    ('kms:DisableKey', 'kms_key_destruction', 'disables a KMS key: what it encrypts is unreadable until enabled', null, null),
    ('kms:DeleteImportedKeyMaterial', 'kms_key_destruction', 'deletes the imported material of a KMS key', null, null),
    ('organizations:LeaveOrganization', 'organizations_change', 'takes the account out of its organization and its SCPs', null, null),
    ('organizations:RemoveAccountFromOrganization', 'organizations_change', 'removes an account from the organization and its SCPs', '$.accountId', null),
    ('organizations:AttachPolicy', 'organizations_change', 'attaches an organization policy (SCP, ...)', '$.policyId', null),
    ('organizations:DetachPolicy', 'organizations_change', 'detaches an organization policy (SCP, ...)', '$.policyId', null),
    ('organizations:UpdatePolicy', 'organizations_change', 'rewrites an organization policy (SCP, ...)', '$.content', null),
    ('organizations:DeletePolicy', 'organizations_change', 'deletes an organization policy', '$.policyId', null),
    ('organizations:DisablePolicyType', 'organizations_change', 'turns off a policy type (SCPs, ...) for a root', '$.policyType', null),
    ('organizations:MoveAccount', 'organizations_change', 'moves an account to another OU, under other SCPs', '$.destinationParentId', null),
    ('organizations:RegisterDelegatedAdministrator', 'organizations_change', 'makes an account delegated administrator of a service', '$.servicePrincipal', null),
    ('organizations:DeregisterDelegatedAdministrator', 'organizations_change', 'removes a delegated administrator', '$.servicePrincipal', null),
    ('organizations:DisableAWSServiceAccess', 'organizations_change', 'turns off a service''s organization-wide access (often a security service)', '$.servicePrincipal', null),
    ('cloudtrail:StopLogging', 'logging_disabled', 'stops a trail', '$.name', null),
    ('cloudtrail:DeleteTrail', 'logging_disabled', 'deletes a trail', '$.name', null),
    ('cloudtrail:StopEventDataStoreIngestion', 'logging_disabled', 'stops a CloudTrail Lake event data store', null, null),
    ('cloudtrail:DeleteEventDataStore', 'logging_disabled', 'deletes a CloudTrail Lake event data store', null, null),
    ('ec2:DeleteFlowLogs', 'logging_disabled', 'deletes VPC flow logs', '$.DeleteFlowLogsRequest.FlowLogId', null),
    ('route53resolver:DeleteResolverQueryLogConfig', 'logging_disabled', 'deletes a DNS query logging configuration', '$.resolverQueryLogConfigId', null),
    ('route53resolver:DisassociateResolverQueryLogConfig', 'logging_disabled', 'stops DNS query logging for a VPC', '$.resourceId', null),
    ('cloudtrail:PutEventSelectors', 'logging_changed', 'changes which events a trail records (can drop management events)', '$', null),
    ('cloudtrail:UpdateTrail', 'logging_changed', 'changes where and what a trail logs', '$', null),
    ('guardduty:DeleteDetector', 'detection_disabled', 'deletes a GuardDuty detector', '$.detectorId', null),
    ('guardduty:UpdateDetector', 'detection_disabled', 'disables a GuardDuty detector', '$.enable', 'false'),
    ('guardduty:DisassociateFromMasterAccount', 'detection_disabled', 'takes the account out of its GuardDuty administrator''s view', null, null),
    ('guardduty:DisassociateFromAdministratorAccount', 'detection_disabled', 'takes the account out of its GuardDuty administrator''s view', null, null),
    ('guardduty:DisassociateMembers', 'detection_disabled', 'stops GuardDuty findings of member accounts reaching the administrator', '$.accountIds', null),
    ('guardduty:DeleteMembers', 'detection_disabled', 'removes member accounts from GuardDuty', '$.accountIds', null),
    ('guardduty:StopMonitoringMembers', 'detection_disabled', 'stops GuardDuty monitoring of member accounts', '$.accountIds', null),
    ('guardduty:CreateFilter', 'detection_disabled', 'creates a GuardDuty rule that archives findings as they arrive', '$.action', 'ARCHIVE'),
    ('guardduty:UpdateFilter', 'detection_disabled', 'makes a GuardDuty rule archive findings as they arrive', '$.action', 'ARCHIVE'),
    ('guardduty:CreateIPSet', 'detection_disabled', 'adds a GuardDuty trusted IP list: no findings for those addresses', '$.location', null),
    ('guardduty:UpdateIPSet', 'detection_disabled', 'changes a GuardDuty trusted IP list: no findings for those addresses', '$.location', null),
    ('config:StopConfigurationRecorder', 'detection_disabled', 'stops AWS Config recording', '$.configurationRecorderName', null),
    ('config:DeleteConfigurationRecorder', 'detection_disabled', 'deletes the AWS Config recorder', '$.configurationRecorderName', null),
    ('config:DeleteDeliveryChannel', 'detection_disabled', 'deletes the AWS Config delivery channel', '$.deliveryChannelName', null),
    ('securityhub:DisableSecurityHub', 'detection_disabled', 'turns off Security Hub', null, null),
    ('access-analyzer:DeleteAnalyzer', 'detection_disabled', 'deletes an IAM Access Analyzer analyzer', '$.analyzerName', null)
    as sensitive (action, category, reason, detail_path, detail_like)
),

chosen_category as (
    -- a misspelt category must not read as "nothing sensitive happened"
    -- (cast: an optional parameter left out is bound as Spark's untyped NULL)
    select
        case
            when :category is null
                or array_contains(
                    collect_list(category) || array('anonymous_read', 'anonymous_write'),
                    cast(:category as string)
                )
                then :category
            else raise_error(
                'unknown category ' || :category || ' (known: '
                || array_join(
                    array_sort(
                        array_distinct(
                            collect_list(category) || array('anonymous_read', 'anonymous_write')
                        )
                    ),
                    ', '
                )
                || ')'
            )
        end as category
    from sensitive
),

-- Each pattern as an anchored regular expression, its text quoted (\Q...\E) but for glob's
-- wildcards: * any run of characters, ? one character. Spark SQL has no GLOB.
allowed as (
    select
        '^\\Q'
        || replace(replace(trim(pattern), '*', '\\E.*\\Q'), '?', '\\E.\\Q')
        || '\\E$' as pattern
    from explode(split(coalesce(:allow_principals, ''), ',')) as patterns(pattern)
    where trim(pattern) <> ''
),

authorized as (
    select
        event_id,
        recipient_account_id,
        event_time,
        principal_arn,
        action,
        resource_arn,
        inferred_from
    from event_actions
    where is_authorized
        and error_code is null
        and (:since is null or event_time >= :since)
        and (:until is null or event_time < :until)
        and (:account_id is null or recipient_account_id = :account_id)
),

flagged as (
    select
        authorized.*,
        sensitive.category,
        sensitive.reason,
        sensitive.detail_path,
        sensitive.detail_like
    from authorized
    inner join sensitive on sensitive.action = authorized.action
    union all
    select
        authorized.*,
        case
            when iam_actions.access_level in ('Read', 'List') then 'anonymous_read'
            else 'anonymous_write'
        end as category,
        case
            when iam_actions.access_level in ('Read', 'List')
                then 'an unauthenticated caller read it: a resource policy or ACL makes it public'
            else 'an unauthenticated caller changed it: a resource policy or ACL lets anyone write'
        end as reason,
        '$' as detail_path,
        null as detail_like
    from authorized
    left join iam_actions on iam_actions.action = authorized.action
    where authorized.principal_arn = 'anonymous'
),

calls as (
    select
        event_id,
        recipient_account_id,
        event_source,
        event_name,
        user_identity_arn,
        user_identity_access_key_id,
        source_ip_address,
        user_agent,
        request_parameters
    from events
    -- only the sensitive calls' rows: the wide columns are read for those alone
    where event_id in (select flagged.event_id from flagged)
        and error_code is null
        and (:since is null or event_time >= :since)
        and (:until is null or event_time < :until)
        and (:account_id is null or recipient_account_id = :account_id)
),

matched as (
    select
        flagged.event_time,
        flagged.recipient_account_id as account_id,
        flagged.principal_arn,
        calls.user_identity_arn as caller_arn,
        flagged.category,
        flagged.action,
        flagged.resource_arn,
        case
            when flagged.inferred_from is null or flagged.inferred_from = 'event'
                then flagged.reason
            else flagged.reason || ' (' || flagged.inferred_from || ')'
        end as reason,
        get_json_object(calls.request_parameters, flagged.detail_path) as raw_detail,
        flagged.detail_like,
        calls.event_source,
        calls.event_name,
        calls.source_ip_address as source_ip,
        calls.user_agent,
        calls.user_identity_access_key_id as access_key_id,
        flagged.event_id
    from flagged
    inner join calls
        on calls.event_id = flagged.event_id
        and calls.recipient_account_id is not distinct from flagged.recipient_account_id
),

final as (
    select
        matched.event_time,
        matched.account_id,
        matched.principal_arn,
        matched.caller_arn,
        matched.category,
        matched.action,
        matched.resource_arn,
        matched.reason,
        -- policy documents arrive as pretty-printed JSON text: one line reads better. The
        -- whitespace between JSON tokens goes (strings are matched whole and kept), as DuckDB's
        -- json() writes it; Spark's own to_json(parse_json()) would also sort the keys.
        case
            when try_parse_json(matched.raw_detail) is not null
                then regexp_replace(matched.raw_detail, '("(?:[^"\\\\]|\\\\.)*")|\\s+', '$1')
            else matched.raw_detail
        end as detail,
        matched.event_source,
        matched.event_name,
        matched.source_ip,
        matched.user_agent,
        matched.access_key_id,
        matched.event_id
    from matched
    cross join chosen_category
    where (chosen_category.category is null or matched.category = chosen_category.category)
        and (matched.detail_like is null or matched.raw_detail like matched.detail_like)
        and not exists (
            select 1
            from allowed
            where matched.principal_arn rlike allowed.pattern
                or matched.caller_arn rlike allowed.pattern
        )
)

select * from final
order by event_time, event_id, action, resource_arn
