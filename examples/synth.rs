//! A large, realistic snapshot for benchmarks (docs/performance.md), in the documented
//! format, from a seed.
//!
//! ```sh
//! cargo run --release --example synth -- --out /tmp/big --scale 1
//! cargo run --release --example synth -- --out /tmp/big-later --scale 1 --drift 0.02
//! ```
//!
//! At `--scale 1`: 20,000 IAM users (with the credential report and every per-user file),
//! 100,000 security groups, 200,000 instances with their network interfaces, across 17
//! regions, with about 5% of everything misconfigured; and the CIS v7.0 services' data (1,000
//! KMS keys, 2,000 EFS file systems, 5,000 RDS instances, flow logs, network ACLs, Config,
//! Security Hub, Access Analyzer, metric filters, subscriptions). `--drift F` changes a fraction F of
//! the resources (instance types, security group rules, users' MFA) while keeping the rest
//! identical, for `diff`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark tool"
)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use snapaudit::snapshot::catalogue::safe_segment;

const REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
];
const ACCOUNT: &str = "123456789012";

struct Args {
    out: PathBuf,
    scale: f64,
    seed: u64,
    drift: f64,
    misconfig: f64,
}

fn args() -> Args {
    let mut a = Args {
        out: PathBuf::from("/tmp/snapaudit-synth"),
        scale: 1.0,
        seed: 7,
        drift: 0.0,
        misconfig: 0.05,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => a.out = PathBuf::from(v),
            "--scale" => a.scale = v.parse().expect("--scale F"),
            "--seed" => a.seed = v.parse().expect("--seed N"),
            "--drift" => a.drift = v.parse().expect("--drift F"),
            "--misconfig" => a.misconfig = v.parse().expect("--misconfig F"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

struct Writer {
    root: PathBuf,
    calls: Vec<Value>,
    bytes: u64,
}

impl Writer {
    fn write(
        &mut self,
        rel: &str,
        service: &str,
        operation: &str,
        region: &str,
        params: Value,
        value: &Value,
    ) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        serde::Serialize::serialize(value, &mut ser).unwrap();
        buf.push(b'\n');
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&buf)
            .unwrap();
        self.bytes += buf.len() as u64;
        let sha: String = Sha256::digest(&buf)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.calls.push(
            json!({"path": rel, "service": service, "operation": operation, "region": region,
                               "parameters": params, "status": "ok", "sha256": sha}),
        );
    }

    fn fail(&mut self, rel: &str, service: &str, operation: &str, region: &str, code: &str) {
        self.calls.push(json!({"path": rel, "service": service, "operation": operation, "region": region,
                               "parameters": {}, "status": "error", "error": {"code": code, "message": "synthetic"}}));
    }
}

/// One region's data for the CIS v7.0 services: flow logs, network ACLs, route tables, EBS
/// encryption, KMS keys, Config, EFS, RDS, Security Hub, Access Analyzer, metric filters and
/// SNS subscriptions (at `--scale 1`: 1,000 KMS keys, 2,000 file systems, 5,000 databases).
fn cis_services(
    w: &mut Writer,
    rng: &mut fastrand::Rng,
    a: &Args,
    ri: usize,
    region: &str,
    vpc: &str,
    default_vpc: &str,
) {
    let bad = |rng: &mut fastrand::Rng| rng.f64() < a.misconfig;
    let per = |n: f64| ((n * a.scale) as usize) / REGIONS.len() + 1;
    let world = |n: i64, proto: &str, action: &str, egress: bool, ports: Option<(i64, i64)>| {
        let mut e = json!({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": proto, "RuleAction": action, "RuleNumber": n});
        if let Some((from, to)) = ports {
            e["PortRange"] = json!({"From": from, "To": to});
        }
        e
    };
    let mut flows = vec![
        json!({"FlowLogId": format!("fl-{ri:017}"), "FlowLogStatus": "ACTIVE", "DeliverLogsStatus": "SUCCESS",
        "ResourceId": vpc, "TrafficType": "REJECT", "LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::flow-logs"}),
    ];
    if !bad(rng) {
        flows.push(json!({"FlowLogId": format!("fl-{ri:016}1"), "FlowLogStatus": "ACTIVE", "ResourceId": default_vpc, "TrafficType": "ALL"}));
    }
    w.write(
        &format!("ec2/{region}/describe-flow-logs.json"),
        "ec2",
        "DescribeFlowLogs",
        region,
        json!({}),
        &json!({"FlowLogs": flows}),
    );
    let acls: Vec<Value> = [vpc, default_vpc].iter().enumerate().map(|(k, v)| {
        let mut entries = vec![world(100, "-1", "allow", true, None), world(32767, "-1", "deny", false, None)];
        entries.push(if bad(rng) { world(100, "6", "allow", false, Some((22, 22))) } else { world(100, "6", "allow", false, Some((443, 443))) });
        json!({"Associations": [], "Entries": entries, "IsDefault": k == 1, "NetworkAclId": format!("acl-{ri:016}{k}"), "VpcId": v, "OwnerId": ACCOUNT})
    }).collect();
    w.write(
        &format!("ec2/{region}/describe-network-acls.json"),
        "ec2",
        "DescribeNetworkAcls",
        region,
        json!({}),
        &json!({"NetworkAcls": acls}),
    );
    w.write(&format!("ec2/{region}/describe-route-tables.json"), "ec2", "DescribeRouteTables", region, json!({}),
        &json!({"RouteTables": [{"RouteTableId": format!("rtb-{ri:017}"), "VpcId": vpc, "OwnerId": ACCOUNT,
            "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}]}]}));
    w.write(
        &format!("ec2/{region}/get-ebs-encryption-by-default.json"),
        "ec2",
        "GetEbsEncryptionByDefault",
        region,
        json!({}),
        &json!({"EbsEncryptionByDefault": !bad(rng)}),
    );
    let mut keys = Vec::new();
    for k in 0..per(1_000.0) {
        let id = format!("{ri:08x}-0000-4000-8000-{k:012x}");
        let arn = format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}");
        keys.push(json!({"KeyId": id, "KeyArn": arn}));
        w.write(&format!("kms/{region}/describe-key/{id}.json"), "kms", "DescribeKey", region, json!({"KeyId": id}),
            &json!({"KeyMetadata": {"AWSAccountId": ACCOUNT, "KeyId": id, "Arn": arn, "CreationDate": time(300), "Enabled": true,
                "Description": format!("key {k}"), "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "Origin": "AWS_KMS",
                "KeyManager": if k % 4 == 0 { "AWS" } else { "CUSTOMER" }, "KeySpec": "SYMMETRIC_DEFAULT"}}));
        w.write(&format!("kms/{region}/get-key-policy/{id}.json"), "kms", "GetKeyPolicy", region,
            json!({"KeyId": id, "PolicyName": "default"}),
            &json!({"Policy": json!({"Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"}]}).to_string(),
                "PolicyName": "default"}));
        w.write(
            &format!("kms/{region}/get-key-rotation-status/{id}.json"),
            "kms",
            "GetKeyRotationStatus",
            region,
            json!({"KeyId": id}),
            &json!({"KeyRotationEnabled": !bad(rng), "KeyId": arn}),
        );
    }
    w.write(
        &format!("kms/{region}/list-keys.json"),
        "kms",
        "ListKeys",
        region,
        json!({}),
        &json!({"Keys": keys, "Truncated": false}),
    );
    w.write(&format!("configservice/{region}/describe-configuration-recorders.json"), "configservice", "DescribeConfigurationRecorders", region, json!({}),
        &json!({"ConfigurationRecorders": [{"name": "default", "roleARN": format!("arn:aws:iam::{ACCOUNT}:role/config"),
            "recordingGroup": {"allSupported": true, "includeGlobalResourceTypes": ri == 0}}]}));
    w.write(&format!("configservice/{region}/describe-configuration-recorder-status.json"), "configservice", "DescribeConfigurationRecorderStatus", region, json!({}),
        &json!({"ConfigurationRecordersStatus": [{"name": "default", "recording": !bad(rng), "lastStatus": "SUCCESS"}]}));
    let fss: Vec<Value> = (0..per(2_000.0)).map(|k| json!({"OwnerId": ACCOUNT, "CreationToken": format!("fs-{k}"),
        "FileSystemId": format!("fs-{ri:04}{k:013x}"), "CreationTime": time(200), "LifeCycleState": "available", "Name": format!("share-{k}"),
        "NumberOfMountTargets": 2, "SizeInBytes": {"Value": 6144}, "PerformanceMode": "generalPurpose", "Encrypted": !bad(rng),
        "ThroughputMode": "bursting", "Tags": [{"Key": "Name", "Value": format!("share-{k}")}]})).collect();
    w.write(
        &format!("efs/{region}/describe-file-systems.json"),
        "efs",
        "DescribeFileSystems",
        region,
        json!({}),
        &json!({"FileSystems": fss}),
    );
    let dbs: Vec<Value> = (0..per(5_000.0)).map(|k| json!({"DBInstanceIdentifier": format!("db-{k}"), "DBInstanceClass": "db.t3.medium",
        "Engine": "postgres", "DBInstanceStatus": "available", "InstanceCreateTime": time(300), "MultiAZ": !bad(rng),
        "AutoMinorVersionUpgrade": !bad(rng), "PubliclyAccessible": bad(rng), "StorageEncrypted": !bad(rng),
        "DBInstanceArn": format!("arn:aws:rds:{region}:{ACCOUNT}:db:db-{k}")})).collect();
    w.write(
        &format!("rds/{region}/describe-db-instances.json"),
        "rds",
        "DescribeDBInstances",
        region,
        json!({}),
        &json!({"DBInstances": dbs}),
    );
    w.write(
        &format!("rds/{region}/describe-db-clusters.json"),
        "rds",
        "DescribeDBClusters",
        region,
        json!({}),
        &json!({"DBClusters": []}),
    );
    if bad(rng) {
        w.fail(
            &format!("securityhub/{region}/describe-hub.json"),
            "securityhub",
            "DescribeHub",
            region,
            "InvalidAccessException",
        );
    } else {
        w.write(&format!("securityhub/{region}/describe-hub.json"), "securityhub", "DescribeHub", region, json!({}),
            &json!({"HubArn": format!("arn:aws:securityhub:{region}:{ACCOUNT}:hub/default"), "SubscribedAt": "2025-01-15T10:00:00.000Z", "AutoEnableControls": true}));
    }
    w.write(&format!("accessanalyzer/{region}/list-analyzers.json"), "accessanalyzer", "ListAnalyzers", region, json!({}),
        &json!({"analyzers": [{"arn": format!("arn:aws:access-analyzer:{region}:{ACCOUNT}:analyzer/external"), "name": "external",
            "type": "ACCOUNT", "createdAt": time(300), "status": "ACTIVE"}]}));
    w.write(&format!("logs/{region}/describe-metric-filters.json"), "logs", "DescribeMetricFilters", region, json!({}),
        &json!({"metricFilters": [{"filterName": "root-usage", "filterPattern": "{ $.userIdentity.type = \"Root\" }", "logGroupName": "trail",
            "metricTransformations": [{"metricName": "RootUsage", "metricNamespace": "CIS", "metricValue": "1"}], "creationTime": 1736935200000i64}]}));
    w.write(&format!("sns/{region}/list-subscriptions.json"), "sns", "ListSubscriptions", region, json!({}),
        &json!({"Subscriptions": [{"SubscriptionArn": format!("arn:aws:sns:{region}:{ACCOUNT}:alarms:0001"), "Owner": ACCOUNT,
            "Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": format!("arn:aws:sns:{region}:{ACCOUNT}:alarms")}]}));
}

/// A resource policy as the services return it (a JSON string): one Allow statement to
/// everyone, with a condition unless the resource is one of the misconfigured.
fn policy_text(resource: &str, action: &str, open: bool) -> String {
    let mut statement = json!({"Sid": "Share", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": action, "Resource": resource});
    if !open {
        statement["Condition"] = json!({"StringEquals": {"aws:PrincipalOrgID": "o-synth00000"}});
    }
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

/// One region's resources with policies (CIS v7.0 2.21): SQS queues, SNS topics, Lambda
/// functions, Secrets Manager secrets (at `--scale 1`: 2,000 queues, 1,000 topics, 3,000
/// functions, 1,000 secrets).
fn resource_policies(w: &mut Writer, rng: &mut fastrand::Rng, a: &Args, ri: usize, region: &str) {
    let bad = |rng: &mut fastrand::Rng| rng.f64() < a.misconfig;
    let per = |n: f64| ((n * a.scale) as usize) / REGIONS.len() + 1;
    let mut urls = Vec::new();
    for k in 0..per(2_000.0) {
        let name = format!("queue-{ri}-{k}");
        let url = format!("https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}");
        let arn = format!("arn:aws:sqs:{region}:{ACCOUNT}:{name}");
        let rel = format!(
            "sqs/{region}/get-queue-attributes/{}.json",
            safe_segment(&url)
        );
        let doc = if k % 3 == 0 {
            json!({})
        } else {
            json!({"Attributes": {"Policy": policy_text(&arn, "sqs:SendMessage", bad(rng))}})
        };
        w.write(
            &rel,
            "sqs",
            "GetQueueAttributes",
            region,
            json!({"QueueUrl": url, "AttributeNames": ["Policy"]}),
            &doc,
        );
        urls.push(url);
    }
    w.write(
        &format!("sqs/{region}/list-queues.json"),
        "sqs",
        "ListQueues",
        region,
        json!({}),
        &json!({"QueueUrls": urls}),
    );
    let mut topics = Vec::new();
    for k in 0..per(1_000.0) {
        let arn = format!("arn:aws:sns:{region}:{ACCOUNT}:topic-{ri}-{k}");
        w.write(&format!("sns/{region}/get-topic-attributes/{}.json", safe_segment(&arn)), "sns", "GetTopicAttributes", region,
            json!({"TopicArn": arn}),
            &json!({"Attributes": {"Policy": policy_text(&arn, "SNS:Publish", bad(rng)), "Owner": ACCOUNT, "TopicArn": arn,
                "SubscriptionsConfirmed": "1", "SubscriptionsPending": "0", "DisplayName": ""}}));
        topics.push(json!({"TopicArn": arn}));
    }
    w.write(
        &format!("sns/{region}/list-topics.json"),
        "sns",
        "ListTopics",
        region,
        json!({}),
        &json!({"Topics": topics}),
    );
    let mut functions = Vec::new();
    for k in 0..per(3_000.0) {
        let name = format!("fn-{ri}-{k}");
        let arn = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}");
        functions.push(json!({"FunctionName": name, "FunctionArn": arn, "Runtime": "python3.12",
            "Role": format!("arn:aws:iam::{ACCOUNT}:role/lambda"), "Handler": "main.handler", "CodeSize": 1024,
            "LastModified": "2026-01-01T00:00:00.000+0000", "Environment": {"Variables": {"MODE": "(redacted by snapaudit)"}}}));
        let rel = format!("lambda/{region}/get-policy/{name}.json");
        if k % 2 == 0 {
            w.fail(
                &rel,
                "lambda",
                "GetPolicy",
                region,
                "ResourceNotFoundException",
            );
        } else {
            w.write(&rel, "lambda", "GetPolicy", region, json!({"FunctionName": name}),
                &json!({"Policy": policy_text(&arn, "lambda:InvokeFunction", bad(rng)), "RevisionId": format!("{k:08x}-0000-4000-8000-000000000000")}));
        }
    }
    w.write(
        &format!("lambda/{region}/list-functions.json"),
        "lambda",
        "ListFunctions",
        region,
        json!({}),
        &json!({"Functions": functions}),
    );
    let mut secrets = Vec::new();
    for k in 0..per(1_000.0) {
        let name = format!("secret-{ri}-{k}");
        let arn = format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-AbCdEf");
        let mut doc = json!({"ARN": arn, "Name": name});
        if k % 2 == 1 {
            doc["ResourcePolicy"] =
                json!(policy_text(&arn, "secretsmanager:GetSecretValue", bad(rng)));
        }
        w.write(
            &format!(
                "secretsmanager/{region}/get-resource-policy/{}.json",
                safe_segment(&arn)
            ),
            "secretsmanager",
            "GetResourcePolicy",
            region,
            json!({"SecretId": arn}),
            &doc,
        );
        secrets.push(json!({"ARN": arn, "Name": name, "LastChangedDate": time(30), "CreatedDate": time(400)}));
    }
    w.write(
        &format!("secretsmanager/{region}/list-secrets.json"),
        "secretsmanager",
        "ListSecrets",
        region,
        json!({}),
        &json!({"SecretList": secrets}),
    );
}

/// The account's S3 buckets (at `--scale 1`: 5,000) with their policies, Block Public
/// Access, versioning, logging and location, and the account's Block Public Access.
fn s3_buckets(w: &mut Writer, rng: &mut fastrand::Rng, a: &Args) {
    let bad = |rng: &mut fastrand::Rng| rng.f64() < a.misconfig;
    let mut buckets = Vec::new();
    let all_on = json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true});
    for k in 0..((5_000.0 * a.scale) as usize).max(1) {
        let name = if k == 0 {
            "logs".to_owned()
        } else {
            format!("bucket-{k:06}")
        };
        let region = REGIONS[k % REGIONS.len()];
        buckets.push(json!({"Name": name, "CreationDate": time(500), "BucketRegion": region}));
        let input = json!({"Bucket": name});
        let resource = format!("arn:aws:s3:::{name}");
        let mut statements = vec![
            json!({"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [resource, format!("{resource}/*")], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        ];
        if bad(rng) {
            statements.clear();
            statements.push(json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("{resource}/*")}));
        }
        let policy = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        w.write(
            &format!("s3/get-bucket-policy/{name}.json"),
            "s3api",
            "GetBucketPolicy",
            region,
            input.clone(),
            &json!({"Policy": policy}),
        );
        if bad(rng) {
            w.fail(
                &format!("s3/get-public-access-block/{name}.json"),
                "s3api",
                "GetPublicAccessBlock",
                region,
                "NoSuchPublicAccessBlockConfiguration",
            );
        } else {
            w.write(
                &format!("s3/get-public-access-block/{name}.json"),
                "s3api",
                "GetPublicAccessBlock",
                region,
                input.clone(),
                &json!({"PublicAccessBlockConfiguration": all_on}),
            );
        }
        w.write(
            &format!("s3/get-bucket-versioning/{name}.json"),
            "s3api",
            "GetBucketVersioning",
            region,
            input.clone(),
            &json!({"Status": "Enabled", "MFADelete": "Disabled"}),
        );
        let logging = if bad(rng) {
            json!({})
        } else {
            json!({"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": format!("{name}/")}})
        };
        w.write(
            &format!("s3/get-bucket-logging/{name}.json"),
            "s3api",
            "GetBucketLogging",
            region,
            input.clone(),
            &logging,
        );
        w.write(&format!("s3/get-bucket-location/{name}.json"), "s3api", "GetBucketLocation", region, input,
            &json!({"LocationConstraint": if region == "us-east-1" { Value::Null } else { json!(region) }}));
    }
    w.write("s3/list-buckets.json", "s3api", "ListBuckets", "us-east-1", json!({}),
        &json!({"Buckets": buckets, "Owner": {"DisplayName": "synth", "ID": "0".repeat(64)}, "Prefix": null}));
    w.write("s3control/get-public-access-block.json", "s3control", "GetPublicAccessBlock", "us-east-1",
        json!({"AccountId": ACCOUNT}),
        &json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": false, "RestrictPublicBuckets": false}}));
}

fn time(days_before: u64) -> String {
    // Capture time 2026-11-02T09:00:00Z minus `days_before` days.
    let capture = chrono::DateTime::parse_from_rfc3339("2026-11-02T09:00:00+00:00").unwrap();
    (capture - chrono::Duration::days(days_before as i64))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn main() {
    let a = args();
    let mut rng = fastrand::Rng::with_seed(a.seed);
    // Drift draws from its own stream, so the base stays identical whatever --drift is.
    let mut drift_rng = fastrand::Rng::with_seed(a.seed ^ 0x5eed);
    let mut drifted = |p: f64| p > 0.0 && drift_rng.f64() < p;
    let n_users = (20_000.0 * a.scale) as usize;
    let n_sgs = (100_000.0 * a.scale) as usize;
    let n_instances = (200_000.0 * a.scale) as usize;
    if a.out.exists() {
        std::fs::remove_dir_all(&a.out).unwrap();
    }
    let mut w = Writer {
        root: a.out.clone(),
        calls: Vec::new(),
        bytes: 0,
    };
    let bad = |rng: &mut fastrand::Rng| rng.f64() < a.misconfig;

    w.write("sts/get-caller-identity.json", "sts", "GetCallerIdentity", "us-east-1", json!({}),
        &json!({"UserId": "AIDASYNTH", "Account": ACCOUNT, "Arn": format!("arn:aws:iam::{ACCOUNT}:user/auditor")}));
    w.write("iam/get-account-password-policy.json", "iam", "GetAccountPasswordPolicy", "us-east-1", json!({}),
        &json!({"PasswordPolicy": {"MinimumPasswordLength": 12, "RequireSymbols": true, "RequireNumbers": true,
            "RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true, "AllowUsersToChangePassword": true,
            "ExpirePasswords": false, "PasswordReusePrevention": 24}}));
    w.write("iam/get-account-summary.json", "iam", "GetAccountSummary", "us-east-1", json!({}),
        &json!({"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": n_users, "MFADevices": n_users / 2}}));

    // IAM users, keys, MFA, credential report.
    let mut users = Vec::with_capacity(n_users);
    let mut virtual_mfa = Vec::new();
    let mut details = Vec::with_capacity(n_users);
    let mut csv = String::from("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n");
    let _ = writeln!(csv, "<root_account>,arn:aws:iam::{ACCOUNT}:root,{},not_supported,{},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A", time(2000), time(200));
    for i in 0..n_users {
        let name = format!("user-{i:06}");
        let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
        let created = time(100 + rng.u64(0..2000));
        let console = rng.f64() < 0.6;
        let mut mfa = console && !bad(&mut rng);
        if drifted(a.drift) {
            mfa = !mfa;
        }
        users.push(json!({"Path": "/", "UserName": name, "UserId": format!("AIDA{i:016}"), "Arn": arn, "CreateDate": created}));
        let n_keys = if rng.f64() < 0.5 {
            1
        } else if bad(&mut rng) {
            2
        } else {
            0
        };
        let mut keys = Vec::new();
        let mut cells = Vec::new();
        for k in 0..2 {
            if k < n_keys {
                let id = format!("AKIA{:012}{k:04}", i);
                let age = if bad(&mut rng) {
                    200 + rng.u64(0..800)
                } else {
                    rng.u64(1..80)
                };
                let used = time(rng.u64(0..30));
                keys.push(json!({"UserName": name, "AccessKeyId": id, "Status": "Active", "CreateDate": time(age)}));
                w.write(&format!("iam/get-access-key-last-used/{id}.json"), "iam", "GetAccessKeyLastUsed", "us-east-1",
                    json!({"AccessKeyId": id}),
                    &json!({"UserName": name, "AccessKeyLastUsed": {"LastUsedDate": used, "ServiceName": "s3", "Region": "us-east-1"}}));
                cells.push(format!("true,{},{used},us-east-1,s3", time(age)));
            } else {
                cells.push("false,N/A,N/A,N/A,N/A".into());
            }
        }
        w.write(
            &format!("iam/list-access-keys/{name}.json"),
            "iam",
            "ListAccessKeys",
            "us-east-1",
            json!({"UserName": name}),
            &json!({"AccessKeyMetadata": keys}),
        );
        let devices: Vec<Value> = if mfa {
            let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/{name}");
            virtual_mfa.push(json!({"SerialNumber": serial, "User": {"UserName": name, "Arn": arn}, "EnableDate": created}));
            vec![json!({"UserName": name, "SerialNumber": serial, "EnableDate": created})]
        } else {
            Vec::new()
        };
        w.write(
            &format!("iam/list-mfa-devices/{name}.json"),
            "iam",
            "ListMFADevices",
            "us-east-1",
            json!({"UserName": name}),
            &json!({"MFADevices": devices}),
        );
        let _ = writeln!(
            csv,
            "{name},{arn},{created},{console},{},{created},N/A,{mfa},{},{},false,N/A,false,N/A",
            if console {
                time(rng.u64(0..90))
            } else {
                "N/A".into()
            },
            cells[0],
            cells[1]
        );
        let attached: Vec<Value> = if bad(&mut rng) {
            vec![
                json!({"PolicyName": "power", "PolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/power")}),
            ]
        } else {
            Vec::new()
        };
        details.push(json!({"Path": "/", "UserName": name, "UserId": format!("AIDA{i:016}"), "Arn": arn, "CreateDate": created,
            "UserPolicyList": [], "GroupList": ["developers"], "AttachedManagedPolicies": attached}));
    }
    w.write(
        "iam/list-users.json",
        "iam",
        "ListUsers",
        "us-east-1",
        json!({}),
        &json!({"Users": users}),
    );
    w.write(
        "iam/list-virtual-mfa-devices.json",
        "iam",
        "ListVirtualMFADevices",
        "us-east-1",
        json!({}),
        &json!({"VirtualMFADevices": virtual_mfa}),
    );
    w.write("iam/get-account-authorization-details.json", "iam", "GetAccountAuthorizationDetails", "us-east-1", json!({}),
        &json!({"UserDetailList": details, "GroupDetailList": [], "RoleDetailList": [], "Policies": [
            {"PolicyName": "power", "PolicyId": "ANPASYNTH", "Arn": format!("arn:aws:iam::{ACCOUNT}:policy/power"), "Path": "/",
             "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": true, "CreateDate": time(900), "UpdateDate": time(900),
             "PolicyVersionList": [{"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                                    "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": time(900)}]}]}));
    let content = base64::engine::general_purpose::STANDARD.encode(csv.as_bytes());
    w.write("iam/get-credential-report.json", "iam", "GetCredentialReport", "us-east-1", json!({}),
        &json!({"Content": content, "ReportFormat": "text/csv", "GeneratedTime": "2026-11-02T08:59:30+00:00"}));

    // EC2, per region.
    let per = |n: usize, r: usize| n / REGIONS.len() + usize::from(r < n % REGIONS.len());
    let mut sg_base = 0usize;
    let mut inst_base = 0usize;
    for (ri, region) in REGIONS.iter().enumerate() {
        let vpc = format!("vpc-{ri:04}00000000d");
        let default_vpc = format!("vpc-{ri:04}00000000e");
        w.write(&format!("ec2/{region}/describe-vpcs.json"), "ec2", "DescribeVpcs", region, json!({}),
            &json!({"Vpcs": [
                {"CidrBlock": "10.0.0.0/16", "State": "available", "VpcId": vpc, "OwnerId": ACCOUNT, "IsDefault": false},
                {"CidrBlock": "172.31.0.0/16", "State": "available", "VpcId": default_vpc, "OwnerId": ACCOUNT, "IsDefault": true}]}));
        let n_sg = per(n_sgs, ri);
        let mut sgs = Vec::with_capacity(n_sg);
        for g in 0..n_sg {
            let id = format!("sg-{:017x}", sg_base + g);
            let mut perms = vec![
                json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [],
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}], "Ipv6Ranges": [], "PrefixListIds": []}),
            ];
            if bad(&mut rng) || drifted(a.drift) {
                perms.push(json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [],
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": []}));
            }
            sgs.push(json!({"GroupName": if g == 0 { "default".to_owned() } else { format!("app-{g}") },
                "Description": "synthetic", "IpPermissions": perms, "OwnerId": ACCOUNT, "GroupId": id,
                "IpPermissionsEgress": [{"IpProtocol": "-1", "UserIdGroupPairs": [], "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                    "Ipv6Ranges": [], "PrefixListIds": []}], "VpcId": vpc}));
        }
        let n_inst = per(n_instances, ri);
        let images: Vec<String> = (0..20).map(|k| format!("ami-{ri:04}{k:013}")).collect();
        let mut reservations = Vec::with_capacity(n_inst);
        let mut enis = Vec::with_capacity(n_inst);
        for k in 0..n_inst {
            let n = inst_base + k;
            let id = format!("i-{n:017x}");
            let eni = format!("eni-{n:017x}");
            let sg = format!("sg-{:017x}", sg_base + rng.usize(0..n_sg.max(1)));
            let public = bad(&mut rng);
            let itype = if drifted(a.drift) {
                "m5.large"
            } else {
                "t3.micro"
            };
            let in_vpc = if bad(&mut rng) { &default_vpc } else { &vpc };
            let mut inst = json!({"AmiLaunchIndex": 0, "ImageId": images[rng.usize(0..images.len())], "InstanceId": id,
                "InstanceType": itype, "LaunchTime": time(rng.u64(1..400)),
                "Placement": {"AvailabilityZone": format!("{region}a"), "GroupName": "", "Tenancy": "default"},
                "PrivateDnsName": format!("ip-10-0-{}-{}.ec2.internal", k % 250, k % 200), "PrivateIpAddress": format!("10.0.{}.{}", k % 250, k % 200),
                "State": {"Code": 16, "Name": "running"}, "SubnetId": format!("subnet-{ri:017}"), "VpcId": in_vpc,
                "NetworkInterfaces": [{"NetworkInterfaceId": eni, "Groups": [{"GroupId": sg, "GroupName": "app"}],
                    "PrivateIpAddress": format!("10.0.{}.{}", k % 250, k % 200), "Status": "in-use", "VpcId": in_vpc}],
                "SecurityGroups": [{"GroupId": sg, "GroupName": "app"}],
                "Tags": [{"Key": "Name", "Value": format!("web-{n}")}, {"Key": "team", "Value": format!("team-{}", n % 40)}]});
            if public {
                inst["PublicIpAddress"] = json!(format!("54.{}.{}.{}", ri, k % 250, k % 200));
            }
            // As AWS always answers: the metadata options, and (mostly) an instance profile.
            inst["MetadataOptions"] = json!({"State": "applied", "HttpTokens": if bad(&mut rng) { "optional" } else { "required" },
                "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"});
            if !bad(&mut rng) {
                inst["IamInstanceProfile"] = json!({"Arn": format!("arn:aws:iam::{ACCOUNT}:instance-profile/app-{}", n % 40),
                    "Id": format!("AIPA{:016}", n % 40)});
            }
            reservations.push(json!({"Groups": [], "Instances": [inst], "OwnerId": ACCOUNT, "ReservationId": format!("r-{n:017x}")}));
            enis.push(json!({"Attachment": {"InstanceId": id, "Status": "attached", "DeviceIndex": 0},
                "AvailabilityZone": format!("{region}a"), "Groups": [{"GroupId": sg, "GroupName": "app"}],
                "InterfaceType": "interface", "NetworkInterfaceId": eni, "OwnerId": ACCOUNT, "PrivateIpAddress": "10.0.0.1",
                "Status": "in-use", "SubnetId": format!("subnet-{ri:017}"), "VpcId": in_vpc}));
        }
        let image_docs: Vec<Value> = images.iter().enumerate().map(|(k, id)| json!({
            "ImageId": id, "Name": format!("base-{k}"), "CreationDate": format!("{}.000Z", &time(if k < 2 { 500 } else { 30 })[..19]),
            "OwnerId": ACCOUNT, "State": "available", "Public": false})).collect();
        w.write(
            &format!("ec2/{region}/describe-security-groups.json"),
            "ec2",
            "DescribeSecurityGroups",
            region,
            json!({}),
            &json!({"SecurityGroups": sgs}),
        );
        w.write(
            &format!("ec2/{region}/describe-instances.json"),
            "ec2",
            "DescribeInstances",
            region,
            json!({}),
            &json!({"Reservations": reservations}),
        );
        w.write(
            &format!("ec2/{region}/describe-network-interfaces.json"),
            "ec2",
            "DescribeNetworkInterfaces",
            region,
            json!({}),
            &json!({"NetworkInterfaces": enis}),
        );
        w.write(
            &format!("ec2/{region}/describe-images.json"),
            "ec2",
            "DescribeImages",
            region,
            json!({"Filters": [{"Name": "image-id", "Values": images}]}),
            &json!({"Images": image_docs}),
        );
        let trail = json!({"Name": "org-trail", "S3BucketName": "logs", "IncludeGlobalServiceEvents": true, "IsMultiRegionTrail": true,
            "HomeRegion": "us-east-1", "TrailARN": format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"),
            "LogFileValidationEnabled": true, "KmsKeyId": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/synth"),
            "HasCustomEventSelectors": false, "HasInsightSelectors": false, "IsOrganizationTrail": false});
        w.write(
            &format!("cloudtrail/{region}/describe-trails.json"),
            "cloudtrail",
            "DescribeTrails",
            region,
            json!({}),
            &json!({"trailList": [trail]}),
        );
        cis_services(&mut w, &mut rng, &a, ri, region, &vpc, &default_vpc);
        resource_policies(&mut w, &mut rng, &a, ri, region);
        sg_base += n_sg;
        inst_base += n_inst;
    }
    s3_buckets(&mut w, &mut rng, &a);
    w.write("iam/list-server-certificates.json", "iam", "ListServerCertificates", "us-east-1", json!({}),
        &json!({"ServerCertificateMetadataList": (0..(50.0 * a.scale) as usize).map(|k| json!({
            "Path": "/", "ServerCertificateName": format!("cert-{k}"), "ServerCertificateId": format!("ASCA{k:016}"),
            "Arn": format!("arn:aws:iam::{ACCOUNT}:server-certificate/cert-{k}"), "UploadDate": time(900),
            "Expiration": if bad(&mut rng) { time(30) } else { "2028-01-01T00:00:00+00:00".to_owned() }})).collect::<Vec<_>>(),
            "IsTruncated": false}));
    w.fail(
        "account/get-alternate-contact-security.json",
        "account",
        "GetAlternateContact",
        "us-east-1",
        "ResourceNotFoundException",
    );
    // Asked and named by the trail's ARN, as the collector does (`/` written `_`).
    let trail_arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail");
    let trail_file = trail_arn.replace('/', "_");
    w.write(&format!("cloudtrail/us-east-1/get-trail-status/{trail_file}.json"), "cloudtrail", "GetTrailStatus", "us-east-1", json!({"Name": trail_arn}),
        &json!({"IsLogging": true, "LatestDeliveryTime": "2026-11-02T08:55:00+00:00", "StartLoggingTime": time(700)}));
    w.write(&format!("cloudtrail/us-east-1/get-event-selectors/{trail_file}.json"), "cloudtrail", "GetEventSelectors", "us-east-1", json!({"TrailName": trail_arn}),
        &json!({"TrailARN": trail_arn,
                "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [], "ExcludeManagementEventSources": []}]}));
    w.write("cloudwatch/us-east-1/describe-alarms.json", "cloudwatch", "DescribeAlarms", "us-east-1", json!({}),
        &json!({"MetricAlarms": [{"AlarmName": "billing", "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:billing"),
            "ActionsEnabled": true, "AlarmActions": [format!("arn:aws:sns:us-east-1:{ACCOUNT}:billing")], "MetricName": "EstimatedCharges",
            "Namespace": "AWS/Billing", "Statistic": "Maximum", "Period": 21600, "EvaluationPeriods": 1, "Threshold": 1000.0,
            "ComparisonOperator": "GreaterThanThreshold", "StateValue": "OK"}], "CompositeAlarms": []}));
    w.fail(
        "support/describe-trusted-advisor-checks.json",
        "support",
        "DescribeTrustedAdvisorChecks",
        "us-east-1",
        "SubscriptionRequiredException",
    );

    let mut calls = std::mem::take(&mut w.calls);
    calls.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    let mut regions: Vec<&str> = REGIONS.to_vec();
    regions.sort_unstable();
    let manifest = json!({"schema_version": 1, "tool": {"name": "snapaudit-synth", "version": env!("CARGO_PKG_VERSION")},
        "account_id": ACCOUNT, "caller_arn": format!("arn:aws:iam::{ACCOUNT}:user/auditor"), "partition": "aws",
        "regions": regions, "started_at": "2026-11-02T09:00:00Z",
        "finished_at": "2026-11-02T09:20:00Z", "calls": calls});
    let mut text = serde_json::to_string_pretty(&manifest).unwrap();
    text.push('\n');
    std::fs::write(w.root.join("manifest.json"), &text).unwrap();
    let files = manifest["calls"].as_array().map(|c| c.len()).unwrap_or(0);
    eprintln!("wrote {} ({} calls, {} bytes of responses): {n_users} users, {n_sgs} security groups, {n_instances} instances",
        Path::new(&a.out).display(), files, w.bytes + text.len() as u64);
}
