//! `snapaudit check` on the bundled example snapshot: every planted problem is reported
//! with its resource, severity and location; compliant resources are not.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::{findings_of, rule_result, snapaudit};

/// (rule, resource name, severity, file, line, column) of every finding the example must
/// produce. Lines and columns were read off the example's files (see the location test
/// below, which checks each one against the file's text).
const EXPECTED: &[(&str, &str, &str, &str, u64, u64)] = &[
    (
        "accessanalyzer.enabled",
        "eu-west-1",
        "low",
        "accessanalyzer/eu-west-1/list-analyzers.json",
        2,
        18,
    ),
    (
        "account.security-contact",
        "account 111122223333",
        "low",
        "manifest.json",
        35,
        5,
    ),
    (
        "cloudtrail.bucket-access-logging",
        "example-cloudtrail-111122223333",
        "low",
        "s3/get-bucket-logging/example-cloudtrail-111122223333.json",
        1,
        1,
    ),
    (
        "cloudtrail.kms-encryption",
        "legacy-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        18,
        9,
    ),
    (
        "cloudtrail.log-file-validation",
        "legacy-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        26,
        41,
    ),
    (
        "cloudtrail.logging",
        "eu-audit",
        "high",
        "cloudtrail/eu-west-1/get-trail-status/arn:aws:cloudtrail:eu-west-1:111122223333:trail_eu-audit.json",
        2,
        18,
    ),
    (
        "cloudtrail.s3-object-read-logging",
        "account 111122223333",
        "low",
        "cloudtrail/us-east-1/get-event-selectors/arn:aws:cloudtrail:us-east-1:111122223333:trail_org-trail.json",
        3,
        23,
    ),
    (
        "cloudwatch.billing-alarm",
        "account 111122223333",
        "low",
        "cloudwatch/us-east-1/describe-alarms.json",
        2,
        21,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "cloudwatch.cis-monitoring",
        "log group cloudtrail/org-trail",
        "medium",
        "cloudtrail/us-east-1/describe-trails.json",
        11,
        42,
    ),
    (
        "config.recorder-enabled",
        "eu-west-1",
        "medium",
        "configservice/eu-west-1/describe-configuration-recorders.json",
        2,
        31,
    ),
    (
        "ec2.ami.age",
        "batch-1",
        "medium",
        "ec2/eu-west-1/describe-images.json",
        31,
        29,
    ),
    (
        "ec2.ami.age",
        "batch-old",
        "low",
        "ec2/eu-west-1/describe-instances.json",
        283,
        32,
    ),
    (
        "ec2.ebs.encryption-by-default",
        "eu-west-1",
        "medium",
        "ec2/eu-west-1/get-ebs-encryption-by-default.json",
        2,
        31,
    ),
    (
        "ec2.instance.default-vpc",
        "batch-1",
        "low",
        "ec2/eu-west-1/describe-instances.json",
        154,
        30,
    ),
    (
        "ec2.instance.default-vpc",
        "batch-old",
        "low",
        "ec2/eu-west-1/describe-instances.json",
        306,
        30,
    ),
    (
        "ec2.instance.imdsv2",
        "web-1",
        "medium",
        "ec2/us-east-1/describe-instances.json",
        111,
        39,
    ),
    (
        "ec2.instance.no-instance-role",
        "batch-1",
        "low",
        "ec2/eu-west-1/describe-instances.json",
        130,
        35,
    ),
    (
        "ec2.instance.no-instance-role",
        "batch-old",
        "low",
        "ec2/eu-west-1/describe-instances.json",
        282,
        35,
    ),
    (
        "ec2.instance.no-instance-role",
        "web-1",
        "low",
        "ec2/us-east-1/describe-instances.json",
        140,
        35,
    ),
    (
        "ec2.instance.public-ip",
        "web-1",
        "medium",
        "ec2/us-east-1/describe-instances.json",
        166,
        40,
    ),
    (
        "ec2.network-acl.admin-ports-open",
        "acl-0a11000000000000b",
        "medium",
        "ec2/us-east-1/describe-network-acls.json",
        111,
        34,
    ),
    (
        "ec2.network-acl.admin-ports-open",
        "acl-0d3f0000000000001",
        "medium",
        "ec2/us-east-1/describe-network-acls.json",
        21,
        34,
    ),
    (
        "ec2.network-acl.admin-ports-open",
        "acl-0d3f0000000000001",
        "medium",
        "ec2/us-east-1/describe-network-acls.json",
        21,
        34,
    ),
    (
        "ec2.security-group.admin-ports-open",
        "all-open-demo",
        "medium",
        "ec2/us-east-1/describe-security-groups.json",
        230,
        39,
    ),
    (
        "ec2.security-group.admin-ports-open",
        "default",
        "medium",
        "ec2/us-east-1/describe-security-groups.json",
        276,
        39,
    ),
    (
        "ec2.security-group.admin-ports-open",
        "ssh-open",
        "high",
        "ec2/us-east-1/describe-security-groups.json",
        66,
        39,
    ),
    (
        "ec2.security-group.admin-ports-open-ipv6",
        "rdp-legacy",
        "medium",
        "ec2/us-east-1/describe-security-groups.json",
        103,
        41,
    ),
    (
        "ec2.security-group.cifs-open",
        "all-open-demo",
        "medium",
        "ec2/us-east-1/describe-security-groups.json",
        230,
        39,
    ),
    (
        "ec2.security-group.cifs-open",
        "default",
        "medium",
        "ec2/us-east-1/describe-security-groups.json",
        276,
        39,
    ),
    (
        "ec2.security-group.cifs-open",
        "file-share",
        "high",
        "ec2/eu-west-1/describe-security-groups.json",
        114,
        39,
    ),
    (
        "ec2.security-group.default-allows",
        "default",
        "medium",
        "ec2/us-east-1/describe-security-groups.json",
        276,
        39,
    ),
    (
        "ec2.security-group.default-has-rules",
        "default",
        "low",
        "ec2/eu-west-1/describe-security-groups.json",
        23,
        30,
    ),
    (
        "ec2.security-group.default-has-rules",
        "default",
        "low",
        "ec2/us-east-1/describe-security-groups.json",
        23,
        30,
    ),
    (
        "ec2.security-group.default-has-rules",
        "default",
        "low",
        "ec2/us-east-1/describe-security-groups.json",
        258,
        30,
    ),
    (
        "ec2.security-group.world-open",
        "db-access",
        "low",
        "ec2/eu-west-1/describe-security-groups.json",
        72,
        39,
    ),
    (
        "ec2.security-group.world-open",
        "https_everywhere",
        "info",
        "ec2/us-east-1/describe-security-groups.json",
        144,
        39,
    ),
    (
        "ec2.security-group.world-open",
        "https_everywhere",
        "info",
        "ec2/us-east-1/describe-security-groups.json",
        149,
        41,
    ),
    (
        "ec2.vpc.flow-logs",
        "vpc-0d3f0000000000001",
        "medium",
        "ec2/us-east-1/describe-vpcs.json",
        19,
        22,
    ),
    (
        "ec2.vpc.flow-logs",
        "vpc-0e0000000000000d1",
        "medium",
        "ec2/eu-west-1/describe-vpcs.json",
        19,
        22,
    ),
    (
        "efs.encryption",
        "scratch",
        "medium",
        "efs/us-east-1/describe-file-systems.json",
        39,
        26,
    ),
    (
        "iam.access-key.age",
        "carol/key1",
        "medium",
        "iam/get-credential-report.json",
        5,
        99,
    ),
    (
        "iam.access-key.age",
        "dave/key1",
        "medium",
        "iam/get-credential-report.json",
        7,
        139,
    ),
    (
        "iam.access-key.age",
        "eve/key1",
        "medium",
        "iam/get-credential-report.json",
        8,
        95,
    ),
    (
        "iam.access-key.multiple-active",
        "carol",
        "low",
        "iam/get-credential-report.json",
        5,
        164,
    ),
    (
        "iam.access-key.unused-since-creation",
        "eve/key1",
        "low",
        "iam/get-credential-report.json",
        8,
        121,
    ),
    (
        "iam.cloudshell-full-access",
        "bob",
        "medium",
        "iam/get-account-authorization-details.json",
        27,
        34,
    ),
    (
        "iam.password-policy.complexity",
        "account 111122223333",
        "low",
        "iam/get-account-password-policy.json",
        7,
        39,
    ),
    (
        "iam.password-policy.min-length",
        "account 111122223333",
        "medium",
        "iam/get-account-password-policy.json",
        3,
        34,
    ),
    (
        "iam.password-policy.reuse-prevention",
        "account 111122223333",
        "low",
        "iam/get-account-password-policy.json",
        2,
        23,
    ),
    (
        "iam.policy.full-admin",
        "LegacyFullAccess",
        "high",
        "iam/get-account-authorization-details.json",
        297,
        29,
    ),
    (
        "iam.root.hardware-mfa",
        "<root_account>",
        "high",
        "iam/get-account-summary.json",
        12,
        30,
    ),
    (
        "iam.root.mfa",
        "<root_account>",
        "critical",
        "iam/get-credential-report.json",
        2,
        141,
    ),
    (
        "iam.root.recent-use",
        "<root_account>",
        "high",
        "iam/get-credential-report.json",
        2,
        87,
    ),
    (
        "iam.server-certificate.expired",
        "legacy-shop",
        "medium",
        "iam/list-server-certificates.json",
        17,
        27,
    ),
    (
        "iam.support-role",
        "account 111122223333",
        "low",
        "iam/get-account-authorization-details.json",
        114,
        23,
    ),
    (
        "iam.user.console-mfa",
        "bob",
        "high",
        "iam/get-credential-report.json",
        4,
        127,
    ),
    (
        "iam.user.direct-policies",
        "bob",
        "low",
        "iam/get-account-authorization-details.json",
        24,
        40,
    ),
    (
        "iam.user.direct-policies",
        "ci-deploy",
        "low",
        "iam/get-account-authorization-details.json",
        51,
        40,
    ),
    (
        "iam.user.unused-credentials",
        "dave",
        "medium",
        "iam/get-credential-report.json",
        7,
        73,
    ),
    (
        "iam.user.unused-credentials",
        "dave/key1",
        "medium",
        "iam/get-credential-report.json",
        7,
        165,
    ),
    (
        "iam.user.unused-credentials",
        "eve/key1",
        "medium",
        "iam/get-credential-report.json",
        8,
        121,
    ),
    (
        "kms.key-rotation",
        "legacy-backups",
        "medium",
        "kms/us-east-1/get-key-rotation-status/2222bbbb-0000-4000-8000-000000000002.json",
        2,
        27,
    ),
    (
        "rds.instance.auto-minor-upgrade",
        "orders",
        "low",
        "rds/us-east-1/describe-db-instances.json",
        40,
        40,
    ),
    (
        "rds.instance.encryption",
        "orders",
        "medium",
        "rds/us-east-1/describe-db-instances.json",
        43,
        33,
    ),
    (
        "rds.instance.multi-az",
        "orders",
        "low",
        "rds/us-east-1/describe-db-instances.json",
        38,
        24,
    ),
    (
        "rds.instance.public",
        "orders",
        "high",
        "rds/us-east-1/describe-db-instances.json",
        41,
        35,
    ),
    (
        "resource-policy.public-principal",
        "webhook",
        "high",
        "lambda/us-east-1/get-policy/webhook.json",
        2,
        15,
    ),
    (
        "resource-policy.public-principal",
        "example-app-assets-111122223333",
        "high",
        "s3/get-bucket-policy/example-app-assets-111122223333.json",
        2,
        15,
    ),
    (
        "resource-policy.public-principal",
        "public-intake",
        "high",
        "sqs/us-east-1/get-queue-attributes/https:__sqs.us-east-1.amazonaws.com_111122223333_public-intake.json",
        3,
        19,
    ),
    (
        "s3.block-public-access",
        "example-scratch-111122223333",
        "high",
        "manifest.json",
        1260,
        5,
    ),
    (
        "s3.block-public-access",
        "example-app-assets-111122223333",
        "high",
        "s3/get-public-access-block/example-app-assets-111122223333.json",
        5,
        30,
    ),
    (
        "s3.bucket.deny-http",
        "example-scratch-111122223333",
        "medium",
        "manifest.json",
        1103,
        5,
    ),
    (
        "s3.bucket.deny-http",
        "example-app-assets-111122223333",
        "medium",
        "s3/get-bucket-policy/example-app-assets-111122223333.json",
        2,
        15,
    ),
    (
        "s3.bucket.deny-http",
        "example-flow-logs",
        "medium",
        "s3/get-bucket-policy/example-flow-logs.json",
        2,
        15,
    ),
    (
        "securityhub.enabled",
        "eu-west-1",
        "medium",
        "manifest.json",
        1339,
        5,
    ),
    (
        "support.trusted-advisor",
        "account 111122223333",
        "info",
        "manifest.json",
        1487,
        5,
    ),
];

