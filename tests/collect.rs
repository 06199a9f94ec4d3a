#![cfg(feature = "collect")]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! The collector against a real peer: a moto server on 127.0.0.1 (a free port), seeded
//! through the real aws CLI; every collected file is compared byte for byte with what
//! `aws … --output json` prints for the same call against the same server. Faults come from
//! a small proxy between the collector and moto. Nothing here ever reaches real AWS: every
//! endpoint is checked to be loopback before anything runs.
//!
//! Needs the pinned Python peers (tests/requirements.txt) in `.venv` (or `$SNAPAUDIT_VENV`):
//! `scripts/test` installs them.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::Digest as _;
use snapaudit::snapshot::catalogue::cli_name;

/// Credentials the tests use; none of them may appear in anything the collector writes.
const KEY_ID: &str = "AKIASNAPAUDITTEST000";
const SECRET: &str = "snapaudit/test+secret/DoNotWrite/0123456789abcd";
const TOKEN: &str = "snapaudit-test-session-token-DoNotWrite-ZXCVBNM";

fn venv() -> PathBuf {
    let dir = std::env::var_os("SNAPAUDIT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(".venv"));
    for bin in ["moto_server", "aws"] {
        assert!(
            dir.join("bin").join(bin).is_file(),
            "{}/bin/{bin} is missing: run scripts/test, which installs tests/requirements.txt into .venv",
            dir.display()
        );
    }
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A moto server on 127.0.0.1, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let child = Command::new(venv().join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        wait_for(port);
        Moto { child, port }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An environment for the aws CLI and snapaudit that can only reach `endpoint`.
struct Env {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl Env {
    fn new(port: u16) -> Env {
        let endpoint = format!("http://127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config"),
            "[default]\nregion = us-east-1\ncli_timestamp_format = iso8601\n",
        )
        .unwrap();
        Env { dir, endpoint }
    }

    /// s3control's endpoint: `{AccountId}.` goes before the host, so the host must be a
    /// name (`localhost`), not an address (docs/collect.md).
    fn s3control_endpoint(&self) -> String {
        self.endpoint.replace("://127.0.0.1:", "://localhost:")
    }

    fn apply(&self, cmd: &mut Command) {
        // Only loopback, ever.
        let host = self.endpoint.trim_start_matches("http://");
        assert!(
            host.starts_with("127.0.0.1:"),
            "refusing a non-loopback endpoint: {}",
            self.endpoint
        );
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("LANG", "C.UTF-8")
            .env("TZ", "UTC")
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_SESSION_TOKEN", TOKEN)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ENDPOINT_URL_S3_CONTROL", self.s3control_endpoint())
            .env("AWS_CONFIG_FILE", self.dir.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .env("NO_COLOR", "1");
    }

    /// Runs the aws CLI; returns its standard output, failing the test on an error.
    fn aws(&self, args: &[&str]) -> String {
        self.aws_with(None, args)
    }

    /// Runs the aws CLI with the caller's credentials or `creds`.
    fn aws_with(&self, creds: Option<&Assumed>, args: &[&str]) -> String {
        let out = self.aws_output(creds, args);
        assert!(
            out.status.success(),
            "aws {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn aws_output(&self, creds: Option<&Assumed>, args: &[&str]) -> Output {
        let mut cmd = Command::new(venv().join("bin/aws"));
        self.apply(&mut cmd);
        if let Some((key, secret, token)) = creds {
            cmd.env("AWS_ACCESS_KEY_ID", key)
                .env("AWS_SECRET_ACCESS_KEY", secret)
                .env("AWS_SESSION_TOKEN", token);
        }
        // The endpoint on the command line too: awscli 1.x's RDS commands replace the
        // endpoint of AWS_ENDPOINT_URL with their own (`update_endpoint_url`).
        let endpoint = if args.first() == Some(&"s3control") {
            // `123456789012.localhost` resolves to loopback for the CLI as for snapaudit.
            cmd.env(
                "PYTHONPATH",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/localhost"),
            );
            self.s3control_endpoint()
        } else {
            self.endpoint.clone()
        };
        cmd.args(args)
            .args(["--endpoint-url", &endpoint])
            .args(["--output", "json"])
            .output()
            .expect("run aws")
    }

    fn aws_json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.aws(args)).unwrap()
    }

    fn snapaudit(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapaudit"));
        self.apply(&mut cmd);
        cmd.args(args).output().expect("run snapaudit")
    }
}

/// An account worth auditing, in two regions; with a password policy or without one (then
/// `NoSuchEntity` is the answer).
fn seed(env: &Env, password_policy: bool) {
    let aws = |args: &[&str]| env.aws(args);
    // alice: console password and a virtual MFA device, in the admins group.
    aws(&["iam", "create-user", "--user-name", "alice"]);
    aws(&[
        "iam",
        "create-login-profile",
        "--user-name",
        "alice",
        "--password",
        "Correct-Horse-42!",
    ]);
    let qr = env.dir.path().join("alice-qr.png");
    let mfa = env.aws_json(&[
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "alice",
        "--outfile",
        qr.to_str().unwrap(),
        "--bootstrap-method",
        "QRCodePNG",
    ]);
    let serial = mfa["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    aws(&[
        "iam",
        "enable-mfa-device",
        "--user-name",
        "alice",
        "--serial-number",
        &serial,
        "--authentication-code1",
        "123456",
        "--authentication-code2",
        "654321",
    ]);
    aws(&["iam", "create-group", "--group-name", "auditors"]);
    let read = env.aws_json(&["iam", "create-policy", "--policy-name", "read-trails", "--policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:Describe*","cloudtrail:Get*"],"Resource":"*"}]}"#]);
    aws(&[
        "iam",
        "attach-group-policy",
        "--group-name",
        "auditors",
        "--policy-arn",
        read["Policy"]["Arn"].as_str().unwrap(),
    ]);
    aws(&[
        "iam",
        "add-user-to-group",
        "--group-name",
        "auditors",
        "--user-name",
        "alice",
    ]);
    // bob: console password, no MFA, a key, a customer-managed policy that allows * on *.
    aws(&["iam", "create-user", "--user-name", "bob"]);
    aws(&[
        "iam",
        "create-login-profile",
        "--user-name",
        "bob",
        "--password",
        "Correct-Horse-43!",
    ]);
    aws(&["iam", "create-access-key", "--user-name", "bob"]);
    let policy = env.aws_json(&[
        "iam",
        "create-policy",
        "--policy-name",
        "everything",
        "--policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ]);
    aws(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "bob",
        "--policy-arn",
        policy["Policy"]["Arn"].as_str().unwrap(),
    ]);
    // ci-deploy: two active keys, no password.
    aws(&["iam", "create-user", "--user-name", "ci-deploy"]);
    aws(&["iam", "create-access-key", "--user-name", "ci-deploy"]);
    aws(&["iam", "create-access-key", "--user-name", "ci-deploy"]);
    if password_policy {
        aws(&[
            "iam",
            "update-account-password-policy",
            "--minimum-password-length",
            "8",
            "--require-symbols",
            "--require-numbers",
            "--allow-users-to-change-password",
            "--password-reuse-prevention",
            "5",
        ]);
    }

    for region in ["us-east-1", "eu-west-1"] {
        let sg = env.aws_json(&[
            "ec2",
            "create-security-group",
            "--region",
            region,
            "--group-name",
            "ssh-open",
            "--description",
            "ssh from anywhere",
        ]);
        let group = sg["GroupId"].as_str().unwrap().to_owned();
        aws(&[
            "ec2",
            "authorize-security-group-ingress",
            "--region",
            region,
            "--group-id",
            &group,
            "--protocol",
            "tcp",
            "--port",
            "22",
            "--cidr",
            "0.0.0.0/0",
        ]);
        let web = env.aws_json(&[
            "ec2",
            "create-security-group",
            "--region",
            region,
            "--group-name",
            "https_everywhere",
            "--description",
            "web",
        ]);
        aws(&[
            "ec2",
            "authorize-security-group-ingress",
            "--region",
            region,
            "--group-id",
            web["GroupId"].as_str().unwrap(),
            "--protocol",
            "tcp",
            "--port",
            "443",
            "--cidr",
            "0.0.0.0/0",
        ]);
        let images = env.aws_json(&[
            "ec2",
            "describe-images",
            "--region",
            region,
            "--owners",
            "amazon",
        ]);
        let image = images["Images"][0]["ImageId"].as_str().unwrap().to_owned();
        aws(&[
            "ec2",
            "run-instances",
            "--region",
            region,
            "--image-id",
            &image,
            "--count",
            "1",
            "--instance-type",
            "t3.micro",
            "--security-group-ids",
            &group,
            "--tag-specifications",
            "ResourceType=instance,Tags=[{Key=Name,Value=web-1}]",
        ]);
    }
    aws(&["s3api", "create-bucket", "--bucket", "snapaudit-trail-logs"]);
    aws(&[
        "cloudtrail",
        "create-trail",
        "--name",
        "org-trail",
        "--s3-bucket-name",
        "snapaudit-trail-logs",
        "--is-multi-region-trail",
        "--enable-log-file-validation",
    ]);
    aws(&["cloudtrail", "start-logging", "--name", "org-trail"]);
    aws(&[
        "cloudtrail",
        "create-trail",
        "--region",
        "eu-west-1",
        "--name",
        "eu-trail",
        "--s3-bucket-name",
        "snapaudit-trail-logs",
    ]);
    seed_network(env);
    seed_services(env);
    seed_resource_policies(env);
}

