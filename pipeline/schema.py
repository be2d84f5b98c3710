"""The events table: one row per CloudTrail event, column names after tailpipe's aws_cloudtrail_log.

What analysts filter on is flattened into typed columns; the free-form objects are kept as JSON
text so that nothing in an event is lost (``extra_fields`` holds any top-level field that is not
modelled, and any modelled value that could not be coerced to its column's type).
"""

from __future__ import annotations

import pyarrow as pa

# Naive timestamps that are UTC by contract: DuckDB needs no time-zone extension and never
# shifts them to the machine's local zone; Iceberg type `timestamp`.
TS = pa.timestamp("us")

# (name, type, description). The order is the table's column order.
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("event_id", pa.string(), "eventID: with recipient_account_id, the event's identity"),
    ("recipient_account_id", pa.string(), "recipientAccountId: the account that received the event"),
    ("event_time", TS, "eventTime (UTC)"),
    ("event_version", pa.string(), "eventVersion"),
    ("event_source", pa.string(), "eventSource, e.g. s3.amazonaws.com"),
    ("event_name", pa.string(), "eventName, as logged (version suffixes kept)"),
    ("event_type", pa.string(), "eventType: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ..."),
    ("event_category", pa.string(), "eventCategory: Management, Data, Insight, NetworkActivity"),
    ("aws_region", pa.string(), "awsRegion, kept verbatim even when it is not a real region"),
    ("source_ip_address", pa.string(), "sourceIPAddress: an IP, or a service name"),
    ("user_agent", pa.string(), "userAgent"),
    ("error_code", pa.string(), "errorCode; null for successful calls"),
    ("error_message", pa.string(), "errorMessage"),
    ("read_only", pa.bool_(), "readOnly"),
    ("management_event", pa.bool_(), "managementEvent"),
    ("request_id", pa.string(), "requestID"),
    ("shared_event_id", pa.string(), "sharedEventID: links the copies of a cross-account event"),
    ("api_version", pa.string(), "apiVersion"),
    ("vpc_endpoint_id", pa.string(), "vpcEndpointId"),
    ("vpc_endpoint_account_id", pa.string(), "vpcEndpointAccountId"),
    ("session_credential_from_console", pa.bool_(), "sessionCredentialFromConsole"),
    ("user_identity_type", pa.string(), "userIdentity.type: Root, IAMUser, AssumedRole, ..."),
    ("user_identity_arn", pa.string(), "userIdentity.arn"),
    ("user_identity_principal_id", pa.string(), "userIdentity.principalId"),
    ("user_identity_account_id", pa.string(), "userIdentity.accountId"),
    ("user_identity_access_key_id", pa.string(), "userIdentity.accessKeyId"),
    ("user_identity_user_name", pa.string(), "userIdentity.userName"),
    ("user_identity_invoked_by", pa.string(), "userIdentity.invokedBy"),
    ("user_identity_identity_provider", pa.string(), "userIdentity.identityProvider (SAML, web)"),
    ("user_identity_credential_id", pa.string(), "userIdentity.credentialId"),
    ("session_issuer_type", pa.string(), "sessionContext.sessionIssuer.type"),
    ("session_issuer_arn", pa.string(), "sessionContext.sessionIssuer.arn"),
    ("session_issuer_name", pa.string(), "sessionContext.sessionIssuer.userName"),
    ("session_issuer_account_id", pa.string(), "sessionContext.sessionIssuer.accountId"),
    ("session_issuer_principal_id", pa.string(), "sessionContext.sessionIssuer.principalId"),
    ("session_mfa_authenticated", pa.bool_(), "sessionContext.attributes.mfaAuthenticated"),
    ("session_creation_date", TS, "sessionContext.attributes.creationDate, UTC"),
    ("session_source_identity", pa.string(), "sessionContext.sourceIdentity"),
    ("web_id_federation_provider", pa.string(), "sessionContext.webIdFederationData.federatedProvider"),
    (
        "principal_arn",
        pa.string(),
        "derived: the principal holding the permissions (role ARN for sessions, user, root, "
        "service name for AWS services, identity provider for federated sign-ins)",
    ),
    ("user_identity", pa.string(), "userIdentity, whole, as JSON"),
    ("request_parameters", pa.string(), "requestParameters as JSON"),
    ("response_elements", pa.string(), "responseElements as JSON"),
    ("additional_event_data", pa.string(), "additionalEventData as JSON"),
    ("resources", pa.string(), "resources as JSON"),
    ("service_event_details", pa.string(), "serviceEventDetails as JSON"),
    ("tls_details", pa.string(), "tlsDetails as JSON"),
    ("edge_device_details", pa.string(), "edgeDeviceDetails as JSON"),
    ("extra_fields", pa.string(), "unmodelled top-level fields and uncoercible values, as JSON"),
    ("source_uri", pa.string(), "the file or object the event was read from"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in COLUMNS)
EVENTS_SCHEMA = pa.schema([pa.field(name, typ) for name, typ, _ in COLUMNS])
JSON_COLUMNS: frozenset[str] = frozenset(
    {
        "user_identity",
        "request_parameters",
        "response_elements",
        "additional_event_data",
        "resources",
        "service_event_details",
        "tls_details",
        "edge_device_details",
        "extra_fields",
    }
)
