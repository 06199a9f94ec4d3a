#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! The output formats on the example snapshot (golden files in tests/golden/, SARIF checked
//! against the SARIF 2.1.0 schema, OCSF against the OCSF 1.6.0 Detection Finding schema),
//! several formats at once, and waivers.
//!
//! After an intended change of an output, rewrite the golden files with
//! `SNAPAUDIT_BLESS=1 cargo test --test outputs` and review the diff.

mod common;

use common::{root, snapaudit, Fixture};
use serde_json::Value;

const WAIVERS: &str = "tests/fixtures/waivers/example.waivers.toml";

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("SNAPAUDIT_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with SNAPAUDIT_BLESS=1", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or(expected.lines().count().min(actual.lines().count()) + 1);
        panic!(
            "{name} differs from the golden file at line {line}:\n  golden: {:?}\n  actual: {:?}",
            expected.lines().nth(line - 1),
            actual.lines().nth(line - 1)
        );
    }
}

/// The output of `check` on the example; the SARIF base URI (the snapshot's absolute
/// `file://` URL, which depends on where the repository is) is replaced by a placeholder.
fn check(format: &str) -> String {
    let out = snapaudit(&["check", "snapshots/example", "--format", format]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    normalized(&out.stdout)
}

/// `text` with the example's absolute `file://` URL replaced by a placeholder.
fn normalized(text: &str) -> String {
    let dir = root().join("snapshots/example").canonicalize().unwrap();
    let base = url::Url::from_directory_path(dir).unwrap().to_string();
    text.replace(&base, "file:///SNAPAUDIT/snapshots/example/")
}

#[test]
fn every_format_matches_its_golden_file_and_is_stable() {
    for (format, file) in [
        ("human", "example.txt"),
        ("json", "example.json"),
        ("sarif", "example.sarif"),
        ("csv", "example.csv"),
        ("junit", "example.junit.xml"),
        ("markdown", "example.md"),
        ("ocsf", "example.ocsf.json"),
    ] {
        let first = check(format);
        assert_eq!(first, check(format), "{format} differs between runs");
        golden(file, &first);
    }
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for args in [
        vec!["check", "snapshots/example", "--format", "sarif"],
        vec![
            "check",
            "snapshots/example",
            "--format",
            "sarif",
            "--waivers",
            WAIVERS,
        ],
    ] {
        let sarif: Value = serde_json::from_str(&snapaudit(&args).stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
    // The validator does reject what is not SARIF 2.1.0.
    let mut broken: Value = serde_json::from_str(&check("sarif")).unwrap();
    broken["version"] = "2.0.0".into();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert_eq!(validator.iter_errors(&broken).count(), 2);
}

#[test]
fn sarif_has_one_rule_per_rule_and_a_located_result_per_finding() {
    let json: Value = serde_json::from_str(&check("json")).unwrap();
    let sarif: Value = serde_json::from_str(&check("sarif")).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), json["rules"].as_array().unwrap().len());
    let root_mfa = rules.iter().find(|r| r["id"] == "iam.root.mfa").unwrap();
    assert_eq!(root_mfa["defaultConfiguration"]["level"], "error");
    assert_eq!(root_mfa["properties"]["security-severity"], "9.5");
    assert!(root_mfa["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&Value::from("CIS 2.5")));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), json["findings"].as_array().unwrap().len());
    let min_len = results
        .iter()
        .find(|r| r["ruleId"] == "iam.password-policy.min-length")
        .unwrap();
    let loc = &min_len["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "iam/get-account-password-policy.json"
    );
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "SNAPSHOT");
    assert_eq!(loc["region"]["startLine"], 3);
    assert_eq!(loc["region"]["startColumn"], 34);
    assert_eq!(
        min_len["partialFingerprints"]["snapauditFinding/v1"],
        "iam.password-policy.min-length|arn:aws:iam::111122223333:root"
    );
    // Every result has a region code scanning can show (credential report cells: the
    // `Content` string), and every rule that skipped or errored has a notification.
    for r in results {
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64(),
            "{r}"
        );
    }
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    for rule in json["rules"].as_array().unwrap() {
        if rule["result"] == "skip" || rule["result"] == "error" {
            assert!(
                notes
                    .iter()
                    .any(|n| n["associatedRule"]["id"] == rule["id"]),
                "no notification for {}",
                rule["id"]
            );
        }
    }
    // The base is an absolute file:// URI (the placeholder stands for the checkout).
    assert_eq!(
        run["originalUriBaseIds"]["SNAPSHOT"]["uri"],
        "file:///SNAPAUDIT/snapshots/example/"
    );
}

#[test]
fn csv_has_a_row_per_finding_with_rfc4180_quoting() {
    let text = check("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header[..6],
        [
            "rule_id",
            "severity",
            "title",
            "resource_id",
            "resource_name",
            "message"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len() as u64, common::EXAMPLE_FINDINGS);
    let row = rows
        .iter()
        .find(|r| &r[0] == "iam.password-policy.min-length")
        .unwrap();
    assert_eq!(&row[5], "minimum password length is 8, needs at least 14");
    assert_eq!(
        (&row[6], &row[7], &row[8]),
        ("iam/get-account-password-policy.json", "3", "34")
    );
    // A message with a comma and a quote-free backtick is quoted as a whole field.
    assert!(text.contains("\"minimum password length is 8, needs at least 14\""));
    assert!(text.contains("\r\n"));
}

#[test]
fn junit_has_a_testcase_per_rule_and_resource() {
    let xml = check("junit");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"snapaudit snapshots/example\" tests="));
    assert!(
        xml.contains(&format!("failures=\"{}\"", common::EXAMPLE_FINDINGS)),
        "{}",
        &xml[..300]
    );
    assert!(xml.contains("<testsuite name=\"iam\""));
    assert!(xml.contains("<testcase name=\"arn:aws:iam::111122223333:user/bob\" classname=\"iam.user.console-mfa\" time=\"0\">\n      <failure message=\"console user `bob` has no MFA device\" type=\"high\">"));
    // A passing rule is one passing case.
    assert!(xml.contains("<testcase name=\"iam.password-policy.expiry\" classname=\"iam.password-policy.expiry\" time=\"0\"/>"));
}

