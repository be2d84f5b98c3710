"""The events table: one row per CloudTrail event, column names after tailpipe's aws_cloudtrail_log.

What analysts filter on is flattened into typed columns; the free-form objects are kept as JSON
text so that nothing in an event is lost (``extra_fields`` holds any top-level field that is not
modelled, and any modelled value that could not be coerced to its column's type).

Columns come in groups by where the decoder finds them; each entry is (column, CloudTrail field,
type, description), and the table's column order is the groups' order. Groups added after the
first release come last (``DELEGATION``): Iceberg appends a new column to a table's schema, so
new lakes and upgraded lakes keep one column order.

``principal_arn`` is never invented: an anonymous caller (``userIdentity.accountId``
``ANONYMOUS_PRINCIPAL``, how CloudTrail logs unauthenticated requests such as public-bucket
reads) gets :data:`ANONYMOUS`, a sentinel that is no ARN.
"""

from __future__ import annotations

import pyarrow as pa

# Naive timestamps that are UTC by contract: DuckDB needs no time-zone extension and never
# shifts them to the machine's local zone; the Iceberg type is `timestamp`.
TS = pa.timestamp("us")
S = pa.string()
B = pa.bool_()

Spec = tuple[str, str, pa.DataType, str]

ANONYMOUS_ACCOUNT = "ANONYMOUS_PRINCIPAL"
ANONYMOUS = "anonymous"

IDENTITY: tuple[Spec, ...] = (
    ("event_id", "eventID", S, "eventID: with recipient_account_id, the event's identity"),
    ("event_time", "eventTime", TS, "eventTime (UTC)"),
)
TOP_LEVEL: tuple[Spec, ...] = (
    ("recipient_account_id", "recipientAccountId", S, "the account that received the event"),
    ("event_source", "eventSource", S, "e.g. s3.amazonaws.com"),
    ("event_name", "eventName", S, "as logged (version suffixes kept)"),
    ("event_type", "eventType", S, "AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ..."),
    ("event_category", "eventCategory", S, "Management, Data, Insight, NetworkActivity"),
    ("aws_region", "awsRegion", S, "kept verbatim even when it is not a real region"),
    ("source_ip_address", "sourceIPAddress", S, "an IP address, or a service name"),
    ("user_agent", "userAgent", S, "userAgent"),
    ("error_code", "errorCode", S, "null for successful calls"),
    ("error_message", "errorMessage", S, "errorMessage"),
    ("read_only", "readOnly", B, "readOnly"),
    ("management_event", "managementEvent", B, "managementEvent"),
    ("event_version", "eventVersion", S, "eventVersion"),
    ("request_id", "requestID", S, "requestID"),
    ("shared_event_id", "sharedEventID", S, "links the copies of a cross-account event"),
    ("api_version", "apiVersion", S, "apiVersion"),
    ("vpc_endpoint_id", "vpcEndpointId", S, "vpcEndpointId"),
    ("vpc_endpoint_account_id", "vpcEndpointAccountId", S, "vpcEndpointAccountId"),
    ("session_credential_from_console", "sessionCredentialFromConsole", B, "console session"),
)
USER_IDENTITY: tuple[Spec, ...] = (
    ("user_identity_type", "type", S, "userIdentity.type: Root, IAMUser, AssumedRole, ..."),
    ("user_identity_arn", "arn", S, "userIdentity.arn"),
    ("user_identity_principal_id", "principalId", S, "userIdentity.principalId"),
    ("user_identity_account_id", "accountId", S, "userIdentity.accountId"),
    ("user_identity_access_key_id", "accessKeyId", S, "userIdentity.accessKeyId"),
    ("user_identity_user_name", "userName", S, "userIdentity.userName"),
    ("user_identity_invoked_by", "invokedBy", S, "userIdentity.invokedBy"),
    ("user_identity_identity_provider", "identityProvider", S, "SAML or web identity provider"),
    ("user_identity_credential_id", "credentialId", S, "userIdentity.credentialId"),
)
SESSION_ISSUER: tuple[Spec, ...] = (
    ("session_issuer_type", "type", S, "sessionContext.sessionIssuer.type"),
    ("session_issuer_arn", "arn", S, "sessionContext.sessionIssuer.arn"),
    ("session_issuer_name", "userName", S, "sessionContext.sessionIssuer.userName"),
    ("session_issuer_account_id", "accountId", S, "sessionContext.sessionIssuer.accountId"),
    ("session_issuer_principal_id", "principalId", S, "sessionContext.sessionIssuer.principalId"),
)
SESSION: tuple[Spec, ...] = (
    ("session_mfa_authenticated", "attributes.mfaAuthenticated", B, "MFA used for the session"),
    ("session_creation_date", "attributes.creationDate", TS, "session creation time (UTC)"),
    ("session_source_identity", "sourceIdentity", S, "sessionContext.sourceIdentity"),
    ("web_id_federation_provider", "webIdFederationData.federatedProvider", S, "web identity IdP"),
    (
        "principal_arn",
        "",
        S,
        "derived: the principal holding the permissions (role ARN for role sessions, user, root, "
        "service name for AWS services, identity provider for federated sign-ins, 'anonymous' "
        "for unauthenticated callers)",
    ),
)
JSON_OBJECTS: tuple[Spec, ...] = (
    ("user_identity", "userIdentity", S, "userIdentity, whole, as JSON"),
    ("request_parameters", "requestParameters", S, "as JSON"),
    ("response_elements", "responseElements", S, "as JSON"),
    ("additional_event_data", "additionalEventData", S, "as JSON"),
    ("resources", "resources", S, "as JSON"),
    ("service_event_details", "serviceEventDetails", S, "as JSON"),
    ("tls_details", "tlsDetails", S, "as JSON"),
    ("edge_device_details", "edgeDeviceDetails", S, "as JSON"),
)
LINEAGE: tuple[Spec, ...] = (
    ("extra_fields", "", S, "unmodelled top-level fields and uncoercible values, as JSON"),
    ("source_uri", "", S, "the file or object the event was read from"),
)

