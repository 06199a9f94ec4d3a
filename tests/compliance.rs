//! `check --compliance FRAMEWORK`: every control of a framework with its status, decided by
//! the rules the framework file names; the rules' CIS ids come from the same file.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::snapaudit;

fn cis_view(format: &str) -> common::Output {
    snapaudit(&[
        "check",
        "snapshots/example",
        "--compliance",
        "cis-aws-7.0",
        "--format",
        format,
    ])
}

/// The bundled CIS file lists the benchmark's 70 controls, each once, with 34 automated
/// (CIS v7.0.0's count).
#[test]
fn the_cis_view_lists_all_seventy_controls() {
    let out = cis_view("json");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    let controls = doc["controls"].as_array().unwrap();
    assert_eq!(controls.len(), 70);
    let ids: BTreeSet<&str> = controls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 70);
    for id in [
        "2.1.1", "2.21", "3.1.4", "3.3.1", "4.10", "5.16", "6.1.2", "6.8",
    ] {
        assert!(ids.contains(id), "{id} missing");
    }
    let automated = controls
        .iter()
        .filter(|c| c["assessment"] == "automated")
        .count();
    assert_eq!(automated, 34);
    assert_eq!(doc["framework"]["id"], "cis-aws-7.0");
    assert_eq!(doc["snapshot"]["account_id"], "111122223333");
    let summed: u64 = doc["summary"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(summed, 70);
}

