//! The host API rules see (docs/rules.md), exercised by a rule over the example snapshot.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::{findings_of, snapaudit};

#[test]
fn the_host_api_behaves_as_documented() {
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--policies",
        "tests/fixtures/policies-api",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let run = out.json();
    let findings = findings_of(&run, "test.api");
    let msg = |prefix: &str| -> &serde_json::Value {
        findings
            .iter()
            .find(|f| f["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
            .copied()
            .unwrap_or_else(|| panic!("no finding starting with {prefix:?}: {findings:#?}"))
    };
    let status = msg("status");
    assert_eq!(
        status["message"],
        "status absent SubscriptionRequiredException missing=true"
    );
    assert_eq!(
        status["location"]["file"], "manifest.json",
        "an absent document points at its call"
    );
    assert_eq!(
        msg("not collected")["message"],
        "not collected: not_collected ok=false"
    );
    assert!(msg("not collected")["location"].is_null());
    assert_eq!(
        msg("regions")["message"],
        "regions [\"eu-west-1\", \"us-east-1\"] account 111122223333"
    );
    assert_eq!(msg("files")["message"], "files 6");

    let open: Vec<&str> = findings
        .iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("open "))
        })
        .map(|f| {
            assert_eq!(
                f["location"]["file"],
                "ec2/us-east-1/describe-security-groups.json"
            );
            assert!(
                f["location"]["pointer"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/GroupId")),
                "{f}"
            );
            f["message"].as_str().unwrap_or("")
        })
        .collect();
    assert_eq!(
        open,
        vec![
            "open ssh-open",
            "open https_everywhere",
            "open all-open-demo",
            "open default"
        ],
        "in file order"
    );
    assert_eq!(msg("count")["message"], "count 8");

    let node = msg("node");
    assert_eq!(
        node["message"],
        "node node true has=true absent=true ptr=/SecurityGroups/0"
    );
    assert_eq!(node["location"]["pointer"], "/SecurityGroups/0");
    let sub = msg("subquery");
    assert_eq!(sub["message"], "subquery sg-0a00000000000001");
    assert_eq!(
        sub["location"]["pointer"],
        "/SecurityGroups/0/IpPermissions/0/UserIdGroupPairs/0/GroupId"
    );
    assert_eq!(
        sub["location"]["file"],
        "ec2/us-east-1/describe-security-groups.json"
    );
    assert!(msg("last")["message"]
        .as_str()
        .is_some_and(|m| m.ends_with(" in=true")));

    let eve = msg("eve");
    assert_eq!(eve["message"], "eve no_value N/A has=false days= eq=true");
    assert_eq!(
        eve["location"]["csv"]["column"],
        "access_key_1_last_used_date"
    );
    assert_eq!(msg("mfa")["message"], "mfa bool false");
    let age = msg("age");
    assert_eq!(age["message"], "age 92 created true");
    assert_eq!(age["location"]["csv"]["user"], "eve");
    assert!(
        age["location"]["csv"]["column"].is_null(),
        "a row is the evidence"
    );

    assert_eq!(msg("glob")["message"], "glob true false");
    assert_eq!(msg("hours")["message"], "hours 3 days 2");
    let cfg = msg("config");
    assert_eq!(cfg["message"], "config [22, 3389] test.api");
    assert_eq!(cfg["severity"], "info");
    assert_eq!(cfg["label"], "checked");
}