fn example_json() -> serde_json::Value {
    let out = snapaudit(&["check", "snapshots/example", "--format", "json"]);
    assert_eq!(out.code, 1, "findings exit 1; stderr:\n{}", out.stderr);
    out.json()
}

#[test]
fn every_planted_problem_is_reported_where_it_is() {
    let run = example_json();
    let got: Vec<(String, String, String, String, u64, u64)> = run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let l = &f["location"];
            (
                f["rule_id"].as_str().unwrap_or("").to_owned(),
                f["resource"]["name"].as_str().unwrap_or("").to_owned(),
                f["severity"].as_str().unwrap_or("").to_owned(),
                l["file"].as_str().unwrap_or("<no location>").to_owned(),
                l["line"].as_u64().unwrap_or(0),
                l["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want: Vec<(String, String, String, String, u64, u64)> = EXPECTED
        .iter()
        .map(|(r, n, s, f, l, c)| {
            (
                r.to_string(),
                n.to_string(),
                s.to_string(),
                f.to_string(),
                *l,
                *c,
            )
        })
        .collect();
    for w in &want {
        assert!(got.contains(w), "missing finding {w:?}");
    }
    for g in &got {
        assert!(want.contains(g), "unexpected finding {g:?}");
    }
}

#[test]
fn locations_point_at_the_reported_values() {
    let run = example_json();
    let report_csv = {
        let doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                common::root().join("snapshots/example/iam/get-credential-report.json"),
            )
            .expect("read"),
        )
        .expect("json");
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(doc["Content"].as_str().expect("content"))
            .expect("base64");
        String::from_utf8(bytes).expect("utf8")
    };
    for f in run["findings"].as_array().expect("findings") {
        let l = &f["location"];
        let file = l["file"].as_str().expect("file");
        let (offset, len) = (
            l["offset"].as_u64().expect("offset") as usize,
            l["length"].as_u64().expect("len") as usize,
        );
        if let Some(csv) = l.get("csv").filter(|c| !c.is_null()) {
            // The span is the named cell of the named user's row in the decoded CSV.
            let line = report_csv
                .lines()
                .nth(csv["line"].as_u64().expect("line") as usize - 1)
                .expect("row");
            assert!(
                line.starts_with(&format!("{},", csv["user"].as_str().expect("user"))),
                "{f}"
            );
            let header: Vec<&str> = report_csv
                .lines()
                .next()
                .expect("header")
                .split(',')
                .collect();
            let col = header
                .iter()
                .position(|h| Some(*h) == csv["column"].as_str())
                .expect("column");
            let cell = line.split(',').nth(col).expect("cell");
            assert_eq!(&report_csv[offset..offset + len], cell, "{f}");
        } else {
            // pointer → span → value: the text at the span parses to the value at the pointer.
            let text = std::fs::read_to_string(common::root().join("snapshots/example").join(file))
                .expect("read");
            let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
            let at: serde_json::Value =
                serde_json::from_str(&text[offset..offset + len]).expect("span is JSON");
            let pointer = l["pointer"].as_str().expect("pointer");
            assert_eq!(doc.pointer(pointer), Some(&at), "{f}");
            let before = &text[..offset];
            assert_eq!(
                l["line"].as_u64(),
                Some(before.matches('\n').count() as u64 + 1)
            );
        }
    }
}