/// Every control's status agrees with the results of its rules in `check --format json`:
/// fail exactly when one of its rules has an open finding, pass when all pass, and the
/// findings listed under a control are its rules' findings.
#[test]
fn statuses_agree_with_the_findings() {
    let view = cis_view("json").json();
    let check = snapaudit(&["check", "snapshots/example", "--format", "json"]).json();
    let result: BTreeMap<&str, &str> = check["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    let mut findings: BTreeMap<&str, usize> = BTreeMap::new();
    for f in check["findings"].as_array().unwrap() {
        *findings.entry(f["rule_id"].as_str().unwrap()).or_default() += 1;
    }
    let mut decided = 0;
    for c in view["controls"].as_array().unwrap() {
        let rules: Vec<&str> = c["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        let status = c["status"].as_str().unwrap();
        let id = c["id"].as_str().unwrap();
        for r in c["rules"].as_array().unwrap() {
            assert_eq!(
                r["result"].as_str().unwrap(),
                result[r["id"].as_str().unwrap()],
                "control {id}"
            );
        }
        let expected_findings: usize = rules.iter().map(|r| findings.get(r).unwrap_or(&0)).sum();
        assert_eq!(
            c["findings"].as_array().unwrap().len(),
            expected_findings,
            "control {id}"
        );
        for f in c["findings"].as_array().unwrap() {
            assert!(rules.contains(&f["rule_id"].as_str().unwrap()), "{id}");
            assert!(f["location"]["file"].is_string(), "{id}: {f}");
        }
        let any_fail = rules.iter().any(|r| result[r] == "fail");
        match status {
            "fail" => assert!(any_fail, "{id}"),
            "pass" => {
                assert!(
                    !rules.is_empty() && rules.iter().all(|r| result[r] == "pass"),
                    "{id}"
                )
            }
            "manual" => {
                assert!(rules.is_empty() && c["assessment"] == "manual", "{id}");
                assert!(
                    c["review"].is_string(),
                    "{id}: a manual control says what to look at"
                );
            }
            "not-checked" => assert!(rules.is_empty() && c["assessment"] == "automated", "{id}"),
            "not-collected" => assert!(rules.iter().any(|r| result[r] == "skip"), "{id}"),
            other => panic!("{id}: unexpected status {other} for the example"),
        }
        if !rules.is_empty() {
            decided += 1;
        }
        if any_fail {
            assert_eq!(status, "fail", "{id}");
        }
    }
    assert!(decided >= 17, "only {decided} controls have rules");
    // The example's planted problems show under their controls.
    let status = |id: &str| {
        view["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status("2.4"), "pass");
    assert_eq!(status("2.8"), "fail");
    assert_eq!(status("2.13"), "fail");
    assert_eq!(status("2.14"), "fail");
    assert_eq!(status("4.2"), "fail");
    assert_eq!(status("2.1.1"), "manual");
}

/// The three ids that were wrong for v7.0: direct policies are 2.13, the full-admin policy
/// is 2.14, and more than one active key is no CIS v7.0 control at all.
#[test]
fn rules_carry_their_cis_v7_ids() {
    let out = snapaudit(&["rules", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let cis = |id: &str| -> Vec<String> {
        let rules = doc.as_array().or_else(|| doc["rules"].as_array()).unwrap();
        let rule = rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed"));
        serde_json::from_value(rule["cis"].clone()).unwrap()
    };
    assert_eq!(cis("iam.user.direct-policies"), ["2.13"]);
    assert_eq!(cis("iam.policy.full-admin"), ["2.14"]);
    assert!(cis("iam.access-key.multiple-active").is_empty());
    assert_eq!(cis("iam.root.mfa"), ["2.5"]);
    // The same ids reach the findings of a check.
    let check = snapaudit(&["check", "snapshots/example", "--format", "json"]).json();
    let f = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "iam.user.direct-policies")
        .unwrap();
    assert_eq!(f["cis"], serde_json::json!(["2.13"]));
}

/// The bundled frameworks name only rules of the bundled pack: a check of the example has
/// no `framework::unknown-rule` warning.
#[test]
fn the_bundled_frameworks_name_bundled_rules() {
    let out = snapaudit(&["check", "snapshots/example", "--format", "json"]);
    let doc = out.json();
    for d in doc["diagnostics"].as_array().unwrap() {
        assert!(
            !d["code"].as_str().unwrap().starts_with("framework::"),
            "{d}"
        );
    }
}

/// CSV: one row per control with its status and evidence; Markdown: a table row per control.
#[test]
fn csv_and_markdown_list_every_control() {
    let csv = cis_view("csv");
    assert_eq!(csv.code, 1, "{}", csv.stderr);
    let mut reader = csv::Reader::from_reader(csv.stdout.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..6],
        [
            "framework",
            "control",
            "title",
            "section",
            "assessment",
            "status"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 70);
    let row = rows.iter().find(|r| &r[1] == "2.8").unwrap();
    assert_eq!(&row[5], "fail");
    assert!(
        row[8].contains("iam/get-account-password-policy.json:3:34"),
        "{row:?}"
    );
    let md = cis_view("markdown");
    assert_eq!(md.code, 1);
    let table_rows = md
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Control"))
        .count();
    assert_eq!(table_rows, 70, "{}", md.stdout);
    assert!(md.stdout.contains("| 2.13 | **fail** |"), "{}", md.stdout);
    let human = cis_view("human");
    assert!(human.stdout.contains("70 controls:"), "{}", human.stdout);
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with("2.14 ") && l.contains("fail")),
        "{}",
        human.stdout
    );
}

/// An unknown framework and a format without a compliance form are refused (exit 2), naming
/// what there is.
#[test]
fn unknown_frameworks_and_formats_are_refused() {
    let out = snapaudit(&["check", "snapshots/example", "--compliance", "cis-aws-9.9"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no framework `cis-aws-9.9` is loaded"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cis-aws-7.0"), "{}", out.stderr);
    let out = cis_view("sarif");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--compliance has no sarif form"),
        "{}",
        out.stderr
    );
}

/// A second framework is a second file: one in a --policies directory's frameworks/ is
/// loaded beside the bundled ones, its controls decided by the rules it names (a user rule
/// among them); a file with the id of a bundled framework replaces it.
#[test]
fn a_framework_of_the_users_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("frameworks")).unwrap();
    std::fs::write(
        dir.path().join("acme.rhai"),
        "//! id = \"acme.always\"\n//! title = \"Always reports\"\n//! severity = \"low\"\nlet d = snapshot.json(\"iam/list-users.json\");\nreport(d.Users, \"found\");\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("frameworks/acme.toml"),
        "id = \"acme-baseline\"\ntitle = \"ACME baseline\"\n\n[[control]]\nid = \"A-1\"\ntitle = \"Root has MFA\"\nassessment = \"automated\"\nrules = [\"iam.root.access-keys\"]\n\n[[control]]\nid = \"A-2\"\ntitle = \"Ours\"\nassessment = \"automated\"\nrules = [\"acme.always\"]\n\n[[control]]\nid = \"A-3\"\ntitle = \"Ask a person\"\nassessment = \"manual\"\nreview = \"ask\"\n",
    )
    .unwrap();
    let policies = dir.path().to_str().unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--policies",
        policies,
        "--compliance",
        "acme-baseline",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    let statuses: Vec<(&str, &str)> = doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [("A-1", "pass"), ("A-2", "fail"), ("A-3", "manual")]
    );

    // The same id as a bundled framework replaces it.
    std::fs::write(
        dir.path().join("frameworks/acme.toml"),
        "id = \"cis-aws-7.0\"\ntitle = \"Our CIS\"\n\n[[control]]\nid = \"2.13\"\ntitle = \"Groups\"\nassessment = \"automated\"\nrules = [\"acme.always\"]\n",
    )
    .unwrap();
    let doc = snapaudit(&[
        "check",
        "snapshots/example",
        "--policies",
        policies,
        "--compliance",
        "cis-aws-7.0",
        "--format",
        "json",
    ])
    .json();
    assert_eq!(doc["controls"].as_array().unwrap().len(), 1);
    assert_eq!(doc["framework"]["title"], "Our CIS");
    let rules = snapaudit(&["rules", "--policies", policies, "--format", "json"]).json();
    let list = rules
        .as_array()
        .or_else(|| rules["rules"].as_array())
        .unwrap();
    let of = |id: &str| list.iter().find(|r| r["id"] == id).unwrap()["cis"].clone();
    assert_eq!(of("acme.always"), serde_json::json!(["2.13"]));
    assert_eq!(of("iam.user.direct-policies"), serde_json::json!([]));
}