#[test]
fn markdown_summarises_counts_top_findings_and_skips() {
    let md = check("markdown");
    assert!(md.starts_with("## snapaudit: account 111122223333\n"));
    assert!(md.contains("**89 findings** from 61 rules (51 fail, 8 pass, 2 skip, 0 error)."));
    assert!(md.contains("| critical | 1 |"));
    assert!(md.contains("### Top findings (20 of 89)"));
    assert!(md.contains(
        "| critical | `iam.root.mfa` | &lt;root_account&gt; | the root user has no MFA device |"
    ));
}

#[test]
fn several_formats_at_once_go_to_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.sarif");
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--output",
        a.to_str().unwrap(),
        "--format",
        "sarif",
        "--output",
        b.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), check("json"));
    assert_eq!(
        normalized(&std::fs::read_to_string(&b).unwrap()),
        check("sarif")
    );
    assert_eq!(out.stdout, check("markdown"));

    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--format",
        "sarif",
    ]);
    assert_eq!(out.code, 2);
    assert!(out
        .stderr
        .contains("only one format can go to standard output"));
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--output",
        a.to_str().unwrap(),
        "--output",
        b.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("two --output files"), "{}", out.stderr);

    // Each --output belongs to the --format just before it, wherever stdout's format is.
    let c = dir.path().join("c.sarif");
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "markdown",
        "--format",
        "sarif",
        "--output",
        c.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(
        normalized(&std::fs::read_to_string(&c).unwrap()),
        check("sarif")
    );
    assert_eq!(out.stdout, check("markdown"));
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--output",
        c.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("comes before any --format"),
        "{}",
        out.stderr
    );
}

fn finding<'a>(json: &'a Value, rule: &str, resource: &str) -> &'a Value {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule && f["resource"]["id"] == resource)
        .unwrap_or_else(|| panic!("no finding {rule} on {resource}"))
}

fn diagnostic_codes(json: &Value) -> Vec<String> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{} line {}", d["code"].as_str().unwrap(), d["line"]))
        .collect()
}