/// A minimal zip archive (no entries): a Lambda function's code, never run.
const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// A policy document with one statement for `principal` (`"*"` or a JSON value).
fn policy(statement: Value) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

/// CIS v7.0 2.21 and the S3 controls: resources whose policies let anyone in and their
/// conditioned or private neighbours; a bucket that denies plain HTTP and blocks public
/// access, one that does neither; the trail's bucket without access logging; an account
/// whose Block Public Access is only partly on.
fn seed_resource_policies(env: &Env) {
    let aws = |args: &[&str]| env.aws(args);
    // S3.
    for bucket in ["snapaudit-public-site", "snapaudit-sealed"] {
        aws(&["s3api", "create-bucket", "--bucket", bucket]);
    }
    let public_read = policy(serde_json::json!({
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::snapaudit-public-site/*"
    }));
    aws(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        "snapaudit-public-site",
        "--policy",
        &public_read,
    ]);
    let deny_http = policy(serde_json::json!({
        "Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::snapaudit-sealed", "arn:aws:s3:::snapaudit-sealed/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    }));
    aws(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        "snapaudit-sealed",
        "--policy",
        &deny_http,
    ]);
    let all_blocked = "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true";
    aws(&[
        "s3api",
        "put-public-access-block",
        "--bucket",
        "snapaudit-sealed",
        "--public-access-block-configuration",
        all_blocked,
    ]);
    aws(&[
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "snapaudit-sealed",
        "--versioning-configuration",
        "Status=Enabled",
    ]);
    // The log bucket lets S3's log delivery write (moto checks, as S3 once did).
    aws(&[
        "s3api",
        "put-bucket-acl",
        "--bucket",
        "snapaudit-flow-logs",
        "--acl",
        "log-delivery-write",
    ]);
    aws(&[
        "s3api",
        "put-bucket-logging",
        "--bucket",
        "snapaudit-sealed",
        "--bucket-logging-status",
        r#"{"LoggingEnabled": {"TargetBucket": "snapaudit-flow-logs", "TargetPrefix": "sealed/"}}"#,
    ]);
    aws(&[
        "s3control",
        "put-public-access-block",
        "--account-id",
        "123456789012",
        "--public-access-block-configuration",
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false",
    ]);
    // SQS: open to anyone, open to one account's resources only, no policy.
    let queue = |name: &str| {
        env.aws_json(&["sqs", "create-queue", "--queue-name", name])["QueueUrl"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let open = queue("public-queue");
    let scoped = queue("account-queue");
    queue("plain-queue");
    let queue_policy = |url: &str, statement: Value| {
        let attributes = serde_json::json!({"Policy": policy(statement)}).to_string();
        aws(&[
            "sqs",
            "set-queue-attributes",
            "--queue-url",
            url,
            "--attributes",
            &attributes,
        ]);
    };
    queue_policy(
        &open,
        serde_json::json!({
            "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:123456789012:public-queue"
        }),
    );
    queue_policy(
        &scoped,
        serde_json::json!({
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:123456789012:account-queue",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}
        }),
    );
    // SNS: a topic anyone may publish to (the alarm topic keeps its default, owner-only
    // policy).
    let topic = env.aws_json(&["sns", "create-topic", "--name", "public-announcements"]);
    let topic = topic["TopicArn"].as_str().unwrap();
    let topic_policy = policy(serde_json::json!({
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SNS:Publish", "Resource": topic
    }));
    aws(&[
        "sns",
        "set-topic-attributes",
        "--topic-arn",
        topic,
        "--attribute-name",
        "Policy",
        "--attribute-value",
        &topic_policy,
    ]);
    // Lambda: a function anyone may invoke, with a secret in its environment (which the
    // snapshot must not hold), and one without a resource policy.
    let trust = policy(serde_json::json!({
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"
    }));
    let role = env.aws_json(&[
        "iam",
        "create-role",
        "--role-name",
        "lambda-runner",
        "--assume-role-policy-document",
        &trust,
    ]);
    let role = role["Role"]["Arn"].as_str().unwrap().to_owned();
    let zip = env.dir.path().join("code.zip");
    std::fs::write(&zip, EMPTY_ZIP).unwrap();
    let zip = format!("fileb://{}", zip.display());
    for (name, variables) in [
        (
            "public-fn",
            "Variables={DB_PASSWORD=hunter2-not-a-real-secret,MODE=production}",
        ),
        ("private-fn", "Variables={MODE=staging}"),
    ] {
        aws(&[
            "lambda",
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "python3.12",
            "--role",
            &role,
            "--handler",
            "main.handler",
            "--zip-file",
            &zip,
            "--environment",
            variables,
        ]);
    }
    aws(&[
        "lambda",
        "add-permission",
        "--function-name",
        "public-fn",
        "--statement-id",
        "anyone",
        "--action",
        "lambda:InvokeFunction",
        "--principal",
        "*",
    ]);
    // Secrets Manager: a secret whose policy lets anyone read it, one without a policy.
    for name in ["shared-secret", "private-secret"] {
        aws(&[
            "secretsmanager",
            "create-secret",
            "--name",
            name,
            "--secret-string",
            "not-a-real-secret-value",
        ]);
    }
    let secret_policy = policy(serde_json::json!({
        "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"
    }));
    aws(&[
        "secretsmanager",
        "put-resource-policy",
        "--secret-id",
        "shared-secret",
        "--resource-policy",
        &secret_policy,
    ]);
}

/// CIS v7.0's storage, logging and monitoring services, with a problem and a compliant
/// neighbour where moto lets us make one.
fn seed_services(env: &Env) {
    let aws = |args: &[&str]| env.aws(args);
    let rotated = env.aws_json(&["kms", "create-key", "--description", "rotated"]);
    aws(&[
        "kms",
        "enable-key-rotation",
        "--key-id",
        rotated["KeyMetadata"]["KeyId"].as_str().unwrap(),
    ]);
    aws(&["kms", "create-key", "--description", "never rotated"]);
    aws(&[
        "configservice",
        "put-configuration-recorder",
        "--configuration-recorder",
        "name=default,roleARN=arn:aws:iam::123456789012:role/config",
        "--recording-group",
        "allSupported=true,includeGlobalResourceTypes=true",
    ]);
    aws(&[
        "configservice",
        "put-delivery-channel",
        "--delivery-channel",
        "name=default,s3BucketName=snapaudit-trail-logs",
    ]);
    aws(&[
        "configservice",
        "start-configuration-recorder",
        "--configuration-recorder-name",
        "default",
    ]);
    aws(&[
        "efs",
        "create-file-system",
        "--creation-token",
        "plain",
        "--no-encrypted",
    ]);
    aws(&[
        "efs",
        "create-file-system",
        "--creation-token",
        "sealed",
        "--encrypted",
    ]);
    aws(&[
        "rds",
        "create-db-instance",
        "--db-instance-identifier",
        "orders",
        "--db-instance-class",
        "db.t3.micro",
        "--engine",
        "postgres",
        "--master-username",
        "admin",
        "--master-user-password",
        "not-a-real-password-1",
        "--allocated-storage",
        "20",
        "--publicly-accessible",
        "--no-storage-encrypted",
    ]);
    aws(&["securityhub", "enable-security-hub"]);
    aws(&[
        "account",
        "put-alternate-contact",
        "--alternate-contact-type",
        "SECURITY",
        "--name",
        "Security team",
        "--email-address",
        "security@example.com",
        "--phone-number",
        "+1-555-0100",
        "--title",
        "CISO",
    ]);
    aws(&[
        "logs",
        "create-log-group",
        "--log-group-name",
        "trail-events",
    ]);
    aws(&[
        "logs",
        "put-metric-filter",
        "--log-group-name",
        "trail-events",
        "--filter-name",
        "root-usage",
        "--filter-pattern",
        "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != \"AwsServiceEvent\" }",
        "--metric-transformations",
        "metricName=RootUsage,metricNamespace=CISBenchmark,metricValue=1",
    ]);
    let topic = env.aws_json(&["sns", "create-topic", "--name", "security-alarms"]);
    aws(&[
        "sns",
        "subscribe",
        "--topic-arn",
        topic["TopicArn"].as_str().unwrap(),
        "--protocol",
        "email",
        "--notification-endpoint",
        "security@example.com",
    ]);
}

/// CIS v7.0's networking and storage data: an expired server certificate, flow logs in
/// us-east-1 only, a network ACL open to SSH from anywhere, EBS encryption by default in
/// eu-west-1 only.
fn seed_network(env: &Env) {
    let aws = |args: &[&str]| env.aws(args);
    aws(&[
        "iam",
        "upload-server-certificate",
        "--server-certificate-name",
        "legacy-tls",
        "--certificate-body",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "--private-key",
        "not-a-key",
    ]);
    aws(&["s3api", "create-bucket", "--bucket", "snapaudit-flow-logs"]);
    let vpcs = env.aws_json(&["ec2", "describe-vpcs", "--region", "us-east-1"]);
    let vpc = vpcs["Vpcs"][0]["VpcId"].as_str().unwrap().to_owned();
    let created = env.aws_json(&[
        "ec2",
        "create-flow-logs",
        "--region",
        "us-east-1",
        "--resource-type",
        "VPC",
        "--resource-ids",
        &vpc,
        "--traffic-type",
        "ALL",
        "--log-destination-type",
        "s3",
        "--log-destination",
        "arn:aws:s3:::snapaudit-flow-logs",
    ]);
    assert_eq!(created["Unsuccessful"], serde_json::json!([]), "{created}");
    let acl = env.aws_json(&[
        "ec2",
        "create-network-acl",
        "--region",
        "us-east-1",
        "--vpc-id",
        &vpc,
    ]);
    aws(&[
        "ec2",
        "create-network-acl-entry",
        "--region",
        "us-east-1",
        "--network-acl-id",
        acl["NetworkAcl"]["NetworkAclId"].as_str().unwrap(),
        "--ingress",
        "--rule-number",
        "100",
        "--protocol",
        "tcp",
        "--port-range",
        "From=22,To=22",
        "--cidr-block",
        "0.0.0.0/0",
        "--rule-action",
        "allow",
    ]);
    aws(&[
        "ec2",
        "enable-ebs-encryption-by-default",
        "--region",
        "eu-west-1",
    ]);
}

fn collect(env: &Env, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "collect",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    env.snapaudit(&args)
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn call<'a>(m: &'a Value, path: &str) -> &'a Value {
    m["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("no call for {path}"))
}

/// Values that differ between two calls for the same thing, named with the reason: the
/// comparison replaces them in both texts.
const MASKS: &[(&str, &str, &str)] = &[
    // moto computes a trail's last delivery from the time of each request.
    (
        "get-trail-status/",
        "LatestDeliveryTime",
        "moto: time of the request",
    ),
    (
        "get-trail-status/",
        "LatestDeliveryAttemptTime",
        "moto: time of the request",
    ),
    // moto stamps an EFS file system's size (SizeInBytes.Timestamp) with each request's time.
    ("efs/", "Timestamp", "moto: time of the request"),
    // and an RDS instance's latest restorable time.
    ("rds/", "LatestRestorableTime", "moto: time of the request"),
    // and a role's last use at every AssumeRole (the CLI's own assume-role included).
    (
        "iam/get-account-authorization-details",
        "LastUsedDate",
        "moto: time of the last AssumeRole",
    ),
];

/// The CLI's text with every Lambda environment variable's value replaced as the collector
/// replaces it (the catalogue's `redact`): values here hold no `"`, `\\` or `}`.
fn redact_variables(text: &str) -> String {
    let block = regex::Regex::new(r#"(?s)"Variables": \{[^}]*\}"#).unwrap();
    let value = regex::Regex::new(r#"("[^"]*": )"[^"]*""#).unwrap();
    block
        .replace_all(text, |c: &regex::Captures| {
            value
                .replace_all(&c[0], r#"$1"(redacted by snapaudit)""#)
                .into_owned()
        })
        .into_owned()
}

fn mask(path: &str, text: &str) -> String {
    let mut out = text.to_owned();
    for (file, key, why) in MASKS {
        if path.contains(file) {
            let re = regex::Regex::new(&format!(r#""{key}": "[^"]*""#)).unwrap();
            out = re
                .replace_all(&out, format!(r#""{key}": "<masked: {why}>""#))
                .into_owned();
        }
    }
    out
}

/// Every file (and the manifest) is free of the credentials used.
fn assert_no_secrets(dir: &Path, also: &[u8]) {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            for secret in [SECRET.as_bytes(), TOKEN.as_bytes()] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret),
                    "{} holds a secret",
                    entry.path().display()
                );
            }
        }
    }
    for secret in [SECRET.as_bytes(), TOKEN.as_bytes()] {
        assert!(
            !also.windows(secret.len()).any(|w| w == secret),
            "the collector's output holds a secret"
        );
    }
}

#[test]
fn collected_files_match_the_aws_cli_byte_for_byte() {
    let moto = Moto::start();
    let env = Env::new(moto.port);
    seed(&env, true);
    let snap = env.dir.path().join("snapshots/acct");
    let out = collect(&env, &snap, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // moto does not answer CloudWatch in CBOR (what aws-sdk-cloudwatch speaks) nor
    // Trusted Advisor check results: those calls fail and the run says so with exit 3.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("written to"), "{stderr}");
    let m = manifest(&snap);
    assert_eq!(m["account_id"], "123456789012");
    assert_eq!(m["regions"], serde_json::json!(["eu-west-1", "us-east-1"]));
    assert_eq!(
        call(&m, "iam/get-account-password-policy.json")["status"],
        "ok"
    );
    assert_eq!(
        call(&m, "cloudwatch/us-east-1/describe-alarms.json")["status"],
        "error"
    );

    let mut compared = 0;
    let mut redacted = 0;
    for c in m["calls"].as_array().unwrap() {
        if c["status"] != "ok" {
            continue;
        }
        let path = c["path"].as_str().unwrap();
        let (entry, place) = snapaudit::snapshot::catalogue::catalogue()
            .find(path)
            .unwrap_or_else(|| panic!("{path} is not a file of the catalogue"));
        assert_eq!(
            (entry.service.as_str(), entry.operation.as_str()),
            (
                c["service"].as_str().unwrap(),
                c["operation"].as_str().unwrap()
            ),
            "{path}"
        );
        if let Some(region) = place.region {
            assert_eq!(c["region"], region.as_str(), "{path}");
        }
        let mut args: Vec<String> = vec![
            c["service"].as_str().unwrap().to_owned(),
            cli_name(c["operation"].as_str().unwrap()),
            "--region".into(),
            c["region"].as_str().unwrap().to_owned(),
        ];
        let params = &c["parameters"];
        if params.as_object().is_some_and(|o| !o.is_empty()) {
            args.push("--cli-input-json".into());
            args.push(params.to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut printed = env.aws(&args);
        if printed.is_empty() {
            // The CLI prints nothing for an empty answer; the file holds the empty object.
            printed = "{}\n".to_owned();
        }
        if c["redacted"] == serde_json::json!(["Functions[].Environment.Variables.*"]) {
            printed = redact_variables(&printed);
            redacted += 1;
        }
        let expected = mask(path, &printed);
        let raw = std::fs::read_to_string(snap.join(path)).unwrap();
        let actual = mask(path, &raw);
        assert!(
            expected == actual,
            "{path} differs from `aws {}`:\n--- aws\n{expected}\n--- snapaudit\n{actual}",
            args.join(" ")
        );
        // The manifest's digest is of these bytes.
        let digest: String = sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(raw.as_bytes()),
        )
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
        assert_eq!(c["sha256"], digest, "{path}");
        compared += 1;
    }
    // sts, 7 iam + 3 users' keys and MFA + 4 keys' last use, 9 ec2 × 2, trails, 2 statuses,
    // 2 selectors, the Trusted Advisor check list.
    assert!(compared >= 39, "only {compared} files compared");
    for path in [
        // A trail's status and event selectors are asked for, and named, by its ARN (`/`
        // written `_`): a member account sees its organisation's trail only so.
        "cloudtrail/us-east-1/get-trail-status/arn:aws:cloudtrail:us-east-1:123456789012:trail_org-trail.json",
        "cloudtrail/us-east-1/get-event-selectors/arn:aws:cloudtrail:us-east-1:123456789012:trail_org-trail.json",
        "cloudtrail/eu-west-1/get-trail-status/arn:aws:cloudtrail:eu-west-1:123456789012:trail_eu-trail.json",
        "cloudtrail/eu-west-1/get-event-selectors/arn:aws:cloudtrail:eu-west-1:123456789012:trail_eu-trail.json",
        "iam/list-server-certificates.json",
        "ec2/us-east-1/describe-flow-logs.json",
        "ec2/eu-west-1/describe-flow-logs.json",
        "ec2/us-east-1/describe-network-acls.json",
        "ec2/us-east-1/describe-route-tables.json",
        "ec2/eu-west-1/get-ebs-encryption-by-default.json",
        "kms/us-east-1/list-keys.json",
        "configservice/us-east-1/describe-configuration-recorders.json",
        "configservice/us-east-1/describe-configuration-recorder-status.json",
        "efs/us-east-1/describe-file-systems.json",
        "rds/us-east-1/describe-db-instances.json",
        "rds/us-east-1/describe-db-clusters.json",
        "securityhub/us-east-1/describe-hub.json",
        "account/get-alternate-contact-security.json",
        "logs/us-east-1/describe-metric-filters.json",
        "sns/us-east-1/list-subscriptions.json",
        "sns/us-east-1/list-topics.json",
        "s3/list-buckets.json",
        "s3/get-bucket-location/snapaudit-sealed.json",
        "s3/get-bucket-policy/snapaudit-sealed.json",
        "s3/get-public-access-block/snapaudit-sealed.json",
        "s3/get-bucket-versioning/snapaudit-sealed.json",
        "s3/get-bucket-logging/snapaudit-sealed.json",
        "s3control/get-public-access-block.json",
        "sqs/us-east-1/list-queues.json",
        "lambda/us-east-1/list-functions.json",
        "lambda/us-east-1/get-policy/public-fn.json",
        "secretsmanager/us-east-1/list-secrets.json",
    ] {
        assert_eq!(call(&m, path)["status"], "ok", "{path}");
    }
    assert_eq!(
        call(
            &m,
            "cloudtrail/us-east-1/get-trail-status/arn:aws:cloudtrail:us-east-1:123456789012:trail_org-trail.json"
        )["parameters"],
        serde_json::json!({"Name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"})
    );
    // Answers that say "there is none" are absences, not failures.
    for (path, code) in [
        (
            "s3/get-bucket-policy/snapaudit-trail-logs.json",
            "NoSuchBucketPolicy",
        ),
        (
            "s3/get-public-access-block/snapaudit-trail-logs.json",
            "NoSuchPublicAccessBlockConfiguration",
        ),
        (
            "lambda/us-east-1/get-policy/private-fn.json",
            "ResourceNotFoundException",
        ),
    ] {
        assert_eq!(call(&m, path)["error"]["code"], code, "{path}");
    }
    // The Lambda environment's values never reach the disk; the manifest says what was
    // taken out, and the file is the CLI's output with exactly that replaced.
    assert_eq!(redacted, 2, "list-functions in both regions");
    let functions =
        std::fs::read_to_string(snap.join("lambda/us-east-1/list-functions.json")).unwrap();
    assert!(!functions.contains("hunter2"), "{functions}");
    assert!(functions.contains(r#""DB_PASSWORD": "(redacted by snapaudit)""#));
    assert_eq!(
        call(&m, "lambda/us-east-1/list-functions.json")["redacted"],
        serde_json::json!(["Functions[].Environment.Variables.*"])
    );

    // Directories 0700, files 0600; no secret anywhere.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in walkdir::WalkDir::new(&snap) {
            let entry = entry.unwrap();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            let want = if entry.file_type().is_dir() {
                0o700
            } else {
                0o600
            };
            assert_eq!(mode, want, "{}", entry.path().display());
        }
    }
    assert_no_secrets(&snap, &[out.stdout, out.stderr].concat());
    // Nor the account's own secrets: a Lambda environment's values, a secret's value.
    for entry in walkdir::WalkDir::new(&snap) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
            for secret in ["hunter2-not-a-real-secret", "not-a-real-secret-value"] {
                assert!(
                    !text.contains(secret),
                    "{} holds {secret}",
                    entry.path().display()
                );
            }
        }
    }
    // Nothing half-written is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(snap.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // The collected snapshot audits offline.
    let check = env.snapaudit(&["check", snap.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        check.status.code(),
        Some(2),
        "the failed CloudWatch call makes the billing rule an error"
    );
    let run: Value = serde_json::from_slice(&check.stdout).unwrap();
    let has = |rule: &str, resource: &str| {
        run["findings"].as_array().unwrap().iter().any(|f| {
            f["rule_id"] == rule
                && f["resource"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .contains(resource)
        })
    };
    assert!(has("iam.user.console-mfa", "user/bob"));
    assert!(!has("iam.user.console-mfa", "user/alice"));
    assert!(has("iam.password-policy.min-length", "root"));
    assert!(!has("iam.password-policy.present", "root"));
    assert!(has("iam.access-key.multiple-active", "ci-deploy"));
    assert!(has("iam.user.direct-policies", "bob"));
    let ssh_open = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "ec2.security-group.admin-ports-open")
        .count();
    assert_eq!(ssh_open, 2, "one ssh-open group per region");
    let billing = run["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "cloudwatch.billing-alarm")
        .unwrap();
    assert_eq!(billing["result"], "error");

    // The CIS v7.0 services: each planted problem is found under its control, its
    // compliant neighbour is not.
    let cis_of = |rule: &str| -> Vec<String> {
        run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == rule)
            .flat_map(|f| f["cis"].as_array().unwrap().iter())
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    let count = |rule: &str| findings_count(&run, rule);
    assert_eq!(count("iam.server-certificate.expired"), 1);
    assert!(cis_of("iam.server-certificate.expired").contains(&"2.17".to_owned()));
    assert_eq!(count("kms.key-rotation"), 1, "the never-rotated key only");
    assert!(cis_of("kms.key-rotation").contains(&"4.6".to_owned()));
    assert_eq!(count("efs.encryption"), 1, "plain, not sealed");
    assert!(has("rds.instance.public", "db:orders"));
    assert!(has("rds.instance.encryption", "db:orders"));
    assert!(cis_of("rds.instance.public").contains(&"3.2.3".to_owned()));
    assert!(has("config.recorder-enabled", "eu-west-1"));
    assert!(!has("config.recorder-enabled", "us-east-1"));
    assert!(has("securityhub.enabled", "eu-west-1"));
    assert!(!has("securityhub.enabled", "us-east-1"));
    assert!(has("ec2.ebs.encryption-by-default", "us-east-1"));
    assert!(!has("ec2.ebs.encryption-by-default", "eu-west-1"));
    // The seeded ACL's SSH rule, and the default ACLs, which allow all inbound traffic in
    // moto as in AWS.
    assert!(count("ec2.network-acl.admin-ports-open") >= 1);
    assert_eq!(
        count("account.security-contact"),
        0,
        "a contact was registered"
    );
    let result = |id: &str| {
        run["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["result"]
            .clone()
    };
    assert_eq!(result("account.security-contact"), "pass");
    // moto has no Access Analyzer: the call failed, so the rule is an error, never a pass.
    assert_eq!(result("accessanalyzer.enabled"), "error");

    // S3 and resource policies: each planted problem under its control, each compliant
    // neighbour left alone.
    assert!(has("s3.bucket.deny-http", "snapaudit-public-site"));
    assert!(
        has("s3.bucket.deny-http", "snapaudit-trail-logs"),
        "no policy at all"
    );
    assert!(!has("s3.bucket.deny-http", "snapaudit-sealed"));
    assert!(cis_of("s3.bucket.deny-http").contains(&"3.1.1".to_owned()));
    // The account blocks public ACLs but not public policies: buckets that block nothing
    // themselves are found, the fully blocked one is not.
    assert!(has("s3.block-public-access", "snapaudit-public-site"));
    assert!(!has("s3.block-public-access", "snapaudit-sealed"));
    assert!(cis_of("s3.block-public-access").contains(&"3.1.4".to_owned()));
    assert!(has(
        "cloudtrail.bucket-access-logging",
        "snapaudit-trail-logs"
    ));
    assert!(cis_of("cloudtrail.bucket-access-logging").contains(&"4.4".to_owned()));
    for open in [
        "snapaudit-public-site",
        "public-queue",
        "public-announcements",
        "public-fn",
        "shared-secret",
    ] {
        assert!(has("resource-policy.public-principal", open), "{open}");
    }
    for closed in [
        "snapaudit-sealed",
        "account-queue",
        "plain-queue",
        "security-alarms",
        "private-fn",
        "private-secret",
    ] {
        assert!(!has("resource-policy.public-principal", closed), "{closed}");
    }
    assert!(cis_of("resource-policy.public-principal").contains(&"2.21".to_owned()));
}

fn findings_count(run: &Value, rule: &str) -> usize {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .count()
}

/// What aws-sdk-cloudwatch receives (CBOR) converts to what the aws CLI prints for the same
/// alarm: moto cannot speak CBOR, so the CLI's answer from moto is encoded as the service
/// would send it (members by name, timestamps as epoch seconds) and converted back.
#[test]
fn cloudwatch_cbor_converts_to_the_cli_shape() {
    let moto = Moto::start();
    let env = Env::new(moto.port);
    env.aws(&["sns", "create-topic", "--name", "billing"]);
    env.aws(&[
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "billing-over-100",
        "--namespace",
        "AWS/Billing",
        "--metric-name",
        "EstimatedCharges",
        "--dimensions",
        "Name=Currency,Value=USD",
        "--statistic",
        "Maximum",
        "--period",
        "21600",
        "--evaluation-periods",
        "1",
        "--threshold",
        "100.5",
        "--comparison-operator",
        "GreaterThanThreshold",
        "--alarm-actions",
        "arn:aws:sns:us-east-1:123456789012:billing",
    ]);
    let cli = env.aws(&["cloudwatch", "describe-alarms"]);
    let value: Value = serde_json::from_str(&cli).unwrap();

    // Encode the CLI's answer as CBOR, timestamps (ISO strings in the CLI's output) as
    // tagged epoch numbers, the way the service sends them.
    fn to_cbor(v: &Value, key: &str) -> ciborium::Value {
        match v {
            Value::Null => ciborium::Value::Null,
            Value::Bool(b) => ciborium::Value::Bool(*b),
            Value::Number(n) if n.is_i64() => ciborium::Value::Integer(n.as_i64().unwrap().into()),
            Value::Number(n) => ciborium::Value::Float(n.as_f64().unwrap()),
            Value::String(s) if key.ends_with("Timestamp") || key.ends_with("Updated") => {
                let t = chrono::DateTime::parse_from_rfc3339(s).unwrap();
                let secs = t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6;
                ciborium::Value::Tag(1, Box::new(ciborium::Value::Float(secs)))
            }
            Value::String(s) => ciborium::Value::Text(s.clone()),
            Value::Array(items) => {
                ciborium::Value::Array(items.iter().map(|i| to_cbor(i, key)).collect())
            }
            Value::Object(m) => ciborium::Value::Map(
                m.iter()
                    .map(|(k, v)| (ciborium::Value::Text(k.clone()), to_cbor(v, k)))
                    .collect(),
            ),
        }
    }
    let mut body = Vec::new();
    ciborium::into_writer(&to_cbor(&value, ""), &mut body).unwrap();
    let cloudwatch = snapaudit::snapshot::model::model("cloudwatch").unwrap();
    let page = cloudwatch.convert("DescribeAlarms", &body).unwrap();
    let merged = cloudwatch
        .merge_pages("DescribeAlarms", vec![page])
        .unwrap();
    assert_eq!(merged.to_cli_json(), cli);
    assert!(cli.contains("\"Threshold\": 100.5"));
}

/// What a fault proxy does with one request.
#[derive(Clone, Copy)]
enum Fault {
    Pass,
    Respond(u16, &'static str),
    /// Waits, then passes the request on.
    Delay(Duration),
    /// Closes the connection with a TCP reset instead of answering.
    Reset,
    /// Passes the request on and sends back only the first half of the answer's bytes.
    Truncate,
}

/// A proxy on 127.0.0.1 in front of moto that injects faults chosen by `rule` from the
/// request's text (one request per connection).
fn proxy(upstream: u16, rule: Arc<dyn Fn(&str) -> Fault + Send + Sync>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { continue };
            let rule = rule.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&mut client) else {
                    return;
                };
                let text = String::from_utf8_lossy(&request).into_owned();
                let fault = rule(&text);
                match fault {
                    Fault::Respond(status, body) => {
                        let _ = write!(
                            client,
                            "HTTP/1.1 {status} Fault\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        return;
                    }
                    Fault::Reset => {
                        reset(&client);
                        return;
                    }
                    Fault::Delay(d) => std::thread::sleep(d),
                    Fault::Pass | Fault::Truncate => {}
                }
                let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                let _ = up.write_all(&close_connection(&request));
                let mut response = Vec::new();
                let _ = up.read_to_end(&mut response);
                if let Fault::Truncate = fault {
                    response.truncate(response.len() / 2);
                }
                let _ = client.write_all(&response);
            });
        }
    });
    port
}

/// Drops the connection with RST rather than FIN (SO_LINGER with a zero timeout).
fn reset(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `size_of::<linger>()` bytes from a live local value, on a
    // socket this thread owns until it is dropped just after.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::linger>()).unwrap_or(8),
        );
    }
}

/// Which faults to inject: for requests whose text contains a marker (`Action=ListUsers`,
/// `CloudTrail_20131101.DescribeTrails`), the fault for the first `times` requests (every
/// request when `times` is None); and how many requests each marker saw.
struct Plan {
    faults: Vec<(&'static str, Fault, Option<usize>)>,
    seen: std::sync::Mutex<std::collections::HashMap<&'static str, usize>>,
}

impl Plan {
    fn new(faults: Vec<(&'static str, Fault, Option<usize>)>) -> Arc<Plan> {
        Arc::new(Plan {
            faults,
            seen: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    fn rule(self: &Arc<Self>) -> Arc<dyn Fn(&str) -> Fault + Send + Sync> {
        let plan = self.clone();
        Arc::new(move |req: &str| {
            for (marker, fault, times) in &plan.faults {
                if req.contains(marker) {
                    let mut seen = plan.seen.lock().unwrap();
                    let n = seen.entry(marker).or_insert(0);
                    *n += 1;
                    return match times {
                        Some(t) if *n > *t => Fault::Pass,
                        _ => *fault,
                    };
                }
            }
            Fault::Pass
        })
    }

    fn requests(&self, marker: &str) -> usize {
        self.seen.lock().unwrap().get(marker).copied().unwrap_or(0)
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
    }
}

/// The request with `Connection: close`, so the upstream ends its answer by closing.
fn close_connection(request: &[u8]) -> Vec<u8> {
    let end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(request.get(end + 4..).unwrap_or_default());
    bytes
}

const ACCESS_DENIED: &str = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: iam:GetAccountSummary</Message></Error><RequestId>4d1c8e0a-0000-0000-0000-000000000001</RequestId></ErrorResponse>"#;
const THROTTLING: &str = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>4d1c8e0a-0000-0000-0000-000000000002</RequestId></ErrorResponse>"#;

#[test]
fn failed_calls_are_recorded_and_the_run_completes() {
    let moto = Moto::start();
    seed(&Env::new(moto.port), false);
    let rule: Arc<dyn Fn(&str) -> Fault + Send + Sync> = Arc::new(|req: &str| {
        if req.contains("Action=GetAccountSummary") {
            Fault::Respond(403, ACCESS_DENIED)
        } else if req.contains("Action=ListVirtualMFADevices") {
            Fault::Respond(400, THROTTLING)
        } else {
            Fault::Pass
        }
    });
    let env = Env::new(proxy(moto.port, rule));
    let snap = env.dir.path().join("snap");
    let start = Instant::now();
    let out = collect(&env, &snap, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "the run took {:?}",
        start.elapsed()
    );
    let m = manifest(&snap);
    let summary = call(&m, "iam/get-account-summary.json");
    assert_eq!(summary["status"], "error");
    assert_eq!(summary["error"]["code"], "AccessDenied");
    assert!(summary["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not authorized"));
    // Throttled on every attempt: recorded after the SDK's retries.
    assert_eq!(
        call(&m, "iam/list-virtual-mfa-devices.json")["error"]["code"],
        "Throttling"
    );
    assert_eq!(
        call(&m, "iam/get-account-password-policy.json")["error"]["code"],
        "NoSuchEntity"
    );
    assert!(!snap.join("iam/get-account-summary.json").exists());
    // The rest was collected.
    assert_eq!(call(&m, "iam/list-users.json")["status"], "ok");
    assert!(stderr.contains("AccessDenied ×1"), "{stderr}");
    assert!(stderr.contains("Throttling ×1"), "{stderr}");
    assert_no_secrets(&snap, &[out.stdout, out.stderr].concat());

    // check: the denied summary makes the rules that need it errors, not passes.
    let check = env.snapaudit(&["check", snap.to_str().unwrap(), "--format", "json"]);
    let run: Value = serde_json::from_slice(&check.stdout).unwrap();
    let result = |id: &str| common::rule_result(&run, id).0;
    assert_eq!(result("iam.root.hardware-mfa"), "error");
    // The missing password policy is an answer: a finding, not an error.
    assert_eq!(result("iam.password-policy.present"), "fail");
}

#[test]
fn an_interrupt_leaves_no_snapshot_behind() {
    let moto = Moto::start();
    let rule: Arc<dyn Fn(&str) -> Fault + Send + Sync> = Arc::new(|req: &str| {
        if req.contains("Action=DescribeInstances") {
            Fault::Delay(Duration::from_secs(60))
        } else {
            Fault::Pass
        }
    });
    let env = Env::new(proxy(moto.port, rule));
    let parent = env.dir.path().join("snapshots");
    let snap = parent.join("acct");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapaudit"));
    env.apply(&mut cmd);
    let mut child = cmd
        .args([
            "collect",
            "--region",
            "us-east-1",
            "--out",
            snap.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the collection is writing (its temporary directory exists).
    let start = Instant::now();
    loop {
        let partial = std::fs::read_dir(&parent)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".partial-"));
        if partial {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the collection never started writing"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let waited = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the collector did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!code.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!snap.exists(), "a snapshot was left at {}", snap.display());
    let left: Vec<_> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `--services` and `--skip-services` select from the catalogue's services; an unknown one
/// is refused, naming the ones there are.
#[test]
fn services_are_selected_from_the_catalogue() {
    let options = |services: &[&str], skip: &[&str]| snapaudit::collect::Options {
        profile: None,
        regions: Vec::new(),
        all_regions: false,
        out: None,
        concurrency: 1,
        verbose: false,
        timeout: Duration::from_secs(1),
        max_attempts: 1,
        services: services.iter().map(|s| (*s).to_owned()).collect(),
        skip_services: skip.iter().map(|s| (*s).to_owned()).collect(),
    };
    let all = options(&[], &[]).selected_services().unwrap();
    assert_eq!(
        all,
        [
            "sts",
            "iam",
            "ec2",
            "cloudtrail",
            "cloudwatch",
            "support",
            "kms",
            "configservice",
            "efs",
            "rds",
            "securityhub",
            "accessanalyzer",
            "account",
            "logs",
            "sns",
            "s3api",
            "s3control",
            "sqs",
            "lambda",
            "secretsmanager"
        ]
    );
    assert_eq!(
        options(&["iam", "ec2"], &[]).selected_services().unwrap(),
        ["iam", "ec2"]
    );
    assert_eq!(
        options(&[], &["support", "cloudwatch"])
            .selected_services()
            .unwrap(),
        [
            "sts",
            "iam",
            "ec2",
            "cloudtrail",
            "kms",
            "configservice",
            "efs",
            "rds",
            "securityhub",
            "accessanalyzer",
            "account",
            "logs",
            "sns",
            "s3api",
            "s3control",
            "sqs",
            "lambda",
            "secretsmanager"
        ]
    );
    let err = options(&["s3x"], &[]).selected_services().unwrap_err();
    assert!(err.to_string().contains("unknown service `s3x`"), "{err}");
}

/// The catalogue is the one description of the calls: every call of it has an SDK binding,
/// and every call the collector recorded is the catalogue's call for its path.
#[test]
fn every_catalogue_call_has_an_sdk_binding() {
    let catalogue = snapaudit::snapshot::catalogue::catalogue();
    for c in &catalogue.call {
        assert!(
            snapaudit::collect::calls::is_bound(c),
            "{} {} has no SDK binding",
            c.service,
            c.operation
        );
    }
}

/// More reservations than one page holds (moto pages DescribeInstances at 100): the
/// collector follows the tokens and merges the pages into one file, exactly as the aws CLI
/// prints it.
#[test]
fn pages_are_merged_like_the_cli() {
    let moto = Moto::start();
    let env = Env::new(moto.port);
    // 130 reservations through the CLI would take minutes; boto3 (moto's own dependency in
    // the same venv) makes them in one process.
    let script = format!(
        "import boto3\nc = boto3.client('ec2', endpoint_url='{}', region_name='us-east-1')\nimage = c.describe_images(Owners=['amazon'])['Images'][0]['ImageId']\nfor i in range(130):\n    c.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType='t3.micro')\n",
        env.endpoint
    );
    let mut cmd = Command::new(venv().join("bin/python"));
    env.apply(&mut cmd);
    let seeded = cmd.args(["-c", &script]).output().unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );

    let snap = env.dir.path().join("snap");
    let out = env.snapaudit(&[
        "collect",
        "--region",
        "us-east-1",
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = env.aws(&["ec2", "describe-instances", "--region", "us-east-1"]);
    let actual =
        std::fs::read_to_string(snap.join("ec2/us-east-1/describe-instances.json")).unwrap();
    assert!(
        expected == actual,
        "describe-instances.json differs from `aws ec2 describe-instances`"
    );
    let value: Value = serde_json::from_str(&actual).unwrap();
    assert_eq!(
        value["Reservations"].as_array().unwrap().len(),
        130,
        "both pages are in the file"
    );
    assert!(value.get("NextToken").is_none());
}

const INTERNAL_ERROR: &str = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error><RequestId>4d1c8e0a-0000-0000-0000-000000000003</RequestId></ErrorResponse>"#;

/// A hostile network between the collector and moto: 500s, connection resets, truncated
/// bodies and answers slower than `--timeout`, first as passing faults (the SDK's retries
/// must absorb them: the files equal a clean collection's) and then as persistent ones
/// (recorded in the manifest with their codes, the run ends in bounded time, exit 3). The
/// run logs at `RUST_LOG=trace` with `-v`, and neither the snapshot nor the log may hold
/// the secret key or the session token.
#[test]
fn the_collector_survives_a_hostile_network() {
    let moto = Moto::start();
    let direct = Env::new(moto.port);
    seed(&direct, true);
    let clean = direct.dir.path().join("clean");
    let out = collect(&direct, &clean, &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "moto has no Trusted Advisor or CloudWatch"
    );

    let slow = Fault::Delay(Duration::from_secs(4));
    let plan = Plan::new(vec![
        // Transient: fail, then answer.
        (
            "Action=ListUsers",
            Fault::Respond(500, INTERNAL_ERROR),
            Some(2),
        ),
        ("Action=DescribeSecurityGroups", Fault::Reset, Some(1)),
        ("Action=GetAccountSummary", Fault::Truncate, Some(1)),
        ("Action=DescribeVpcs", slow, Some(1)),
        // Persistent: every attempt fails.
        (
            "Action=GetAccountAuthorizationDetails",
            Fault::Respond(500, INTERNAL_ERROR),
            None,
        ),
        ("Action=DescribeNetworkInterfaces", Fault::Reset, None),
        ("Action=ListVirtualMFADevices", Fault::Truncate, None),
        ("CloudTrail_20131101.DescribeTrails", slow, None),
    ]);
    let env = Env::new(proxy(moto.port, plan.rule()));
    let snap = env.dir.path().join("snap");
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapaudit"));
    env.apply(&mut cmd);
    let out = cmd
        .env("RUST_LOG", "trace")
        .args([
            "collect",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--out",
            snap.to_str().unwrap(),
            "--timeout",
            "2",
            "--max-attempts",
            "3",
            "-v",
        ])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        &stderr[stderr.len().saturating_sub(3000)..]
    );
    // Not a speed claim: every call is bounded by its attempts × timeout plus backoff.
    assert!(
        elapsed < Duration::from_secs(180),
        "the run took {elapsed:?}"
    );
    assert!(stderr.contains("TRACE"), "the log ran at trace level");

    let m = manifest(&snap);
    // Transient faults were retried and absorbed: the same bytes as without the proxy.
    for (marker, path) in [
        ("Action=ListUsers", "iam/list-users.json"),
        (
            "Action=DescribeSecurityGroups",
            "ec2/us-east-1/describe-security-groups.json",
        ),
        ("Action=GetAccountSummary", "iam/get-account-summary.json"),
        ("Action=DescribeVpcs", "ec2/eu-west-1/describe-vpcs.json"),
    ] {
        assert!(plan.requests(marker) >= 2, "{marker} was not retried");
        assert_eq!(call(&m, path)["status"], "ok", "{path}: {}", call(&m, path));
        assert_eq!(
            std::fs::read_to_string(snap.join(path)).unwrap(),
            std::fs::read_to_string(clean.join(path)).unwrap(),
            "{path}"
        );
    }
    // Persistent faults are recorded with their codes after three attempts each.
    for (marker, path, code) in [
        (
            "Action=GetAccountAuthorizationDetails",
            "iam/get-account-authorization-details.json",
            "InternalError",
        ),
        (
            "Action=DescribeNetworkInterfaces",
            "ec2/us-east-1/describe-network-interfaces.json",
            "DispatchFailure",
        ),
        (
            "Action=ListVirtualMFADevices",
            "iam/list-virtual-mfa-devices.json",
            "ResponseError",
        ),
        (
            "CloudTrail_20131101.DescribeTrails",
            "cloudtrail/us-east-1/describe-trails.json",
            "Timeout",
        ),
    ] {
        let c = call(&m, path);
        assert_eq!(c["status"], "error", "{path}");
        assert_eq!(c["error"]["code"], code, "{path}: {c}");
        assert!(!snap.join(path).exists(), "{path}");
        assert!(
            plan.requests(marker) >= 3,
            "{marker}: {} requests",
            plan.requests(marker)
        );
    }
    // The summary says the snapshot is partial, and `check` reports the gaps as errors.
    assert!(
        stderr.contains("InternalError ×1"),
        "{}",
        &stderr[stderr.len().saturating_sub(2000)..]
    );
    let check = env.snapaudit(&["check", snap.to_str().unwrap(), "--format", "json"]);
    assert_eq!(check.status.code(), Some(2));
    let run: Value = serde_json::from_slice(&check.stdout).unwrap();
    let result = |id: &str| common::rule_result(&run, id).0;
    assert_eq!(result("iam.policy.full-admin"), "error");
    assert_eq!(result("cloudtrail.multi-region"), "error");
    // Nothing secret in the snapshot, the summary or the trace-level log.
    assert_no_secrets(&snap, &[out.stdout, out.stderr].concat());
}

/// Credentials of a role assumed with the aws CLI: key id, secret, token.
type Assumed = (String, String, String);

impl Env {
    /// The aws CLI with the credentials of `role_arn`.
    fn assume(&self, role_arn: &str) -> Assumed {
        let c = self.aws_json(&[
            "sts",
            "assume-role",
            "--role-arn",
            role_arn,
            "--role-session-name",
            // The collector's default session name: the identity files then agree.
            "snapaudit",
        ]);
        let c = &c["Credentials"];
        let text = |k: &str| c[k].as_str().unwrap().to_owned();
        (
            text("AccessKeyId"),
            text("SecretAccessKey"),
            text("SessionToken"),
        )
    }

    /// Runs the aws CLI with `creds`; its standard output.
    fn aws_as(&self, creds: &Assumed, args: &[&str]) -> String {
        self.aws_with(Some(creds), args)
    }
}

/// An Organization on moto: the management account (123456789012), a member in the
/// `Workloads` OU tagged `Environment=prod` with a user without MFA, a member whose role
/// will be refused, and a suspended member. Returns the members' ids in that order.
fn seed_organization(env: &Env) -> (String, String, String) {
    env.aws(&[
        "organizations",
        "create-organization",
        "--feature-set",
        "ALL",
    ]);
    let create = |name: &str| {
        let made = env.aws_json(&[
            "organizations",
            "create-account",
            "--email",
            &format!("{name}@example.com"),
            "--account-name",
            name,
        ]);
        made["CreateAccountStatus"]["AccountId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (member, denied, suspended) = (create("member"), create("denied"), create("suspended"));
    let root = env.aws_json(&["organizations", "list-roots"])["Roots"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ou = env.aws_json(&[
        "organizations",
        "create-organizational-unit",
        "--parent-id",
        &root,
        "--name",
        "Workloads",
    ])["OrganizationalUnit"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.aws(&[
        "organizations",
        "move-account",
        "--account-id",
        &member,
        "--source-parent-id",
        &root,
        "--destination-parent-id",
        &ou,
    ]);
    env.aws(&[
        "organizations",
        "tag-resource",
        "--resource-id",
        &member,
        "--tags",
        "Key=Environment,Value=prod",
    ]);
    env.aws(&["organizations", "close-account", "--account-id", &suspended]);
    // The member's planted problem: a console user without MFA, made as the member.
    let creds = env.assume(&format!(
        "arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    ));
    env.aws_as(&creds, &["iam", "create-user", "--user-name", "carol"]);
    env.aws_as(
        &creds,
        &[
            "iam",
            "create-login-profile",
            "--user-name",
            "carol",
            "--password",
            "Not-a-real-password-1",
        ],
    );
    (member, denied, suspended)
}

fn org_collect(env: &Env, out: &Path, extra: &[&str], index: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapaudit"));
    env.apply(&mut cmd);
    if let Some(i) = index {
        cmd.env("JOB_COMPLETION_INDEX", i);
    }
    cmd.args([
        "collect",
        "--org",
        "--region",
        "us-east-1",
        "--services",
        "iam,s3api",
        "--out",
        out.to_str().unwrap(),
    ])
    .args(extra)
    .output()
    .expect("run snapaudit")
}

/// Every file of a directory tree (relative paths), manifests and records left out.
fn snapshot_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|p| {
            !p.ends_with("manifest.json")
                && !p.contains("organization.json")
                && !p.starts_with("shards/")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn an_organization_is_collected_account_by_account() {
    let moto = Moto::start();
    let seeding = Env::new(moto.port);
    let (member, denied, suspended) = seed_organization(&seeding);
    // Where the workers without a shared disk write (made first, so that every run below
    // sees the same buckets in the management account).
    seeding.aws(&["s3api", "create-bucket", "--bucket", SNAPSHOT_BUCKET]);
    // The denied member's role refuses the caller (moto assumes any role: the proxy says
    // no, as IAM would).
    // Organizations throttles its tag lookups for that account past every retry: its place
    // is recorded as unknown and the run goes on.
    let refused = denied.clone();
    let rule: Arc<dyn Fn(&str) -> Fault + Send + Sync> = Arc::new(move |req: &str| {
        if req.contains("Action=AssumeRole") && req.contains(&refused) {
            Fault::Respond(403, ASSUME_DENIED)
        } else if req.contains("AWSOrganizationsV20161128.ListTagsForResource")
            && req.contains(&refused)
        {
            Fault::Respond(400, ORGANIZATIONS_THROTTLED)
        } else {
            Fault::Pass
        }
    });
    let env = Env::new(proxy(moto.port, rule));
    let dir = env.dir.path().join("org");
    let out = org_collect(&env, &dir, &[], None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(3),
        "the refused role makes the run incomplete: {stderr}"
    );

    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("organization.json")).unwrap())
            .unwrap();
    assert!(record["organization_id"]
        .as_str()
        .unwrap()
        .starts_with("o-"));
    assert_eq!(record["management_account_id"], "123456789012");
    let account = |id: &str| {
        record["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not in the record"))
            .clone()
    };
    assert_eq!(account("123456789012")["outcome"], "collected");
    let m = account(&member);
    assert_eq!(m["outcome"], "collected");
    assert_eq!(m["name"], "member");
    assert_eq!(m["ou_path"], serde_json::json!(["Root", "Workloads"]));
    assert_eq!(m["tags"], serde_json::json!({"Environment": "prod"}));
    let d = account(&denied);
    assert_eq!(d["outcome"], "assume-role-failed");
    assert!(
        d["message"].as_str().unwrap().contains("AccessDenied"),
        "{d}"
    );
    assert!(
        d["message"].as_str().unwrap().contains(
            "tags unknown: organizations ListTagsForResource failed with TooManyRequestsException"
        ),
        "{d}"
    );
    assert_eq!(account(&suspended)["outcome"], "skipped-suspended");
    // One snapshot per collected account, none for the others.
    assert!(dir.join("123456789012/manifest.json").exists());
    assert!(dir.join(&member).join("manifest.json").exists());
    assert!(!dir.join(&denied).exists());
    assert!(!dir.join(&suspended).exists());
    assert_eq!(manifest(&dir.join(&member))["account_id"], member.as_str());

    // Every member file is what the aws CLI prints under the member's role.
    let creds = env.assume(&format!(
        "arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    ));
    let snap = dir.join(&member);
    let mm = manifest(&snap);
    let mut compared = 0;
    for c in mm["calls"].as_array().unwrap() {
        if c["status"] != "ok" {
            continue;
        }
        let path = c["path"].as_str().unwrap();
        let mut args: Vec<String> = vec![
            c["service"].as_str().unwrap().to_owned(),
            cli_name(c["operation"].as_str().unwrap()),
            "--region".into(),
            c["region"].as_str().unwrap().to_owned(),
        ];
        if c["parameters"].as_object().is_some_and(|o| !o.is_empty()) {
            args.push("--cli-input-json".into());
            args.push(c["parameters"].to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut printed = env.aws_as(&creds, &args);
        if printed.is_empty() {
            printed = "{}\n".to_owned();
        }
        let raw = std::fs::read_to_string(snap.join(path)).unwrap();
        assert_eq!(mask(path, &printed), mask(path, &raw), "{path}");
        compared += 1;
    }
    assert!(compared >= 8, "only {compared} files compared");
    let users = std::fs::read_to_string(snap.join("iam/list-users.json")).unwrap();
    assert!(users.contains("carol"), "the member's own user: {users}");
    assert_no_secrets(&dir, &[out.stdout, out.stderr].concat());

    // Two shards, each given its index the way a Kubernetes Indexed Job does, write
    // disjoint sets into one directory whose union is the unsharded run.
    let sharded = env.dir.path().join("sharded");
    for index in ["0", "1"] {
        let out = org_collect(&env, &sharded, &["--shard-count", "2"], Some(index));
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ids = |path: &Path| -> Vec<String> {
        let r: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        r["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let one = ids(&sharded.join("shards/1-of-2.json"));
    let two = ids(&sharded.join("shards/2-of-2.json"));
    assert!(one.iter().all(|id| !two.contains(id)), "{one:?} {two:?}");
    let mut union: Vec<String> = one.into_iter().chain(two).collect();
    union.sort();
    assert_eq!(union, ids(&dir.join("organization.json")));
    assert_eq!(snapshot_files(&sharded), snapshot_files(&dir));

    // A worker run again into the same directory (a retried index) keeps what it wrote:
    // nothing it had collected becomes a failure.
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(sharded.join("shards/1-of-2.json")).unwrap())
            .unwrap();
    let again = org_collect(&env, &sharded, &["--shard-count", "2"], Some("0"));
    assert!(
        matches!(again.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let second: Value =
        serde_json::from_str(&std::fs::read_to_string(sharded.join("shards/1-of-2.json")).unwrap())
            .unwrap();
    for (a, b) in first["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(second["accounts"].as_array().unwrap())
    {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["outcome"], b["outcome"], "{b}");
    }

    // `check` on the organisation: the member's planted problem under the member's
    // account, not the management account's; the refused account makes it incomplete.
    let check = |d: &Path| -> (Option<i32>, Value) {
        let out = env.snapaudit(&["check", d.to_str().unwrap(), "--format", "json"]);
        (
            out.status.code(),
            serde_json::from_slice(&out.stdout).unwrap(),
        )
    };
    let (code, run) = check(&dir);
    assert_eq!(code, Some(2), "an account could not be collected");
    let found = |run: &Value| -> Vec<(String, String, String)> {
        let mut f: Vec<(String, String, String)> = run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["account"]["id"].as_str().unwrap().to_owned(),
                    f["rule_id"].as_str().unwrap().to_owned(),
                    f["resource"]["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        f.sort();
        f
    };
    let findings = found(&run);
    assert!(
        findings.iter().any(|(a, r, res)| a == &member
            && r == "iam.user.console-mfa"
            && res.ends_with("user/carol")),
        "{findings:?}"
    );
    assert!(!findings
        .iter()
        .any(|(a, _, res)| a == "123456789012" && res.contains("carol")));
    let outcome_of = |run: &Value, id: &str| {
        run["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome_of(&run, &denied), "assume-role-failed");
    // The merged shards audit as the unsharded run does.
    let (sharded_code, sharded_run) = check(&sharded);
    assert_eq!(sharded_code, code);
    assert_eq!(found(&sharded_run), findings);

    // Workers without a shared disk: the same run into an S3 prefix. What lands there is
    // the local form (fetched back with the aws CLI), and `check s3://…` audits it as
    // `check DIR` does, naming the S3 location, never the temporary copy.
    let prefix = format!("s3://{SNAPSHOT_BUCKET}/org-run");
    // What an upload cut short left (a file without its manifest) is not mixed in.
    let leftover = env.dir.path().join("leftover.json");
    std::fs::write(&leftover, "{}\n").unwrap();
    let put = |key: &str| {
        seeding.aws(&[
            "s3api",
            "put-object",
            "--bucket",
            SNAPSHOT_BUCKET,
            "--key",
            key,
            "--body",
            leftover.to_str().unwrap(),
        ])
    };
    put(&format!("org-run/{member}/iam/leftover.json"));
    let out = org_collect(&env, Path::new(&prefix), &[], None);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&prefix),
        "the summary names where the snapshots went"
    );
    let fetched = env.dir.path().join("from-s3");
    env.aws(&["s3", "sync", &prefix, fetched.to_str().unwrap()]);
    assert_eq!(snapshot_files(&fetched), snapshot_files(&dir));
    for rel in snapshot_files(&dir) {
        let local = std::fs::read_to_string(dir.join(&rel)).unwrap();
        let remote = std::fs::read_to_string(fetched.join(&rel)).unwrap();
        assert_eq!(mask(&rel, &remote), mask(&rel, &local), "{rel}");
    }
    assert_eq!(
        ids(&fetched.join("organization.json")),
        ids(&dir.join("organization.json"))
    );
    // Byte for byte what the collector wrote: every object matches its manifest's sha256.
    let mut verified = 0;
    for account in std::fs::read_dir(&fetched).unwrap() {
        let folder = account.unwrap().path();
        let Ok(text) = std::fs::read_to_string(folder.join("manifest.json")) else {
            continue;
        };
        let m: Value = serde_json::from_str(&text).unwrap();
        for c in m["calls"].as_array().unwrap() {
            let Some(sha) = c["sha256"].as_str() else {
                continue;
            };
            let bytes = std::fs::read(folder.join(c["path"].as_str().unwrap())).unwrap();
            let digest: String = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(digest, sha, "{}", c["path"]);
            verified += 1;
        }
    }
    assert!(verified > 20, "only {verified} objects verified");
    let s3_out = env.snapaudit(&["check", &prefix, "--format", "json"]);
    let s3_text = String::from_utf8_lossy(&s3_out.stdout).into_owned();
    assert_eq!(s3_out.status.code(), code);
    let s3_run: Value = serde_json::from_str(&s3_text).unwrap();
    assert_eq!(found(&s3_run), findings);
    // The same diagnostics too (no missing file, no digest mismatch from the round trip).
    let codes = |run: &Value| -> Vec<String> {
        let mut c: Vec<String> = run["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap_or("").to_owned())
            .collect();
        c.sort();
        c
    };
    assert_eq!(codes(&s3_run), codes(&run));
    assert!(s3_text.contains(&format!("{prefix}/{member}")), "{s3_text}");
    assert!(!s3_text.contains("snapaudit-s3-"), "{s3_text}");
    // The same worker run again keeps what the prefix holds.
    let again = org_collect(&env, Path::new(&prefix), &[], None);
    assert_eq!(again.status.code(), Some(3));
    let refetched = env.dir.path().join("from-s3-again");
    env.aws(&["s3", "sync", &prefix, refetched.to_str().unwrap()]);
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(refetched.join("organization.json")).unwrap(),
    )
    .unwrap();
    let kept = record["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == member.as_str())
        .unwrap();
    assert_eq!(kept["outcome"], "collected");
    assert!(
        kept["message"]
            .as_str()
            .is_some_and(|m| m.contains("kept from an earlier run")),
        "{kept}"
    );
    // `diff` reads S3 too: the local run against the S3 run finds what it finds between
    // two local copies of one run.
    let diff = |old: &str, new: &str| {
        let out = env.snapaudit(&["diff", old, new, "--format", "json"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let run: Value = serde_json::from_str(&text).unwrap();
        (out.status.code(), run["summary"].clone(), text)
    };
    let local = dir.to_str().unwrap();
    let (s3_code, s3_summary, s3_text) = diff(local, &prefix);
    let (local_code, local_summary, _) = diff(local, local);
    assert_eq!((s3_code, s3_summary), (local_code, local_summary));
    assert!(s3_text.contains(&prefix), "{s3_text}");
    assert!(!s3_text.contains("snapaudit-s3-"), "{s3_text}");
    // A key that would leave the fetched directory stops the fetch; nothing is audited and
    // no temporary copy stays behind.
    let copies = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("snapaudit-s3-"))
            })
            .count()
    };
    let before = copies();
    put("hostile/../escaped.json");
    let hostile = env.snapaudit(&["check", &format!("s3://{SNAPSHOT_BUCKET}/hostile")]);
    assert_eq!(hostile.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&hostile.stderr).contains("store::unsafe-key"),
        "{}",
        String::from_utf8_lossy(&hostile.stderr)
    );
    assert_eq!(copies(), before, "a temporary copy was left behind");
    // Nothing there is an error, not an empty audit.
    let missing = env.snapaudit(&["check", &format!("s3://{SNAPSHOT_BUCKET}/no-such-run")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("store::fetch"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // One account into S3: the prefix holds the snapshot, `check` reads it, and a second
    // collection into the same prefix is refused rather than mixed in.
    let single = format!("s3://{SNAPSHOT_BUCKET}/single");
    let collect_one = || {
        env.snapaudit(&[
            "collect",
            "--region",
            "us-east-1",
            "--services",
            "iam",
            "--out",
            &single,
        ])
    };
    let one = collect_one();
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let checked = env.snapaudit(&["check", &single, "--format", "json"]);
    let run: Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(run["snapshot"]["path"], single.as_str());
    assert_eq!(run["snapshot"]["account_id"], "123456789012");
    let sarif = env.snapaudit(&["check", &single, "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["originalUriBaseIds"]["SNAPSHOT"]["uri"],
        format!("{single}/")
    );
    let twice = collect_one();
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already holds objects"));
    assert_no_secrets(&fetched, &[out.stdout, out.stderr].concat());
}

const ORGANIZATIONS_THROTTLED: &str = r#"{"__type":"TooManyRequestsException","Message":"AWS Organizations can't complete your request because another request is already in progress. Try again later."}"#;

/// The bucket the S3 runs write into.
const SNAPSHOT_BUCKET: &str = "audit-snapshots";

const ASSUME_DENIED: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>4d1c8e0a-0000-0000-0000-000000000004</RequestId></ErrorResponse>"#;