/// A broken framework file is a diagnostic at its line (exit 2); a control naming a rule
/// that is not loaded is a warning, and the control shows as not checked.
#[test]
fn broken_frameworks_are_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("frameworks")).unwrap();
    std::fs::write(
        dir.path().join("r.rhai"),
        "//! id = \"acme.r\"\n//! title = \"R\"\n//! severity = \"low\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("frameworks/bad.toml"),
        "id = \"bad\"\ntitle = \"Bad\"\n\n[[control]]\nid = \"B-1\"\ntitle = \"x\"\nassessment = \"sometimes\"\n",
    )
    .unwrap();
    let policies = dir.path().to_str().unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--policies",
        policies,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let doc = out.json();
    let d = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "framework::invalid")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(d["line"], 7, "{d}");
    assert!(d["file"].as_str().unwrap().ends_with("bad.toml"), "{d}");

    std::fs::write(
        dir.path().join("frameworks/bad.toml"),
        "id = \"bad\"\ntitle = \"Bad\"\n\n[[control]]\nid = \"B-1\"\ntitle = \"x\"\nassessment = \"automated\"\nrules = [\"acme.missing\"]\n",
    )
    .unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--policies",
        policies,
        "--compliance",
        "bad",
        "--format",
        "json",
    ]);
    let doc = out.json();
    assert_eq!(
        out.code, 1,
        "a warning does not stop the audit: {}",
        out.stderr
    );
    assert_eq!(doc["controls"][0]["status"], "not-checked");
    assert_eq!(doc["controls"][0]["rules"][0]["result"], "not-loaded");
    let d = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "framework::unknown-rule")
        .unwrap();
    assert_eq!(d["line"], 8, "{d}");
}

/// CIS ids are not written in a rule any more: a `cis` key in a rule's header is refused
/// with a pointer to the framework file.
#[test]
fn a_cis_key_in_a_rule_header_points_at_the_framework() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.rhai"),
        "//! id = \"acme.r\"\n//! title = \"R\"\n//! severity = \"low\"\n//! cis = [\"2.8\"]\n",
    )
    .unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--policies",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 2);
    let doc = out.json();
    let d = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "rule::metadata")
        .unwrap();
    assert!(d["message"].as_str().unwrap().contains("cis"), "{d}");
    assert!(
        d["help"]
            .as_str()
            .unwrap()
            .contains("frameworks/cis-aws-7.0.toml"),
        "{d}"
    );
    assert_eq!(d["line"], 4, "{d}");
}