#[test]
fn a_matching_waiver_waives_an_expired_one_resurfaces_an_unused_one_is_reported() {
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--waivers",
        WAIVERS,
        "--format",
        "json",
    ]);
    let json = out.json();
    // Matches and has not expired (2026-12-15 is after the capture, 2026-11-02).
    let root = finding(&json, "iam.root.mfa", "arn:aws:iam::111122223333:root");
    assert_eq!(
        root["waived"],
        serde_json::json!({"reason": "root hardware key ordered, arrives next week", "owner": "security-team",
                           "expires": "2026-12-15", "file": WAIVERS, "line": 3})
    );
    assert_eq!(json["summary"]["waived"], 1);
    assert_eq!(json["summary"]["total_findings"], common::EXAMPLE_FINDINGS);
    assert_eq!(
        json["summary"]["open_findings"],
        common::EXAMPLE_FINDINGS - 1
    );
    assert_eq!(json["summary"]["findings"]["critical"], 0);
    // Expired on 2026-10-01: carol's key counts again, with a warning at the waiver.
    let carol = finding(&json, "iam.access-key.age", "AKIAEXAMPLECAROL0001");
    assert!(carol["waived"].is_null());
    let codes = diagnostic_codes(&json);
    assert!(
        codes.contains(&"waiver::expired line 10".to_owned()),
        "{codes:?}"
    );
    // Matches nothing.
    assert!(
        codes.contains(&"waiver::unused line 17".to_owned()),
        "{codes:?}"
    );

    // The waived critical finding no longer fails the run at --fail-on critical.
    assert_eq!(
        snapaudit(&["check", "snapshots/example", "--fail-on", "critical"]).code,
        1
    );
    assert_eq!(
        snapaudit(&[
            "check",
            "snapshots/example",
            "--fail-on",
            "critical",
            "--waivers",
            WAIVERS
        ])
        .code,
        0
    );
    // --no-waivers shows everything.
    let all = snapaudit(&[
        "check",
        "snapshots/example",
        "--waivers",
        WAIVERS,
        "--no-waivers",
        "--format",
        "json",
    ]);
    assert_eq!(all.code, 2, "--waivers and --no-waivers conflict");
    let all = snapaudit(&[
        "check",
        "snapshots/example",
        "--no-waivers",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(all.code, 1);

    // Judged at the evaluation time: as of 2026-12-16 the root waiver has expired too.
    let later = snapaudit(&[
        "check",
        "snapshots/example",
        "--waivers",
        WAIVERS,
        "--as-of",
        "2026-12-16",
        "--format",
        "json",
    ])
    .json();
    assert!(finding(&later, "iam.root.mfa", "arn:aws:iam::111122223333:root")["waived"].is_null());
    assert!(diagnostic_codes(&later).contains(&"waiver::expired line 3".to_owned()));
    // …and it is still valid on its last day.
    let last_day = snapaudit(&[
        "check",
        "snapshots/example",
        "--waivers",
        WAIVERS,
        "--as-of",
        "2026-12-15T23:00:00Z",
        "--format",
        "json",
    ])
    .json();
    assert!(
        finding(&last_day, "iam.root.mfa", "arn:aws:iam::111122223333:root")["waived"].is_object()
    );
}

#[test]
fn waived_findings_show_as_waived_in_every_format() {
    let run = |format: &str| {
        snapaudit(&[
            "check",
            "snapshots/example",
            "--waivers",
            WAIVERS,
            "--format",
            format,
        ])
        .stdout
    };
    let human = run("human");
    assert!(human.contains("waived (accepted risks, not counted):\n  iam.root.mfa [critical] <root_account>: the root user has no MFA device\n    waived until 2026-12-15 by security-team: root hardware key ordered, arrives next week (tests/fixtures/waivers/example.waivers.toml:3)"), "{human}");
    assert!(
        human.contains("88 findings: 0 critical, 13 high, 48 medium, 24 low, 3 info (+1 waived)")
    );
    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "iam.root.mfa")
        .unwrap();
    assert_eq!(result["suppressions"][0]["kind"], "external");
    assert_eq!(result["suppressions"][0]["status"], "accepted");
    assert_eq!(
        result["suppressions"][0]["justification"],
        "root hardware key ordered, arrives next week"
    );
    let csv = run("csv");
    assert!(
        csv.lines().any(|l| l.starts_with("iam.root.mfa,")
            && l.ends_with(
                ",true,root hardware key ordered, arrives next week,security-team,2026-12-15,finding"
            )
            || l.contains(
                ",true,\"root hardware key ordered, arrives next week\",security-team,2026-12-15,finding"
            )),
        "{csv}"
    );
    let junit = run("junit");
    assert!(junit.contains("<skipped message=\"waived until 2026-12-15: root hardware key ordered, arrives next week\"/>"));
    let md = run("markdown");
    assert!(md.contains("**88 findings** (+1 waived)"));
    assert!(md.contains("| `iam.root.mfa` | &lt;root_account&gt; | root hardware key ordered, arrives next week | security-team | 2026-12-15 |"));
}

