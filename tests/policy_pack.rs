#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! The bundled pack's own unit tests (`policies/**/*.test.yaml`), the `snapaudit test`
//! harness as a user sees it, and the generated rule catalogue.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::snapaudit;

/// Every case of the bundled pack passes, and every rule has a passing, a failing and a
/// missing-data (skip) case.
#[test]
fn every_rule_of_the_pack_is_tested_and_its_cases_pass() {
    let out = snapaudit(&["test", "policies", "--format", "json"]);
    let json = out.json();
    let failed: Vec<String> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["cases"].as_array().unwrap().iter().map(move |c| (f, c)))
        .filter(|(_, c)| c["status"] != "ok")
        .map(|(f, c)| format!("{} / {}: {}", f["file"], c["name"], c))
        .collect();
    assert!(failed.is_empty(), "failing cases:\n{}", failed.join("\n"));
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    assert_eq!(json["summary"]["failed"], 0);
    assert_eq!(json["summary"]["errors"], 0);

    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in json["files"].as_array().unwrap() {
        for c in f["cases"].as_array().unwrap() {
            for r in c["rules"].as_array().unwrap() {
                expected
                    .entry(r["id"].as_str().unwrap().to_owned())
                    .or_default()
                    .insert(r["expected"].as_str().unwrap().to_owned());
            }
        }
    }
    let rules = snapaudit(&["rules", "--format", "json"]).json();
    let ids: Vec<&str> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.len() >= 28, "the pack has {} rules", ids.len());
    let mut missing = Vec::new();
    for id in ids {
        for result in ["pass", "fail", "skip"] {
            if !expected.get(id).is_some_and(|s| s.contains(result)) {
                missing.push(format!("{id}: no `{result}` case"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    assert_eq!(json["untested"], serde_json::json!([]));
}

#[test]
fn the_walkthrough_rule_passes_its_cases() {
    let out = snapaudit(&["test", "examples/policies-org"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("20 cases: 20 ok, 0 failed, 0 errors"),
        "{}",
        out.stdout
    );
}

/// A user whose case is wrong sees which case, what was expected and what the rule did.
#[test]
fn failing_cases_say_what_differs() {
    let out = snapaudit(&[
        "test",
        "tests/fixtures/ruletest-failing",
        "--policies",
        "examples/policies-org",
    ]);
    assert_eq!(out.code, 2, "a case that cannot run makes exit code 2");
    let s = &out.stdout;
    assert!(s.contains("  FAIL   expects pass but the group is 10 days old\n         org.security-group.temporary-expired: expected pass, got fail\n           got finding on `sg-0bbb` at ec2/us-east-1/describe-security-groups.json:13:30: temporary group debug-bastion was created 10 days ago, more than 7\n"), "{s}");
    assert!(
        s.contains("expected findings on [sg-0zzz], got [sg-0bbb]"),
        "{s}"
    );
    assert!(s.contains("  ERROR  names a rule that does not exist\n         no loaded rule has the id `org.security-group.temporary-expire` (did you mean `org.security-group.temporary-expired`?)"), "{s}");
    assert!(s.contains("  FAIL   expects pass but nothing was collected\n         org.security-group.temporary-expired: expected pass, got skip\n           got skipped: not collected: ec2/us-east-1/describe-security-groups.json"), "{s}");
    assert!(s.contains("4 cases: 0 ok, 3 failed, 1 errors"), "{s}");

    // Without the case that cannot run, failures alone give exit code 1.
    let out = snapaudit(&[
        "test",
        "tests/fixtures/ruletest-failing",
        "--policies",
        "examples/policies-org",
        "--filter",
        "expects",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1);
    let json = out.json();
    assert_eq!(
        json["summary"],
        serde_json::json!({"cases": 3, "ok": 0, "failed": 3, "errors": 0})
    );
    let first = &json["files"][0]["cases"][0]["rules"][0];
    assert_eq!(first["expected"], "pass");
    assert_eq!(first["got"], "fail");
}

#[test]
fn an_invalid_test_file_is_a_located_diagnostic() {
    let out = snapaudit(&[
        "test",
        "tests/fixtures/ruletest-invalid",
        "--policies",
        "examples/policies-org",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("test::invalid"), "{}", out.stderr);
    assert!(out.stderr.contains("`maybe` is not a"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("[tests/fixtures/ruletest-invalid/broken.test.yaml:4:45]"),
        "{}",
        out.stderr
    );
}

/// docs/rules-catalogue.md is what `snapaudit rules --format markdown` prints for the pack.
#[test]
fn the_rule_catalogue_is_current() {
    let out = snapaudit(&["rules", "--format", "markdown"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = std::fs::read_to_string(common::root().join("docs/rules-catalogue.md"))
        .expect("docs/rules-catalogue.md exists");
    assert!(
        doc == out.stdout,
        "docs/rules-catalogue.md is out of date: run `cargo run -- rules --format markdown > docs/rules-catalogue.md`"
    );
}

#[test]
fn the_rules_table_lists_every_rule() {
    let out = snapaudit(&["rules"]);
    assert_eq!(out.code, 0);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("iam.root.mfa "))
        .expect("iam.root.mfa is listed");
    assert!(
        line.contains("critical")
            && line.contains("2.5")
            && line.contains("The root user has MFA enabled"),
        "{line}"
    );
    assert!(out.stdout.lines().next().unwrap().starts_with("ID "));
}

/// `snapaudit test --update` writes the observed locations into the cases that expect
/// `fail` (replacing a wrong list, or turning `rule: fail` into a mapping), keeping the rest
/// of the file; a runtime error in a case shows the rule's line.
#[test]
fn update_writes_observed_locations_and_errors_show_the_rule_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = common::root();
    std::fs::copy(
        root.join("examples/policies-org/temporary_security_groups.rhai"),
        dir.path().join("t.rhai"),
    )
    .unwrap();
    let case = |name: &str, expect: &str| {
        format!(
            "  - name: {name}\n    captured_at: 2026-11-02T09:00:00Z\n    files:\n      ec2/us-east-1/describe-security-groups.json:\n        SecurityGroups:\n          - GroupId: sg-0bbb\n            GroupName: debug-bastion\n            Tags: [{{ Key: Temporary, Value: \"true\" }}, {{ Key: CreatedOn, Value: \"2026-10-23\" }}]\n    expect:\n{expect}"
        )
    };
    let text = format!(
        "# kept\ncases:\n{}{}",
        case(
            "a wrong location",
            "      org.security-group.temporary-expired:\n        result: fail\n        locations: [\"wrong:1:1\"]\n"
        ),
        case("no location yet", "      org.security-group.temporary-expired: fail\n")
    );
    std::fs::write(dir.path().join("t.test.yaml"), &text).unwrap();
    let d = dir.path().to_str().unwrap();
    assert_eq!(snapaudit(&["test", d, "--no-default-pack"]).code, 1);
    let out = snapaudit(&["test", d, "--no-default-pack", "--update"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let updated = std::fs::read_to_string(dir.path().join("t.test.yaml")).unwrap();
    assert!(updated.starts_with("# kept\n"), "{updated}");
    assert_eq!(
        updated
            .matches("locations: [\"ec2/us-east-1/describe-security-groups.json:13:30\"]")
            .count(),
        2,
        "{updated}"
    );
    assert_eq!(snapaudit(&["test", d, "--no-default-pack"]).code, 0);

    std::fs::write(
        dir.path().join("boom.rhai"),
        "//! id = \"t.boom\"\n//! title = \"t\"\n//! severity = \"low\"\n\nthrow \"boom\";\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("boom.test.yaml"),
        "cases:\n  - name: throws\n    expect:\n      t.boom: pass\n",
    )
    .unwrap();
    let out = snapaudit(&["test", d, "--no-default-pack"]);
    assert!(
        out.stdout.contains("got error at ")
            && out
                .stdout
                .contains("boom.rhai:5:1: rule `t.boom` failed: boom"),
        "{}",
        out.stdout
    );
}
