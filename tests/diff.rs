#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! `snapaudit diff` as a user sees it, on the example account four weeks apart
//! (`snapshots/example` → `snapshots/example-later`, planted changes in
//! docs/example-later.md).

mod common;

use std::collections::BTreeSet;

use common::{snapaudit, Fixture};
use serde_json::Value;

const OLD: &str = "snapshots/example";
const NEW: &str = "snapshots/example-later";

fn diff_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = snapaudit(&all);
    (out.code, out.json())
}

/// (status, rule id, resource id) of every listed finding.
fn finding_changes(json: &Value) -> BTreeSet<(String, String, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let f = if c["new"].is_null() {
                &c["old"]
            } else {
                &c["new"]
            };
            (
                c["status"].as_str().unwrap().to_owned(),
                f["rule_id"].as_str().unwrap().to_owned(),
                f["resource"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// Property: a snapshot compared with itself has no changes at all, with or without the
/// volatile values, for every fixture snapshot.
#[test]
fn diff_of_a_snapshot_with_itself_is_empty() {
    let broken = Fixture::example();
    broken.write("ec2/us-east-1/describe-vpcs.json", "{ \"Vpcs\": [");
    broken.fail_call("iam/get-account-summary.json", "AccessDenied");
    let broken_arg = broken.arg();
    for snapshot in [OLD, NEW, broken_arg.as_str()] {
        for extra in [None, Some("--include-volatile"), Some("--all")] {
            let mut args = vec![snapshot, snapshot];
            args.extend(extra);
            let (code, json) = diff_json(&args);
            let s = &json["summary"];
            assert_eq!(
                (
                    s["new"].as_u64(),
                    s["resolved"].as_u64(),
                    s["changed"].as_u64(),
                    s["resource_changes"].as_u64()
                ),
                (Some(0), Some(0), Some(0), Some(0)),
                "{snapshot} {extra:?}: {s}"
            );
            let r = &json["resources"];
            for key in [
                "files_added",
                "files_removed",
                "status_changed",
                "regions_added",
                "regions_removed",
            ] {
                assert_eq!(r[key], Value::Array(vec![]), "{snapshot}: {key}");
            }
            if snapshot == broken_arg {
                // The broken snapshot's rules error in both runs: not compared, exit 2.
                assert_eq!(code, 2);
                assert!(s["not_compared"].as_u64().unwrap() > 0);
            } else {
                assert_eq!(code, 0, "{snapshot}");
                assert_eq!(s["not_compared"], 0);
                if extra == Some("--all") {
                    assert!(s["unchanged"].as_u64().unwrap() > 0);
                    assert_eq!(
                        json["findings"].as_array().unwrap().len() as u64,
                        s["unchanged"].as_u64().unwrap()
                    );
                } else {
                    assert_eq!(json["findings"], Value::Array(vec![]));
                }
            }
        }
    }
}

#[test]
fn findings_new_resolved_and_changed_by_rule_and_resource() {
    let (code, json) = diff_json(&[OLD, NEW]);
    assert_eq!(code, 1, "new high findings make exit code 1");
    let want = set(&[
        (
            "new",
            "ec2.security-group.admin-ports-open",
            "sg-0e00000000000002",
        ),
        (
            "new",
            "iam.user.console-mfa",
            "arn:aws:iam::111122223333:user/frank",
        ),
        ("new", "ec2.instance.public-ip", "i-0aaa0000000000003"),
        (
            "new",
            "resource-policy.public-principal",
            "arn:aws:sqs:eu-west-1:111122223333:partner-inbox",
        ),
        (
            "new",
            "s3.bucket.deny-http",
            "arn:aws:s3:::example-exports-111122223333",
        ),
        ("new", "ec2.instance.imdsv2", "i-0aaa0000000000003"),
        (
            "new",
            "ec2.instance.no-instance-role",
            "i-0aaa0000000000003",
        ),
        (
            "new",
            "iam.access-key.unused-since-creation",
            "AKIAEXAMPLEFRANK0001",
        ),
        (
            "changed",
            "ec2.security-group.admin-ports-open",
            "sg-0a00000000000006",
        ),
        (
            "changed",
            "ec2.security-group.cifs-open",
            "sg-0a00000000000006",
        ),
        (
            "resolved",
            "iam.user.console-mfa",
            "arn:aws:iam::111122223333:user/bob",
        ),
        (
            "resolved",
            "cloudtrail.log-file-validation",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/legacy-trail",
        ),
        (
            "resolved",
            "ec2.security-group.admin-ports-open-ipv6",
            "sg-0a00000000000003",
        ),
        ("resolved", "iam.access-key.age", "AKIAEXAMPLECAROL0001"),
        ("resolved", "iam.access-key.age", "AKIAEXAMPLEEVE000001"),
        (
            "resolved",
            "iam.password-policy.min-length",
            "arn:aws:iam::111122223333:root",
        ),
        (
            "resolved",
            "iam.user.unused-credentials",
            "AKIAEXAMPLEEVE000001",
        ),
        ("resolved", "ec2.ami.age", "i-0eee0000000000002"),
        (
            "resolved",
            "ec2.instance.no-instance-role",
            "i-0eee0000000000002",
        ),
        (
            "resolved",
            "ec2.instance.default-vpc",
            "i-0eee0000000000002",
        ),
        (
            "resolved",
            "iam.access-key.multiple-active",
            "arn:aws:iam::111122223333:user/carol",
        ),
        (
            "resolved",
            "iam.access-key.unused-since-creation",
            "AKIAEXAMPLEEVE000001",
        ),
        // The CIS v7.0 services: eu-central-1 is new and unconfigured; fixes elsewhere.
        (
            "new",
            "config.recorder-enabled",
            "arn:aws:config:eu-central-1:111122223333:configuration-recorder",
        ),
        (
            "new",
            "ec2.ebs.encryption-by-default",
            "arn:aws:ec2:eu-central-1:111122223333:ebs-encryption-by-default",
        ),
        (
            "new",
            "ec2.security-group.default-has-rules",
            "sg-0c00000000000001",
        ),
        ("new", "ec2.vpc.flow-logs", "vpc-0c0000000000000d1"),
        (
            "resolved",
            "accessanalyzer.enabled",
            "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer",
        ),
        (
            "resolved",
            "account.security-contact",
            "arn:aws:iam::111122223333:root",
        ),
        (
            "resolved",
            "config.recorder-enabled",
            "arn:aws:config:eu-west-1:111122223333:configuration-recorder",
        ),
        (
            "resolved",
            "ec2.ebs.encryption-by-default",
            "arn:aws:ec2:eu-west-1:111122223333:ebs-encryption-by-default",
        ),
        (
            "resolved",
            "ec2.network-acl.admin-ports-open",
            "acl-0a11000000000000b",
        ),
        ("resolved", "ec2.vpc.flow-logs", "vpc-0e0000000000000d1"),
        ("resolved", "efs.encryption", "fs-0a0000000000000a2"),
        (
            "resolved",
            "iam.server-certificate.expired",
            "arn:aws:iam::111122223333:server-certificate/legacy-shop",
        ),
        (
            "resolved",
            "kms.key-rotation",
            "arn:aws:kms:us-east-1:111122223333:key/2222bbbb-0000-4000-8000-000000000002",
        ),
        (
            "resolved",
            "rds.instance.public",
            "arn:aws:rds:us-east-1:111122223333:db:orders",
        ),
        (
            "resolved",
            "securityhub.enabled",
            "arn:aws:securityhub:eu-west-1:111122223333:hub/default",
        ),
        (
            "resolved",
            "cloudtrail.bucket-access-logging",
            "arn:aws:s3:::example-cloudtrail-111122223333",
        ),
        (
            "resolved",
            "resource-policy.public-principal",
            "arn:aws:s3:::example-app-assets-111122223333",
        ),
        (
            "resolved",
            "resource-policy.public-principal",
            "arn:aws:sqs:us-east-1:111122223333:public-intake",
        ),
        (
            "resolved",
            "s3.block-public-access",
            "arn:aws:s3:::example-app-assets-111122223333",
        ),
        (
            "resolved",
            "s3.block-public-access",
            "arn:aws:s3:::example-scratch-111122223333",
        ),
        (
            "resolved",
            "s3.bucket.deny-http",
            "arn:aws:s3:::example-app-assets-111122223333",
        ),
        (
            "resolved",
            "s3.bucket.deny-http",
            "arn:aws:s3:::example-scratch-111122223333",
        ),
    ]);
    assert_eq!(finding_changes(&json), want);
    assert_eq!(json["summary"]["unchanged"], 57);
    assert_eq!(json["summary"]["not_compared"], 0);

    // A new finding points into NEW, a resolved one into OLD.
    let findings = json["findings"].as_array().unwrap();
    let new_sg = findings
        .iter()
        .find(|c| c["status"] == "new" && c["new"]["resource"]["id"] == "sg-0e00000000000002")
        .unwrap();
    assert_eq!(new_sg["new"]["severity"], "high");
    assert_eq!(
        new_sg["new"]["location"]["file"],
        "ec2/eu-west-1/describe-security-groups.json"
    );
    let changed = findings.iter().find(|c| c["status"] == "changed").unwrap();
    assert_eq!(
        (
            changed["old"]["severity"].as_str(),
            changed["new"]["severity"].as_str()
        ),
        (Some("medium"), Some("high"))
    );

    // Ages that moved with time alone (a key 28 days older) are not "changed".
    assert!(!finding_changes(&json)
        .iter()
        .any(|(s, r, _)| s == "changed" && r == "iam.access-key.age"));

    // --all adds the unchanged ones.
    let (_, all) = diff_json(&[OLD, NEW, "--all"]);
    assert_eq!(all["findings"].as_array().unwrap().len(), 44 + 57);
}

fn resource_lines(json: &Value) -> Vec<String> {
    json["resources"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} {} -> {}",
                c["file"].as_str().unwrap(),
                c["kind"].as_str().unwrap(),
                c["resource"].as_str().unwrap(),
                c["path"].as_str().unwrap(),
                c.get("old").map(|v| v.to_string()).unwrap_or_default(),
                c.get("new").map(|v| v.to_string()).unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn resource_changes_are_keyed_by_natural_ids() {
    let (_, json) = diff_json(&[OLD, NEW]);
    let lines = resource_lines(&json);
    let has = |want: &str| {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "no change starting `{want}` in:\n{}",
            lines.join("\n")
        );
    };
    // fixed
    has("iam/get-credential-report.json changed bob mfa_active \"false\" -> \"true\"");
    has("iam/get-account-password-policy.json changed iam/get-account-password-policy.json PasswordPolicy.MinimumPasswordLength 8 -> 14");
    has("cloudtrail/us-east-1/describe-trails.json changed arn:aws:cloudtrail:us-east-1:111122223333:trail/legacy-trail LogFileValidationEnabled false -> true");
    has("ec2/us-east-1/describe-security-groups.json removed sg-0a00000000000003 IpPermissions {");
    has("iam/list-virtual-mfa-devices.json added arn:aws:iam::111122223333:mfa/bob   -> {");
    // broken or new
    has(
        "ec2/eu-west-1/describe-security-groups.json added sg-0e00000000000002 IpPermissions  -> {",
    );
    has("iam/list-users.json added frank   -> {");
    has("iam/get-credential-report.json added frank   -> {");
    has("ec2/us-east-1/describe-instances.json added r-0aaa0000000000003 (i-0aaa0000000000003)   -> {");
    // changed
    has("iam/list-access-keys/carol.json changed AKIAEXAMPLECAROL0001 Status \"Active\" -> \"Inactive\"");
    has("iam/get-credential-report.json changed carol access_key_1_active \"true\" -> \"false\"");
    has("ec2/us-east-1/describe-instances.json changed i-0aaa0000000000002 InstanceType \"t3.medium\" -> \"t3.large\"");
    // removed
    has("iam/list-users.json removed eve  {");
    has("iam/get-credential-report.json removed eve  {");
    has("ec2/eu-west-1/describe-instances.json removed r-0eee0000000000002 (i-0eee0000000000002)  {");
    has("ec2/eu-west-1/describe-network-interfaces.json removed eni-0e0000000000000002  {");
    // S3: a bucket gone, one new, the trail bucket's logging on; policies are compared as text
    has("s3/list-buckets.json removed example-scratch-111122223333  {");
    has("s3/list-buckets.json added example-exports-111122223333   -> {");
    has("s3/get-bucket-logging/example-cloudtrail-111122223333.json added s3/get-bucket-logging/example-cloudtrail-111122223333.json LoggingEnabled  -> {");
    has("s3/get-bucket-policy/example-app-assets-111122223333.json changed s3/get-bucket-policy/example-app-assets-111122223333.json Policy \"{");

    // Reordered lists are not changes: list-users only gained frank and lost eve, and the
    // reordered security group list of eu-west-1 only gained the new RDP rule.
    let in_file = |f: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("{f} ")))
            .count()
    };
    assert_eq!(in_file("iam/list-users.json"), 2);
    assert_eq!(in_file("ec2/eu-west-1/describe-security-groups.json"), 1);
    // Volatile values are hidden by default.
    let changed: Vec<&String> = lines.iter().filter(|l| l.contains(" changed ")).collect();
    assert!(
        !changed.iter().any(|l| [
            "LatestDeliveryTime",
            "LastUsedDate",
            "password_last_used",
            "PasswordLastUsed"
        ]
        .iter()
        .any(|v| l.contains(v))),
        "{changed:?}"
    );
    assert!(json["resources"]["volatile_hidden"].as_u64().unwrap() > 0);

    let r = &json["resources"];
    assert_eq!(r["regions_added"], serde_json::json!(["eu-central-1"]));
    assert_eq!(r["regions_removed"], serde_json::json!([]));
    assert_eq!(
        r["files_removed"],
        serde_json::json!([
            "iam/get-access-key-last-used/AKIAEXAMPLEEVE000001.json",
            "iam/list-access-keys/eve.json",
            "iam/list-mfa-devices/eve.json",
            "s3/get-bucket-location/example-scratch-111122223333.json",
            "s3/get-bucket-logging/example-scratch-111122223333.json",
            "s3/get-bucket-policy/example-scratch-111122223333.json",
            "s3/get-bucket-versioning/example-scratch-111122223333.json",
            "s3/get-public-access-block/example-scratch-111122223333.json"
        ])
    );
    let added: Vec<&str> = r["files_added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(added.contains(&"ec2/eu-central-1/describe-security-groups.json"));
    assert!(added.contains(&"iam/list-access-keys/frank.json"));
}

#[test]
fn volatile_values_show_on_request_or_by_config() {
    let (_, json) = diff_json(&[OLD, NEW, "--include-volatile"]);
    let lines = resource_lines(&json);
    assert!(
        lines.iter().any(|l| l.contains("LatestDeliveryTime")),
        "{}",
        lines.join("\n")
    );
    assert!(lines
        .iter()
        .any(|l| l.contains(" bob password_last_used ") || l.contains("password_last_used")));
    assert_eq!(json["resources"]["volatile_hidden"], 0);

    // A config's [diff] volatile list replaces the built-in one.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("snapaudit.toml");
    std::fs::write(&config, "[diff]\nvolatile = [\"LastUsedDate\"]\n").unwrap();
    let (_, json) = diff_json(&[OLD, NEW, "--config", config.to_str().unwrap()]);
    let lines = resource_lines(&json);
    assert!(lines.iter().any(|l| l.contains("LatestDeliveryTime")));
    assert!(!lines
        .iter()
        .any(|l| l.contains("AccessKeyLastUsed.LastUsedDate")));
}

#[test]
fn human_output_labels_new_in_new_and_resolved_in_old() {
    let out = snapaudit(&["diff", OLD, NEW]);
    assert_eq!(out.code, 1);
    let s = &out.stdout;
    assert!(s.contains("── new findings (12) ──"), "{s}");
    assert!(s.contains("── resolved findings (30) ──"), "{s}");
    assert!(s.contains("NEW ec2.security-group.admin-ports-open [high] db-access"));
    assert!(s.contains("[snapshots/example-later/ec2/eu-west-1/describe-security-groups.json:"));
    assert!(s.contains("RESOLVED iam.user.console-mfa [high] bob"));
    assert!(s.contains("[snapshots/example/iam/get-credential-report.json (decoded Content):"));
    assert!(
        s.contains("  + sg-0e00000000000002 IpPermissions gained tcp/3389 from 0.0.0.0/0"),
        "{s}"
    );
    assert!(s.contains("  - sg-0a00000000000003 IpPermissions lost tcp/3389 from ::/0"));
    assert!(s.contains("  ~ bob mfa_active: false → true"));
    assert!(s.contains("  ~ AKIAEXAMPLECAROL0001 Status: Active → Inactive"));
    assert!(s.contains("regions added: eu-central-1"));
    assert!(
        s.contains("findings: 12 new, 30 resolved, 2 changed, 57 unchanged, 0 rules not compared")
    );
    // New findings come before resolved ones, higher severity first.
    assert!(
        s.find("NEW ec2.security-group").unwrap() < s.find("NEW ec2.instance.public-ip").unwrap()
    );
    assert!(s.find("NEW iam.access-key").unwrap() < s.find("RESOLVED").unwrap());
}

#[test]
fn fail_on_only_counts_new_findings() {
    assert_eq!(
        snapaudit(&["diff", OLD, NEW, "--fail-on", "critical"]).code,
        0
    );
    assert_eq!(snapaudit(&["diff", OLD, NEW, "--fail-on", "high"]).code, 1);
    // Going back in time resolves the new findings and brings back the old ones, of
    // which the worst is high (bob's MFA).
    assert_eq!(snapaudit(&["diff", NEW, OLD, "--fail-on", "high"]).code, 1);
    assert_eq!(
        snapaudit(&["diff", NEW, OLD, "--fail-on", "critical"]).code,
        0
    );
}

#[test]
fn a_rule_that_could_not_run_is_not_resolved() {
    let later = Fixture::of(NEW);
    later.fail_call("iam/get-account-password-policy.json", "AccessDenied");
    let arg = later.arg();
    let (code, json) = diff_json(&[OLD, &arg]);
    assert_eq!(code, 2, "a failed call is an error");
    let changes = finding_changes(&json);
    assert!(
        !changes
            .iter()
            .any(|(_, r, _)| r.starts_with("iam.password-policy.")),
        "{changes:?}"
    );
    let nc = json["not_compared"].as_array().unwrap();
    let min = nc
        .iter()
        .find(|n| n["rule_id"] == "iam.password-policy.min-length")
        .unwrap();
    assert_eq!(
        (min["old"].as_str(), min["new"].as_str()),
        (Some("fail"), Some("error"))
    );
    assert!(
        min["reason"].as_str().unwrap().contains("AccessDenied"),
        "{min}"
    );
    assert_eq!(
        json["resources"]["status_changed"],
        serde_json::json!([
            {"file": "account/get-alternate-contact-security.json", "old": "ResourceNotFoundException", "new": "ok"},
            {"file": "iam/get-account-password-policy.json", "old": "ok", "new": "AccessDenied"},
            {"file": "securityhub/eu-west-1/describe-hub.json", "old": "InvalidAccessException", "new": "ok"}
        ])
    );

    // Not collected at all: skip, also not compared.
    let later = Fixture::of(NEW);
    later.edit_call("iam/get-account-password-policy.json", |_| None);
    later.remove("iam/get-account-password-policy.json");
    let arg = later.arg();
    let (_, json) = diff_json(&[OLD, &arg]);
    let nc = json["not_compared"].as_array().unwrap();
    let min = nc
        .iter()
        .find(|n| n["rule_id"] == "iam.password-policy.min-length")
        .unwrap();
    assert_eq!(min["new"], "skip");
    assert!(json["resources"]["files_removed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "iam/get-account-password-policy.json"));
}

#[test]
fn snapshots_of_different_accounts_are_refused() {
    let other = Fixture::of(NEW);
    let manifest = other.read("manifest.json").replace(
        "\"account_id\": \"111122223333\"",
        "\"account_id\": \"999988887777\"",
    );
    other.write("manifest.json", &manifest);
    let arg = other.arg();
    let out = snapaudit(&["diff", OLD, &arg]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("usage::different-accounts"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("is account 111122223333 but"));
    assert!(out.stderr.contains("--allow-different-accounts"));
    let out = snapaudit(&[
        "diff",
        OLD,
        &arg,
        "--allow-different-accounts",
        "--format",
        "json",
    ]);
    assert_eq!(out.json()["new"]["account_id"], "999988887777");
}

#[test]
fn as_of_applies_to_both_snapshots_and_output_is_deterministic() {
    let (_, a) = diff_json(&[OLD, NEW, "--as-of", "2027-06-01"]);
    assert_eq!(a["old"]["evaluated_at"], "2027-06-01T00:00:00Z");
    assert_eq!(a["new"]["evaluated_at"], "2027-06-01T00:00:00Z");
    let first = snapaudit(&["diff", OLD, NEW, "--format", "json"]).stdout;
    let second = snapaudit(&["diff", OLD, NEW, "--format", "json"]).stdout;
    assert_eq!(first, second);
}