# eventVersion 1.11 and later: who stands behind a session, and for what it was issued.
DELEGATION: tuple[Spec, ...] = (
    (
        "on_behalf_of_user_id",
        "onBehalfOf.userId",
        S,
        "the Identity Center user behind the session (an identity store user id)",
    ),
    (
        "on_behalf_of_identity_store_arn",
        "onBehalfOf.identityStoreArn",
        S,
        "the identity store holding that user",
    ),
    (
        "in_scope_of_source_arn",
        "inScopeOf.sourceArn",
        S,
        "the resource a service obtained the credentials for",
    ),
    (
        "in_scope_of_source_account",
        "inScopeOf.sourceAccount",
        S,
        "the account owning that resource",
    ),
    (
        "in_scope_of_issuer_type",
        "inScopeOf.issuerType",
        S,
        "the kind of resource the credentials were issued to, e.g. AWS::EC2::Instance",
    ),
    (
        "in_scope_of_credentials_issued_to",
        "inScopeOf.credentialsIssuedTo",
        S,
        "the resource the credentials were issued to, e.g. an EC2 instance ARN",
    ),
    (
        "invoked_by_delegate_account_id",
        "invokedByDelegate.accountId",
        S,
        "the account of a product provider acting with temporary delegated access",
    ),
    (
        "session_assumed_root",
        "sessionContext.assumedRoot",
        B,
        "a centralised root session (sts:AssumeRoot)",
    ),
)

SPECS: tuple[Spec, ...] = (
    IDENTITY
    + TOP_LEVEL
    + USER_IDENTITY
    + SESSION_ISSUER
    + SESSION
    + JSON_OBJECTS
    + LINEAGE
    + DELEGATION
)
COLUMN_NAMES: tuple[str, ...] = tuple(s[0] for s in SPECS)
EVENTS_SCHEMA = pa.schema([pa.field(name, typ) for name, _, typ, _ in SPECS])
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = tuple((n, t, d) for n, _, t, d in SPECS)