#[test]
fn a_malformed_waiver_is_refused_at_its_line() {
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--waivers",
        "tests/fixtures/waivers/malformed.waivers.toml",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("waiver::invalid"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the waiver for `ec2.*` (line 6) has no reason"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("[tests/fixtures/waivers/malformed.waivers.toml:6:1]"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "nothing is reported from a half-read waivers file"
    );

    let dir = tempfile::tempdir().unwrap();
    let no_expiry = dir.path().join("w.toml");
    std::fs::write(&no_expiry, "[[waiver]]\nrule = \"iam.*\"\nreason = \"x\"\n").unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--waivers",
        no_expiry.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("has no `expires` date"),
        "{}",
        out.stderr
    );
}

/// The JSON Schema of an OCSF 1.6.0 Detection Finding (see tests/fixtures/README.md).
fn ocsf_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            root().join("tests/fixtures/ocsf-1.6.0-detection_finding.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn ocsf_errors(validator: &jsonschema::Validator, finding: &Value) -> Vec<String> {
    validator
        .iter_errors(finding)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn ocsf_findings(args: &[&str]) -> Vec<Value> {
    let out = snapaudit(args);
    assert!(out.stdout.ends_with("]\n"), "{}", out.stderr);
    match out.json() {
        Value::Array(findings) => findings,
        other => panic!("not an array: {other:#}"),
    }
}

fn ocsf_finding<'a>(findings: &'a [Value], rule: &str, resource: &str) -> &'a Value {
    findings
        .iter()
        .find(|f| f["metadata"]["event_code"] == rule && f["resources"][0]["uid"] == resource)
        .unwrap_or_else(|| panic!("no OCSF finding {rule} on {resource}"))
}

#[test]
fn ocsf_findings_are_valid_detection_findings_of_the_ocsf_1_6_0_schema() {
    let validator = ocsf_validator();
    let json = check("json").parse::<Value>().unwrap();
    for waivers in [None, Some(WAIVERS)] {
        let mut args = vec!["check", "snapshots/example", "--format", "ocsf"];
        if let Some(w) = waivers {
            args.extend(["--waivers", w]);
        }
        let findings = ocsf_findings(&args);
        assert_eq!(findings.len(), json["findings"].as_array().unwrap().len());
        let mut uids = std::collections::BTreeSet::new();
        for f in &findings {
            let errors = ocsf_errors(&validator, f);
            assert!(errors.is_empty(), "{}\n{f:#}", errors.join("\n"));
            // What the schema cannot say: the derived ids agree, the time is the
            // evaluation time in milliseconds, and every finding has its own uid.
            assert_eq!(f["class_uid"], 2004);
            assert_eq!(f["category_uid"], 2);
            assert_eq!(
                f["type_uid"].as_u64().unwrap(),
                f["class_uid"].as_u64().unwrap() * 100 + f["activity_id"].as_u64().unwrap()
            );
            assert_eq!(f["time"], 1_793_610_000_000_u64, "2026-11-02T09:00:00Z");
            assert_eq!(f["time_dt"], "2026-11-02T09:00:00Z");
            assert_eq!(f["finding_info"]["created_time"], f["time"]);
            assert_eq!(f["metadata"]["version"], "1.6.0");
            assert_eq!(f["metadata"]["product"]["uid"], "snapaudit");
            assert_eq!(f["cloud"]["provider"], "AWS");
            assert_eq!(f["cloud"]["account"]["uid"], "111122223333");
            assert!(uids.insert(f["finding_info"]["uid"].as_str().unwrap().to_owned()));
        }
    }
}

#[test]
fn the_ocsf_schema_rejects_what_is_not_a_detection_finding() {
    let validator = ocsf_validator();
    let findings = ocsf_findings(&["check", "snapshots/example", "--format", "ocsf"]);
    let good = &findings[0];
    assert!(ocsf_errors(&validator, good).is_empty());
    let broken = |what: &str, edit: &dyn Fn(&mut Value)| {
        let mut f = good.clone();
        edit(&mut f);
        let errors = ocsf_errors(&validator, &f);
        assert!(!errors.is_empty(), "{what} was accepted");
        errors.join("\n")
    };
    let missing = broken("no finding_info", &|f| {
        f.as_object_mut().unwrap().remove("finding_info");
    });
    assert!(missing.contains("finding_info"), "{missing}");
    broken("no finding_info.uid", &|f| {
        f["finding_info"].as_object_mut().unwrap().remove("uid");
    });
    broken("no metadata.version", &|f| {
        f["metadata"].as_object_mut().unwrap().remove("version");
    });
    broken("no cloud.provider", &|f| {
        f["cloud"].as_object_mut().unwrap().remove("provider");
    });
    broken("no time", &|f| {
        f.as_object_mut().unwrap().remove("time");
    });
    broken("a Compliance Finding class_uid", &|f| {
        f["class_uid"] = 2003.into()
    });
    broken("category_uid 1", &|f| f["category_uid"] = 1.into());
    broken("severity_id 7", &|f| f["severity_id"] = 7.into());
    broken("status_id 7", &|f| f["status_id"] = 7.into());
    broken("activity_id 4", &|f| f["activity_id"] = 4.into());
    broken("a time in RFC 3339", &|f| {
        f["time"] = "2026-11-02T09:00:00Z".into();
    });
    broken("an attribute OCSF does not define", &|f| {
        f["finding_infos"] = serde_json::json!({});
    });
    broken("a remediation without desc", &|f| {
        f["remediation"] = serde_json::json!({"references": []});
    });
}