#[test]
fn compliant_resources_are_not_reported() {
    let run = example_json();
    let names: Vec<&str> = run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["resource"]["name"].as_str().unwrap_or(""))
        .collect();
    for ok in [
        "alice",
        "app-1",
        "app-internal",
        "org-trail",
        "web-1-high-cpu",
        "app-role",
        "smb-internal",
        "billing",
        "shared-home",
        "app-data",
        "www-2027",
        "vpc-0a11000000000000a",
    ] {
        assert!(
            !names.iter().any(|n| n.starts_with(ok)),
            "{ok} is compliant but reported"
        );
    }
    let ids: Vec<&str> = run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["resource"]["id"].as_str().unwrap_or(""))
        .collect();
    for ok in [
        "sg-0a00000000000005",
        "sg-0a00000000000007",
        "i-0aaa0000000000002",
    ] {
        assert!(!ids.contains(&ok), "{ok} is compliant but reported");
    }
    // Rules with nothing to find pass, rather than skip.
    for id in [
        "iam.password-policy.present",
        "iam.password-policy.expiry",
        "iam.password-policy.users-can-change",
        "iam.root.access-keys",
        "cloudtrail.multi-region",
        "cloudtrail.s3-object-write-logging",
    ] {
        assert_eq!(rule_result(&run, id).0, "pass", "{id}");
    }
}

