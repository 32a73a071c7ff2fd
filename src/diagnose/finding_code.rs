//! The single source of every finding code: its wire name, severity, the component it blames,
//! its one-line meaning and the hint template it renders. The findings table of
//! docs/diagnosis.md and the `enum` of docs/report.schema.json are generated from here (and a
//! test fails when they drift).

use crate::diagnose::model::{Finding, Severity};

crate::wire_enum! {
    /// What to fix: the component a finding blames.
    pub enum Component {
        Imds => "imds",
        Credentials => "credentials",
        Bucket => "bucket",
        Object => "object",
        /// A denial no evidence attributes to one policy.
        Policy => "policy",
        Region => "region",
        Dns => "dns",
        Network => "network",
        Proxy => "proxy",
        S3 => "s3",
        Probe => "probe",
        RouteTable => "route_table",
        VpcEndpoint => "vpc_endpoint",
        EndpointPolicy => "endpoint_policy",
        BucketPolicy => "bucket_policy",
        IamPolicy => "iam_policy",
        Ec2Api => "ec2_api",
        Expectation => "expectation",
        Sink => "sink",
        /// An AWS Organizations policy (SCP or RCP).
        OrganizationPolicy => "organization_policy",
        Kms => "kms",
        /// The probe's configuration as the AWS tools on this machine see it (region, profile).
        Config => "config",
        /// The local clock (SigV4 signs with it).
        Clock => "clock",
        SecurityGroup => "security_group",
        NetworkAcl => "network_acl",
    }
}

crate::wire_enum! {
    /// Every finding code the probe reports.
    pub enum FindingCode {
        NotOnEc2 => "not_on_ec2",
        NoCredentials => "no_credentials",
        CredentialsError => "credentials_error",
        CredentialsRejected => "credentials_rejected",
        BucketNotFound => "bucket_not_found",
        KeyNotFound => "key_not_found",
        PrefixListFallback => "prefix_list_fallback",
        PrefixListUnavailable => "prefix_list_unavailable",
        Ec2ApiThrottled => "ec2_api_throttled",
        AccessDeniedUnattributed => "access_denied_unattributed",
        EndpointPolicyDenies => "endpoint_policy_denies",
        BucketPolicyRequiresEndpoint => "bucket_policy_requires_endpoint",
        BucketPolicyDenies => "bucket_policy_denies",
        BucketPolicySourceIpWithEndpoint => "bucket_policy_source_ip_with_endpoint",
        IamPolicyDenies => "iam_policy_denies",
        GatewayEndpointNotOnRouteTable => "gateway_endpoint_not_on_route_table",
        NoRouteToS3 => "no_route_to_s3",
        SpecificRouteOverridesEndpoint => "specific_route_overrides_endpoint",
        NoGatewayEndpoint => "no_gateway_endpoint",
        InterfaceEndpointDns => "interface_endpoint_dns",
        ExpectationFailed => "expectation_failed",
        BucketInOtherRegion => "bucket_in_other_region",
        DnsFailure => "dns_failure",
        S3Unreachable => "s3_unreachable",
        TlsFailure => "tls_failure",
        S3ServerError => "s3_server_error",
        ProbeKeyExists => "probe_key_exists",
        ContentMismatch => "content_mismatch",
        RunDeadlineExceeded => "run_deadline_exceeded",
        S3Error => "s3_error",
        ProbeObjectLeftBehind => "probe_object_left_behind",
        ProbeVersionLeftBehind => "probe_version_left_behind",
        SinkFailed => "sink_failed",
        SpoolDropped => "spool_dropped",
        OrganizationPolicyDenies => "organization_policy_denies",
        SessionPolicyDenies => "session_policy_denies",
        PermissionsBoundaryDenies => "permissions_boundary_denies",
        KmsDenies => "kms_denies",
        CredentialsExpired => "credentials_expired",
        ImdsHopLimit => "imds_hop_limit",
        RegionMismatch => "region_mismatch",
        ProxyInPath => "proxy_in_path",
        ProxyRefused => "proxy_refused",
        ClockSkew => "clock_skew",
        SecurityGroupBlocksS3 => "security_group_blocks_s3",
        NetworkAclBlocksS3 => "network_acl_blocks_s3",
        LongTermAccessKeys => "long_term_access_keys",
        BucketsDiscovered => "buckets_discovered",
        TlsUntrustedCertificate => "tls_untrusted_certificate",
        TlsHostnameMismatch => "tls_hostname_mismatch",
        ProbeObjectRetained => "probe_object_retained",
        ImdsCredentialsFailed => "imds_credentials_failed",
        RunInterrupted => "run_interrupted",
        StaleProbeObjectsRemoved => "stale_probe_objects_removed",
        SpoolWriteFailed => "spool_write_failed",
        S3Throttled => "s3_throttled",
        S3ResponseInterrupted => "s3_response_interrupted",
    }
}

