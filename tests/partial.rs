#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! Partial results: a rule that can read some regions and not others keeps its findings
//! for the regions it read and names what it could not see, in every format.

mod common;

use common::{findings_of, rule_result, snapaudit, Fixture};
use serde_json::Value;

const EU_TRAILS: &str = "cloudtrail/eu-west-1/describe-trails.json";

/// The example without the eu-west-1 trail list (file and manifest entry).
fn without_eu_trails() -> Fixture {
    let f = Fixture::example();
    f.remove(EU_TRAILS);
    f.edit_call(EU_TRAILS, |_| None);
    f
}

fn check(f: &Fixture, format: &str) -> common::Output {
    snapaudit(&["check", &f.arg(), "--format", format])
}

#[test]
fn a_region_not_collected_is_a_gap_and_the_other_regions_findings_stand() {
    let whole = snapaudit(&["check", "snapshots/example", "--format", "json"]).json();
    let f = without_eu_trails();
    let out = check(&f, "json");
    assert_eq!(out.code, 1, "not collected is not an error: {}", out.stderr);
    let run = out.json();
    assert_eq!(run["schema_version"], 2);
    // Every us-east-1 trail finding of the whole example is still there.
    for rule in [
        "cloudtrail.log-file-validation",
        "cloudtrail.kms-encryption",
        "cloudtrail.global-service-events",
        "cloudtrail.logging",
        "cloudtrail.delivery-age",
    ] {
        let before: Vec<&Value> = findings_of(&whole, rule)
            .into_iter()
            .filter(|f| {
                f["location"]["file"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("cloudtrail/us-east-1/"))
            })
            .collect();
        let after = findings_of(&run, rule);
        assert_eq!(after.len(), before.len(), "{rule}");
        let r = run["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == rule)
            .unwrap_or_else(|| panic!("{rule}"));
        let gaps = r["gaps"].as_array().unwrap();
        assert!(
            gaps.iter()
                .any(|g| g["file"] == EU_TRAILS && g["status"] == "not_collected"),
            "{rule}: {r}"
        );
        if !before.is_empty() {
            assert_eq!(r["result"], "fail", "{rule}");
        }
    }
    // A rule that needs every region (is there a multi-region trail anywhere?) cannot answer.
    assert_eq!(rule_result(&run, "cloudtrail.multi-region").0, "skip");
}

#[test]
fn every_format_names_the_gap() {
    let f = without_eu_trails();
    let human = check(&f, "human");
    assert!(
        human
            .stdout
            .contains("gap    cloudtrail.log-file-validation: could not see not collected: cloudtrail/eu-west-1/describe-trails.json"),
        "{}",
        human.stdout
    );
    let sarif: Value = serde_json::from_str(&check(&f, "sarif").stdout).unwrap();
    let inv = &sarif["runs"][0]["invocations"][0];
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    let gap = notes
        .iter()
        .find(|n| {
            n["descriptor"]["id"] == "snapaudit/rule-gap"
                && n["associatedRule"]["id"] == "cloudtrail.log-file-validation"
        })
        .expect("a notification for the gap");
    assert_eq!(
        gap["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        EU_TRAILS
    );
    // Skipped rules are notifications too (the source rules without --source).
    assert!(notes
        .iter()
        .any(|n| n["descriptor"]["id"] == "snapaudit/rule-skipped"));
    let junit = check(&f, "junit").stdout;
    assert!(
        junit.contains("<testcase name=\"cloudtrail.log-file-validation (gaps)\"")
            && junit
                .contains("could not see not collected: cloudtrail/eu-west-1/describe-trails.json"),
        "{junit}"
    );
    let csv = check(&f, "csv").stdout;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("cloudtrail.log-file-validation,")
                && l.contains("not collected: cloudtrail/eu-west-1/describe-trails.json")
                && l.ends_with(",gap")),
        "{csv}"
    );
    let markdown = check(&f, "markdown").stdout;
    assert!(
        markdown.contains("- partial `cloudtrail.log-file-validation`: could not see not collected: cloudtrail/eu-west-1/describe-trails.json"),
        "{markdown}"
    );
}

/// A snapshot made by hand with the aws CLI: no manifest, EC2 in two regions, CloudTrail in
/// one. The trail findings of the collected region are reported.
#[test]
fn a_hand_made_snapshot_with_cloudtrail_in_one_region_reports_its_trails() {
    let f = without_eu_trails();
    f.remove("manifest.json");
    let _ = std::fs::remove_dir_all(f.path().join("cloudtrail/eu-west-1"));
    let run = check(&f, "json").json();
    assert_eq!(
        run["snapshot"]["regions"],
        serde_json::json!(["eu-west-1", "us-east-1"])
    );
    let validation = findings_of(&run, "cloudtrail.log-file-validation");
    assert!(!validation.is_empty());
    assert!(validation
        .iter()
        .all(|f| f["location"]["file"] == "cloudtrail/us-east-1/describe-trails.json"));
}

/// `skip()` after `report()` keeps the findings and records the reason as a gap.
#[test]
fn a_skip_after_findings_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.rhai"),
        "//! id = \"partial.skip\"\n//! title = \"t\"\n//! severity = \"low\"\n\
         report(\"x\", \"one\");\nskip(\"the rest needs data that is not here\");\n",
    )
    .unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--policies",
        dir.path().to_str().unwrap(),
    ]);
    let run = out.json();
    let r = run["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "partial.skip")
        .unwrap()
        .clone();
    assert_eq!(r["result"], "fail");
    assert_eq!(r["findings"], 1);
    assert_eq!(r["gaps"][0]["status"], "skipped");
    assert_eq!(
        r["gaps"][0]["reason"],
        "the rest needs data that is not here"
    );
}