#[test]
fn findings_say_how_many_interfaces_use_an_open_group() {
    let run = example_json();
    let msgs: Vec<String> = findings_of(&run, "ec2.security-group.admin-ports-open")
        .iter()
        .chain(findings_of(&run, "ec2.security-group.admin-ports-open-ipv6").iter())
        .map(|f| f["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("ssh-open") && m.contains("used by 1 network interface")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("rdp-legacy") && m.contains("used by 0 network interfaces")),
        "{msgs:?}"
    );
}

#[test]
fn json_output_is_byte_identical_across_runs() {
    let a = snapaudit(&["check", "snapshots/example", "--format", "json"]);
    let b = snapaudit(&["check", "snapshots/example", "--format", "json"]);
    assert_eq!(a.code, 1);
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    let run = a.json();
    assert_eq!(run["schema_version"], 2);
    assert_eq!(run["snapshot"]["evaluated_at"], "2026-11-02T09:00:00Z");
    assert_eq!(run["snapshot"]["evaluated_at_source"], "manifest");
}

#[test]
fn human_output_shows_the_value_with_the_fix() {
    let out = snapaudit(&["check", "snapshots/example"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let s = &out.stdout;
    assert!(s.contains("iam.password-policy.min-length [medium] account 111122223333: minimum password length is 8, needs at least 14"), "{s}");
    assert!(
        s.contains("╭─[snapshots/example/iam/get-account-password-policy.json:3:34]"),
        "{s}"
    );
    assert!(s.contains("\"MinimumPasswordLength\": 8,"), "{s}");
    assert!(s.contains("╰── 8 < 14"), "{s}");
    assert!(
        s.contains("help: aws iam update-account-password-policy"),
        "{s}"
    );
    // A credential report finding is shown in the decoded CSV.
    assert!(
        s.contains("snapshots/example/iam/get-credential-report.json (decoded Content):4:127]"),
        "{s}"
    );
    assert!(
        s.contains("89 findings: 1 critical, 13 high, 48 medium, 24 low, 3 info"),
        "{s}"
    );
    assert!(
        s.contains("61 rules: 51 fail, 8 pass, 2 skip, 0 error"),
        "{s}"
    );
    assert!(!s.contains('\u{1b}'), "NO_COLOR output has no escape codes");
}

#[test]
fn fail_on_sets_the_threshold() {
    assert_eq!(
        snapaudit(&["check", "snapshots/example", "--fail-on", "critical"]).code,
        1
    );
    assert_eq!(
        snapaudit(&["check", "snapshots/example", "--fail-on", "never"]).code,
        0
    );
    let bad = snapaudit(&["check", "snapshots/example", "--fail-on", "severe"]);
    assert_eq!(bad.code, 2, "usage errors exit 2");
}

#[test]
fn as_of_moves_now() {
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--as-of",
        "2026-12-02",
    ]);
    let run = out.json();
    assert_eq!(run["snapshot"]["evaluated_at"], "2026-12-02T00:00:00Z");
    assert_eq!(run["snapshot"]["evaluated_at_source"], "as-of");
    let msgs: Vec<&str> = findings_of(&run, "iam.access-key.age")
        .iter()
        .map(|f| f["message"].as_str().unwrap_or(""))
        .collect();
    assert!(
        msgs.contains(&"access key 1 of `eve` is 122 days old, more than 90"),
        "{msgs:?}"
    );
    let bad = snapaudit(&["check", "snapshots/example", "--as-of", "yesterday"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("`--as-of yesterday` is not a time"),
        "{}",
        bad.stderr
    );
}