/// What a code means, for people and for the generated docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSpec {
    /// The usual severity.
    pub severity: Severity,
    /// Every severity the code can have (the usual one first).
    pub severities: &'static [Severity],
    pub component: Component,
    /// One line: when the probe reports it.
    pub meaning: &'static str,
    /// The hint, with `{placeholders}` filled from the evidence.
    pub hint: &'static str,
}

const E: &[Severity] = &[Severity::Error];
const W: &[Severity] = &[Severity::Warning];
/// Denial codes drop to `info` when `--expect-access deny` is met.
const E_I: &[Severity] = &[Severity::Error, Severity::Info];

const fn spec(
    severities: &'static [Severity],
    component: Component,
    meaning: &'static str,
    hint: &'static str,
) -> CodeSpec {
    CodeSpec {
        severity: severities[0],
        severities,
        component,
        meaning,
        hint,
    }
}

impl FindingCode {
    /// The code's severity, component, meaning and hint template.
    pub fn spec(self) -> CodeSpec {
        use Component as C;
        use FindingCode::*;
        match self {
            NotOnEc2 => spec(
                &[Severity::Warning, Severity::Info],
                C::Imds,
                "no instance context: `info` when IMDS is disabled by `AWS_EC2_METADATA_DISABLED`, `warning` when IMDS did not answer (the hint names the deadlines when it timed out, and the causes of a refused IMDSv2 token)",
                "{why}; running without instance context, region {region} from {region_source}",
            ),
            NoCredentials => spec(
                E,
                C::Credentials,
                "no provider in the chain supplied credentials",
                "{advice}",
            ),
            CredentialsError => spec(
                E,
                C::Credentials,
                "a configured credential provider failed or timed out",
                "fix the failing credential source named above (profile, web identity, container or instance role)",
            ),
            CredentialsRejected => spec(
                E,
                C::Credentials,
                "S3 rejected the credentials (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, `ExpiredToken`, `InvalidToken`, `TokenRefreshRequired`, `InvalidSecurity`), or a request failed in phase `credentials`",
                "S3 rejected the credentials from {provider} ({code}): they are invalid, expired or for another partition; refresh them or attach an IAM role",
            ),
            BucketNotFound => spec(
                E,
                C::Bucket,
                "`NoSuchBucket`, or HTTP 404 `NotFound` (a `HeadBucket` answer has no body)",
                "bucket {bucket} does not exist: check the name (bucket names are global; it may be in another account or partition)",
            ),
            KeyNotFound => spec(
                E,
                C::Object,
                "`NoSuchKey` (usually a wrong `--key`)",
                "no object {key} in {bucket}: check --key",
            ),
            PrefixListFallback => spec(
                W,
                C::Ec2Api,
                "run-wide: the EC2 API could not be used, and the S3 prefix list came from AWS's published ip-ranges (which may differ from the prefix list) or from the local cache (the message gives its age)",
                "the EC2 API could not be used ({why}); using {what}: allow ec2:DescribeManagedPrefixLists and ec2:GetManagedPrefixListEntries, and a path to the EC2 API (an interface endpoint for com.amazonaws.{region}.ec2, or NAT)",
            ),
            PrefixListUnavailable => spec(
                W,
                C::Ec2Api,
                "run-wide: the EC2 API, ip-ranges and the cache all failed: the path cannot be proven",
                "the S3 prefix list is unknown ({why}): allow ec2:DescribeManagedPrefixLists and ec2:GetManagedPrefixListEntries, and a path to the EC2 API (an interface endpoint for com.amazonaws.{region}.ec2, or NAT)",
            ),
            Ec2ApiThrottled => spec(
                W,
                C::Ec2Api,
                "run-wide: the EC2 API throttled the probe (`RequestLimitExceeded` or another throttling code) through every retry the deadline allowed; the S3 prefix list came from AWS's published ip-ranges or the local cache, or is unknown. Permissions and the path to the EC2 API are not at fault",
                "the EC2 API throttled the probe ({why}); using {what}. Nothing to fix in IAM or the network: other callers use up the account's EC2 API request rate in {region} (find them in CloudTrail by errorCode RequestLimitExceeded and slow their polling), or give the probe more --timeout and --max-attempts",
            ),
            AccessDeniedUnattributed => spec(
                E_I,
                C::Policy,
                "an HTTP 403 (`AccessDenied`, `Forbidden`, `AllAccessDisabled`, a bare 403) that the evidence does not attribute to one policy; the message lists the denied actions and what S3 said",
                "S3 denied {actions} on {bucket}: check the IAM policy of {caller}, the bucket policy of {bucket}, and the VPC endpoint policy",
            ),
            EndpointPolicyDenies => spec(
                E_I,
                C::EndpointPolicy,
                "the policy of the gateway endpoint the traffic takes does not allow some of the probe's requests (evaluated here, or named by S3's message)",
                "edit the endpoint policy of {endpoint} to allow {actions} on {resource}: aws ec2 modify-vpc-endpoint --vpc-endpoint-id {endpoint} --policy-document file://policy.json",
            ),
            BucketPolicyRequiresEndpoint => spec(
                E_I,
                C::BucketPolicy,
                "the bucket policy denies requests that do not come from a given endpoint or VPC (`aws:SourceVpce`/`aws:SourceVpc`), and the path does not provide it; when the policy cannot be read, inferred from S3's \"resource-based policy\" denial and a path that bypasses the VPC's gateway endpoint (the message says so)",
                "{fix}",
            ),
            BucketPolicyDenies => spec(
                E_I,
                C::BucketPolicy,
                "S3 denied a request, and the bucket policy explicitly denies it (or S3's message names a resource-based policy)",
                "read the bucket policy of {bucket} (aws s3api get-bucket-policy --bucket {bucket}) and remove or narrow the Deny that matches {actions} from this instance",
            ),
            BucketPolicySourceIpWithEndpoint => spec(
                W,
                C::BucketPolicy,
                "the bucket policy tests `aws:SourceIp`, but the traffic takes an endpoint, where S3 sees the instance's private IP: public-IP conditions never match",
                "public-IP conditions never match endpoint traffic: use aws:SourceVpce or aws:SourceVpc instead",
            ),
            IamPolicyDenies => spec(
                E_I,
                C::IamPolicy,
                "S3 says no identity-based policy allows the request: grant the actions to the caller",
                "grant {caller} {actions} on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/{prefix}* (vpce-probe iam-policy prints a least-privilege policy)",
            ),
            GatewayEndpointNotOnRouteTable => spec(
                E,
                C::RouteTable,
                "the VPC has an S3 gateway endpoint, but the subnet's route table has no route to it",
                "associate the endpoint with the subnet's route table: aws ec2 modify-vpc-endpoint --vpc-endpoint-id {endpoint} --add-route-table-ids {route_table}",
            ),
            NoRouteToS3 => spec(
                E,
                C::RouteTable,
                "no route of the subnet's route table matches the S3 address, or the matching route is a blackhole",
                "{route_table} has no usable route to S3 ({address}): add the S3 gateway endpoint to it",
            ),
            SpecificRouteOverridesEndpoint => spec(
                E,
                C::RouteTable,
                "a CIDR route (more specific than, or as specific as, the endpoint's prefix-list entry) sends S3 traffic elsewhere",
                "the route {cidr} → {target} in {route_table} is more specific than the endpoint's prefix list: remove it (aws ec2 delete-route --route-table-id {route_table} --destination-cidr-block {cidr}) so S3 traffic takes {endpoint}",
            ),
            NoGatewayEndpoint => spec(
                W,
                C::VpcEndpoint,
                "S3 traffic leaves through an internet/NAT gateway or another target, and the VPC has no S3 gateway endpoint",
                "create one (free, keeps S3 traffic off NAT/internet): aws ec2 create-vpc-endpoint --vpc-id {vpc} --service-name com.amazonaws.{region}.s3 --route-table-ids {route_table}",
            ),
            InterfaceEndpointDns => spec(
                W,
                C::Dns,
                "the S3 names resolve to an address inside the VPC (an interface endpoint's private DNS), so traffic takes the interface endpoint, not the gateway endpoint",
                "traffic goes to the interface endpoint, not the gateway endpoint: disable the interface endpoint's private DNS for S3 (or its 'private DNS only for inbound endpoint' option), or expect the interface path",
            ),
            ExpectationFailed => spec(
                E,
                C::Expectation,
                "`--expect-path` or `--expect-access` was not met; the message says what was expected and what was found (once per unmet expectation)",
                "{why}",
            ),
            BucketInOtherRegion => spec(
                &[Severity::Warning, Severity::Error],
                C::Region,
                "`warning`: `HeadBucket` says the bucket is in another region (the probe followed it; a gateway endpoint only serves buckets of its own region). `error`: S3 answered with a wrong-region error (`PermanentRedirect`, `AuthorizationHeaderMalformed`, `IllegalLocationConstraintException`, HTTP 301/307)",
                "{advice}",
            ),
            DnsFailure => spec(
                E,
                C::Dns,
                "the S3 endpoint name did not resolve: from the `dns` check, or from a request that failed in phase `dns`; the message names the resolver asked and whether it is the VPC's (its CIDR base + 2, or 169.254.169.253) or a custom one (from /etc/resolv.conf or `--dns-server`), and the hint differs",
                "{name} did not resolve ({why}) with {servers}: {advice}",
            ),
            S3Unreachable => spec(
                E,
                C::Network,
                "no connection (refused, unreachable, blackholed, connect timeout) or no answer before the deadline",
                "{advice}",
            ),
            TlsFailure => spec(
                E,
                C::Proxy,
                "the TLS handshake failed (often a TLS-inspecting proxy)",
                "the TLS handshake failed: a TLS-inspecting proxy? point AWS_CA_BUNDLE at its CA",
            ),
            S3ServerError => spec(
                E,
                C::S3,
                "an HTTP 5xx answer, after the SDK's retries: with S3's request id (`x-amz-request-id`), S3's own error (the message names its code, the request id and the attempts); without one, possibly a proxy or load balancer on the path",
                "{advice}",
            ),
            ProbeKeyExists => spec(
                W,
                C::Probe,
                "the conditional put found an object at the probe key (HTTP 412); it was **not** overwritten",
                "an object already exists at the probe key {key}; it was NOT overwritten. Remove it or choose another --prefix",
            ),
            ContentMismatch => spec(
                E,
                C::Network,
                "what was read back differs from what was written, or from the checksum S3 stored (the probe's own SHA-256 comparison, or the SDK's check of S3's `x-amz-checksum-sha256`): the read never counts as a success",
                "the object read back differs from what was written: it was altered between S3 and the probe (a TLS-intercepting proxy, or S3 itself; the instance cannot tell which). Run again; if it repeats, look for TLS inspection on the path",
            ),
            RunDeadlineExceeded => spec(
                E,
                C::Probe,
                "an operation could not start before the run deadline (error code `deadline`)",
                "the run deadline passed before {check} could start: raise --timeout (earlier steps used the time)",
            ),
            S3Error => spec(
                E,
                C::S3,
                "any other S3 failure; the message carries the code and S3's message",
                "{code}: {message}",
            ),
            ProbeObjectLeftBehind => spec(
                W,
                C::Probe,
                "this run wrote the probe object and could not delete it",
                "remove it with: aws s3api delete-object --bucket {bucket} --key '{key}' (and grant s3:DeleteObject on {prefix}*)",
            ),
            ProbeVersionLeftBehind => spec(
                W,
                C::Probe,
                "versioned bucket: deleting the exact version this run wrote was denied (HTTP 403), so the probe fell back to a plain delete, which hides the object behind a delete marker; the version remains",
                "grant s3:DeleteObjectVersion on arn:aws:s3:::{bucket}/{prefix}* so the probe can remove the exact version it wrote",
            ),
            SinkFailed => spec(
                E,
                C::Sink,
                "run-wide: a sink could not deliver (denied, throttled, unreachable, or no answer within `--sink-timeout`); the message names the sink, the error and its code",
                "{advice}",
            ),
            OrganizationPolicyDenies => spec(
                E_I,
                C::OrganizationPolicy,
                "S3 says a service control policy or a resource control policy of AWS Organizations denied the request (the probe cannot read those)",
                "an AWS Organizations {policy_type} policy denies {actions}: ask the organization's administrators to allow it for this account (aws organizations list-policies-for-target --target-id <account id> --filter {filter})",
            ),
            SessionPolicyDenies => spec(
                E_I,
                C::IamPolicy,
                "S3 says the session policy of the caller's credentials denied the request (a policy passed to AssumeRole or federation)",
                "the session policy passed when these credentials were issued does not allow {actions}: widen it (AssumeRole --policy / --policy-arns), or use credentials without one",
            ),
            PermissionsBoundaryDenies => spec(
                E_I,
                C::IamPolicy,
                "S3 says the permissions boundary of the caller denied the request",
                "the permissions boundary of {caller} does not allow {actions}: widen the boundary policy (aws iam get-role --role-name <role> --query Role.PermissionsBoundary shows it)",
            ),
            KmsDenies => spec(
                E_I,
                C::Kms,
                "the denial names a `kms:` action (e.g. `kms:GenerateDataKey` on a bucket encrypted with SSE-KMS by default): the KMS key's policy or the caller's IAM policy, not an S3 policy",
                "allow {action} on {key} for {caller}, in the key policy (aws kms get-key-policy --key-id {key} --policy-name default) or the caller's IAM policy; the bucket's default encryption names the key (aws s3api get-bucket-encryption --bucket {bucket})",
            ),
            CredentialsExpired => spec(
                E,
                C::Credentials,
                "the credentials expired: S3 answered `ExpiredToken`, or the provider returned an expiry in the past",
                "{advice}",
            ),
            ImdsCredentialsFailed => spec(
                E,
                C::Imds,
                "IMDS gave the instance context and named the instance role, then did not deliver the role's credentials: an HTTP error, no answer within `--imds-timeout`, or an answer that is not a credentials document (the message says which)",
                "{advice}",
            ),
            ImdsHopLimit => spec(
                E,
                C::Imds,
                "the IMDSv2 token request connected but got no answer in time, and the probe runs in a container or a network namespace other than the host's (the message lists the signs): the instance's metadata hop limit (`HttpPutResponseHopLimit`) is too low, so the token's answer dies in transit. A token timeout without such signs is `not_on_ec2`, which names the hop limit only as a possibility",
                "raise the instance's metadata hop limit so the answer reaches the container: aws ec2 modify-instance-metadata-options --instance-id {instance_id} --http-put-response-hop-limit 2{region_note}",
            ),
            RegionMismatch => spec(
                W,
                C::Config,
                "run-wide: the region the requests are for (from `--region`, the config file, `AWS_REGION`/`AWS_DEFAULT_REGION` or the profile) is not the instance's region (IMDS): S3 requests for another region never use this VPC's gateway endpoint. The S3 and route checks name it as the likely cause when the requests then hang or leave through NAT or an internet gateway",
                "S3 requests for {configured} never use this VPC's gateway endpoint (it serves {instance} only): in a private subnet they hang, elsewhere they leave through NAT or the internet. If the buckets are in {instance}, {fix}",
            ),
            ProxyInPath => spec(
                &[Severity::Warning, Severity::Error],
                C::Proxy,
                "S3 requests go through the HTTP proxy of `HTTPS_PROXY` (`NO_PROXY` does not exempt the S3 host), so they leave wherever the proxy sends them, not provably through this VPC's gateway endpoint: `error` when the bucket policy requires `aws:SourceVpce`/`aws:SourceVpc` (those requests will be denied), `warning` otherwise",
                "{why}: add {entry} to NO_PROXY (e.g. NO_PROXY={no_proxy}) so S3 requests connect directly, through the route table and its gateway endpoint",
            ),
            ProxyRefused => spec(
                &[Severity::Warning, Severity::Error],
                C::Proxy,
                "the HTTP proxy of `HTTPS_PROXY` did not open the tunnel to S3 (`error`) or to the EC2 API (`warning`: the prefix list then comes from a fallback): its answer to the `CONNECT` (the message has its status line) was not 2xx, or it closed the connection. The proxy is blamed, not the service, the network or IAM; the hint follows its status: credentials (407), its access rules (403), its own way to the service (502–504)",
                "the proxy {proxy} did not open the tunnel to {service}: {advice}",
            ),
            ClockSkew => spec(
                &[Severity::Warning, Severity::Error],
                C::Clock,
                "run-wide: the `Date` of an S3 or EC2 answer is more than 5 minutes from the local clock (`warning`); more than 15 minutes, or S3 refused a request as `RequestTimeTooSkewed` (`error`): SigV4 requests are refused, and the clock, not the credentials or a policy, is blamed for them",
                "the local clock is {offset} {direction} AWS's (by the Date of {source}): {consequence}. Sync it: chrony with the Amazon Time Sync Service (`server 169.254.169.123 prefer iburst` in /etc/chrony.conf; `chronyc tracking` shows the offset), then run again",
            ),
            SecurityGroupBlocksS3 => spec(
                E,
                C::SecurityGroup,
                "no egress rule of the instance's security groups allows TCP to the S3 address and port used (a rule naming another group never matches S3): the connection is silently dropped",
                "add an egress rule for TCP {port} to S3 ({address}) to {group}: {command}",
            ),
            NetworkAclBlocksS3 => spec(
                E,
                C::NetworkAcl,
                "the subnet's network ACL denies TCP to the S3 address and port (outbound), or the answers to the instance's ephemeral ports (inbound: the classic missing 1024-65535 rule); first match by rule number, `*` denies",
                "allow it in {acl}: {command}",
            ),
            LongTermAccessKeys => spec(
                W,
                C::Credentials,
                "the probe runs on EC2 with long-term access keys (`AKIA…`, from the environment or the shared credentials file) rather than an instance role; when the instance also has a role, the keys shadow it, because they come first in the credential chain. The secret never appears",
                "prefer the instance role: {attach}, then remove the keys from {source} (and deactivate them: aws iam update-access-key --status Inactive)",
            ),
            BucketsDiscovered => spec(
                &[Severity::Info],
                C::Bucket,
                "a first run without `--bucket` or config file: the buckets of the instance's region that ListBuckets gave were probed, read-only (at most 10); the hint is the config that makes them permanent targets",
                "to probe them on every run, put them in /etc/vpce-probe/config.toml (add read_only = false to let the probe write its object): {snippet}",
            ),
            TlsUntrustedCertificate => spec(
                E,
                C::Proxy,
                "the TLS handshake with S3's name failed because the certificate presented is issued by no CA this machine trusts (rustls `UnknownIssuer`): S3's own certificates chain to public roots, so this is an intercepting proxy or middlebox on the path (or its CA is missing from `AWS_CA_BUNDLE`), not S3",
                "the certificate presented for {host} comes from a CA this machine does not trust: an intercepting proxy or middlebox (TLS inspection) answers in S3's place. If that interception is intended, point AWS_CA_BUNDLE at its CA (PEM); if not, find the middlebox on the path to S3 (S3's own certificates chain to public roots)",
            ),
            TlsHostnameMismatch => spec(
                E,
                C::Proxy,
                "the certificate presented, from a trusted CA, is not for the S3 name connected to (rustls `NotValidForName`; the message lists the names it is for): something other than S3 answers at that address, an intercepting proxy or middlebox, or DNS sending the name elsewhere",
                "the server that answered for {host} presented a certificate for other names: an intercepting proxy or middlebox (whose CA is trusted, e.g. through AWS_CA_BUNDLE) or a DNS answer that sends the name to another server. AWS_CA_BUNDLE cannot fix a wrong name: find what answers in S3's place, and check that the name resolves to S3's addresses",
            ),
            ProbeObjectRetained => spec(
                W,
                C::Probe,
                "the bucket's Object Lock retention (a default retention, or a legal hold) refused the delete of the probe object's exact version; the probe neither retried nor made a delete marker: the object stays until its retention ends (the message names the key, version, mode and date when the read-back gave them)",
                "s3://{bucket}/{key} version {version} is retained by Object Lock{until}; {who}. Every run that writes leaves one such object: set read_only = true (or --read-only) for this bucket",
            ),
            S3Throttled => spec(
                W,
                C::S3,
                "S3 answered an attempt with a throttling error (`SlowDown`, `ServiceUnavailable`, HTTP 429 or a bodiless 503) and the SDK's retry succeeded: the check passes, its detail lists the throttled attempts (`attempt_errors`) and counts `attempts`",
                "S3 asked the probe to slow down ({code}) and the SDK's retry succeeded: the bucket (or its prefix) gets more requests than S3 serves at once; if it recurs, lower the request rate of the bucket's other clients or spread their keys over more prefixes",
            ),
            S3ResponseInterrupted => spec(
                E,
                C::Network,
                "S3 began to answer (status, headers, its request id) but the body did not arrive in full: the connection closed early, was reset, or the body stalled until the run deadline cut it (the message says which, and how many bytes arrived). S3 or any middlebox on the path can do this; the instance cannot tell which, so no route or policy is blamed",
                "the answer to {check} began (S3's request id {request_id}) but {how}: S3 or a middlebox on the path (proxy, firewall, NAT, TLS inspection) cut it, and the instance cannot tell which; routes and policies allowed the request. Run again; if it repeats, look for a middlebox on the path (HTTPS_PROXY, TLS inspection), then give AWS Support the request id",
            ),
            SpoolDropped => spec(
                W,
                C::Sink,
                "run-wide: the sink's spool was full (50 payloads) or held payloads older than 13 days, so they were deleted (the message says how many)",
                "CloudWatch has been unreachable for many runs: fix the sink",
            ),
            RunInterrupted => spec(
                W,
                C::Probe,
                "run-wide: a stop signal (SIGINT: Ctrl-C; SIGTERM: `systemctl stop`, `kill`) ended the run before it finished. The report is partial (top-level `interrupted`); steps not run are skipped with reason `interrupted`; the probe object the run had written was deleted (exact version) before it exited (exit code 130 or 143), and nothing was sent to the sinks",
                "the run was stopped by {signal}, so its checks are incomplete: run it again to get a verdict (an object a put under way may have left is removed by the next run)",
            ),
            StaleProbeObjectsRemoved => spec(
                &[Severity::Info],
                C::Probe,
                "probe objects of this instance's earlier runs (under `<prefix><instance id>/` only, older than 1 hour by S3's own clock: left by a crash, `kill -9` or a lost connection) were deleted, each by its exact version; the message gives the count and the keys. Never in `--read-only` mode, never another instance's objects",
                "nothing to do; if it recurs, find out why runs of this instance end before their delete (killed with SIGKILL, out of memory, a systemd TimeoutStopSec shorter than 2 s)",
            ),
            SpoolWriteFailed => spec(
                E,
                C::Sink,
                "run-wide: a sink failed and its payload could not be kept in the spool either (the state directory is read-only, full, or missing): that report is lost for the sink; the message names the directory and the error. The report still reaches stdout",
                "make {dir} writable, with free space (systemd: StateDirectory=vpce-probe; elsewhere VPCE_PROBE_STATE_DIR)",
            ),
        }
    }