#[test]
fn ocsf_maps_severity_status_region_resource_and_remediation() {
    let findings = ocsf_findings(&[
        "check",
        "snapshots/example",
        "--format",
        "ocsf",
        "--waivers",
        WAIVERS,
    ]);
    // A global resource (the account, its root user): IAM is called in the partition's
    // global region, the resource itself has none.
    let root = ocsf_finding(&findings, "iam.root.mfa", "arn:aws:iam::111122223333:root");
    assert_eq!(root["severity_id"], 5);
    assert_eq!(root["severity"], "Critical");
    assert_eq!(root["status_id"], 3);
    assert_eq!(root["status"], "Suppressed");
    assert_eq!(root["is_alert"], false);
    assert_eq!(
        root["status_detail"],
        "waived until 2026-12-15 by security-team: root hardware key ordered, arrives next week"
    );
    assert_eq!(root["unmapped"]["waiver"]["owner"], "security-team");
    assert_eq!(root["cloud"]["region"], "us-east-1");
    assert_eq!(root["cloud"]["cloud_partition"], "aws");
    let resource = &root["resources"][0];
    assert_eq!(resource["type"], "AWS::::Account");
    assert_eq!(resource["name"], "<root_account>");
    assert!(resource.get("region").is_none(), "{resource:#}");
    assert_eq!(
        root["unmapped"]["location"]["csv"],
        serde_json::json!({"line": 2, "column": "mfa_active", "user": "<root_account>"})
    );
    assert_eq!(root["unmapped"]["cis"], serde_json::json!(["2.5"]));
    assert!(root["remediation"]["desc"]
        .as_str()
        .unwrap()
        .starts_with("Sign in as the root user"));

    // A regional resource: its region from the file the evidence is in.
    let sg = ocsf_finding(
        &findings,
        "ec2.security-group.world-open",
        "sg-0e00000000000002",
    );
    assert_eq!(sg["severity_id"], 2);
    assert_eq!(sg["status_id"], 1);
    assert_eq!(sg["status"], "New");
    assert_eq!(sg["is_alert"], true);
    assert!(sg.get("status_detail").is_none());
    assert_eq!(sg["cloud"]["region"], "eu-west-1");
    assert_eq!(sg["resources"][0]["region"], "eu-west-1");
    assert_eq!(sg["resources"][0]["type"], "AWS::EC2::SecurityGroup");
    let trail = ocsf_finding(
        &findings,
        "cloudtrail.logging",
        "arn:aws:cloudtrail:eu-west-1:111122223333:trail/eu-audit",
    );
    assert_eq!(trail["resources"][0]["type"], "AWS::CloudTrail::Trail");
    assert_eq!(trail["resources"][0]["region"], "eu-west-1");
    assert_eq!(trail["severity"], "High");

    // The evidence's place, as in the JSON output.
    let min_len = ocsf_finding(
        &findings,
        "iam.password-policy.min-length",
        "arn:aws:iam::111122223333:root",
    );
    assert_eq!(
        min_len["unmapped"]["location"],
        serde_json::json!({"file": "iam/get-account-password-policy.json", "line": 3, "column": 34,
                           "end_line": 3, "end_column": 35,
                           "pointer": "/PasswordPolicy/MinimumPasswordLength"})
    );
    assert_eq!(min_len["unmapped"]["label"], "8 < 14");
    assert_eq!(
        min_len["message"],
        "minimum password length is 8, needs at least 14"
    );
    assert_eq!(
        min_len["finding_info"]["title"],
        "Password policy requires long passwords"
    );
    assert_eq!(
        min_len["finding_info"]["uid"],
        "snapaudit|111122223333|iam.password-policy.min-length|arn:aws:iam::111122223333:root"
    );
    assert_eq!(
        min_len["finding_info"]["analytic"],
        serde_json::json!({"uid": "iam.password-policy.min-length",
                           "name": "Password policy requires long passwords",
                           "type_id": 1, "type": "Rule"})
    );
    let info = ocsf_finding(
        &findings,
        "support.trusted-advisor",
        "arn:aws:iam::111122223333:root",
    );
    assert_eq!(info["severity_id"], 1);
    assert_eq!(info["severity"], "Informational");
    assert_eq!(
        info["unmapped"]["call"],
        "support/describe-trusted-advisor-checks.json"
    );
    // A second finding of one rule on one resource has its own uid.
    let open = findings
        .iter()
        .filter(|f| {
            f["metadata"]["event_code"] == "ec2.security-group.world-open"
                && f["resources"][0]["uid"] == "sg-0a00000000000004"
        })
        .map(|f| f["finding_info"]["uid"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        open,
        [
            "snapaudit|111122223333|ec2.security-group.world-open|sg-0a00000000000004",
            "snapaudit|111122223333|ec2.security-group.world-open|sg-0a00000000000004|2"
        ]
    );
}

#[test]
fn ocsf_time_is_the_evaluation_time_and_is_required() {
    let later = ocsf_findings(&[
        "check",
        "snapshots/example",
        "--format",
        "ocsf",
        "--as-of",
        "2026-12-16",
    ]);
    assert_eq!(later[0]["time"], 1_797_379_200_000_u64);
    assert_eq!(later[0]["time_dt"], "2026-12-16T00:00:00Z");

    // No manifest and no credential report: no time is known, and none is made up.
    let fx = Fixture::example();
    fx.remove("manifest.json");
    fx.remove("iam/get-credential-report.json");
    let dir = fx.arg();
    let out = snapaudit(&["check", &dir, "--format", "ocsf"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("OCSF findings need a time") && out.stderr.contains("--as-of"),
        "{}",
        out.stderr
    );
    let findings = ocsf_findings(&["check", &dir, "--format", "ocsf", "--as-of", "2026-11-02"]);
    assert!(!findings.is_empty());
    assert_eq!(findings[0]["time"], 1_793_577_600_000_u64);
}

#[test]
fn ocsf_is_not_written_when_the_audit_cannot_start() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("findings.ocsf.json");
    let out = snapaudit(&[
        "check",
        "no/such/snapshot",
        "--format",
        "ocsf",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("snapshot::not-found"), "{}", out.stderr);
    assert!(!path.exists(), "an empty array would read as a clean audit");
}

#[test]
fn ocsf_findings_of_keys_in_a_source_tree_are_valid_and_keep_the_secret_out() {
    const SECRET: &str = "q8Rz/Tn3YpWx+Lk2Vb7Mc9Ds4Fg6Hj1KaQeUrTyI";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.yaml"),
        format!("aws:\n  access_key_id: AKIAEXAMPLEALICE0001\n  secret_access_key: {SECRET}\n"),
    )
    .unwrap();
    let src = dir.path().to_str().unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example-later",
        "--source",
        src,
        "--format",
        "ocsf",
    ]);
    assert!(
        !out.stdout.contains(SECRET),
        "the secret is in the OCSF output"
    );
    let findings = ocsf_findings(&[
        "check",
        "snapshots/example-later",
        "--source",
        src,
        "--format",
        "ocsf",
    ]);
    let validator = ocsf_validator();
    for f in &findings {
        let errors = ocsf_errors(&validator, f);
        assert!(errors.is_empty(), "{}\n{f:#}", errors.join("\n"));
    }
    let key = ocsf_finding(
        &findings,
        "source.secret-access-key",
        "AKIAEXAMPLEALICE0001",
    );
    assert_eq!(key["severity_id"], 5);
    // A key is an IAM resource: global, filed under the partition's global region; the
    // scanned file says nothing about regions.
    assert_eq!(key["resources"][0]["type"], "AWS::IAM::AccessKey");
    assert!(key["resources"][0].get("region").is_none());
    assert_eq!(key["cloud"]["region"], "us-east-1");
    let location = &key["unmapped"]["location"];
    assert!(location["file"].as_str().unwrap().ends_with("app.yaml"));
    assert_eq!(location["line"], 3);
    assert_eq!(location["column"], 22);
    assert!(location.get("pointer").is_none());
}