    /// The codes that report a denial (downgraded to `info` when `--expect-access deny` is met).
    pub fn is_denial(self) -> bool {
        use FindingCode::*;
        matches!(
            self,
            AccessDeniedUnattributed
                | EndpointPolicyDenies
                | BucketPolicyRequiresEndpoint
                | BucketPolicyDenies
                | IamPolicyDenies
                | OrganizationPolicyDenies
                | SessionPolicyDenies
                | PermissionsBoundaryDenies
                | KmsDenies
        )
    }

    /// A finding of this code with its usual severity: `message` says what was found, and the
    /// hint is the code's template filled with `vars`.
    pub fn finding(self, message: impl Into<String>, vars: &[(&str, &str)]) -> Finding {
        let spec = self.spec();
        Finding {
            code: self,
            severity: spec.severity,
            component: spec.component,
            message: message.into(),
            hint: render(spec.hint, vars),
        }
    }
}

impl Finding {
    /// The same finding with another severity (one the code allows).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        debug_assert!(
            self.code.spec().severities.contains(&severity),
            "{} cannot be {severity}",
            self.code
        );
        self.severity = severity;
        self
    }
}

/// Fill `{name}` placeholders from `vars`. A placeholder without a value stays as written (and
/// fails the debug build: every fixture renders every code it produces).
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        debug_assert!(false, "no value for {{{name}}} in {template:?}");
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_their_placeholders() {
        assert_eq!(render("a {x} b {y}", &[("x", "1"), ("y", "2")]), "a 1 b 2");
        assert_eq!(render("no placeholder", &[]), "no placeholder");
    }

    #[test]
    fn every_code_has_a_spec_with_its_usual_severity_first() {
        for c in FindingCode::ALL {
            let s = c.spec();
            assert_eq!(s.severities[0], s.severity, "{c}");
            assert!(!s.meaning.is_empty() && !s.hint.is_empty(), "{c}");
            assert_eq!(FindingCode::parse(c.as_str()), Some(*c));
        }
    }
}
