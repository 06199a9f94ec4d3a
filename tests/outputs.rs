#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! The output formats on the example snapshot (golden files in tests/golden/, SARIF checked
//! against the SARIF 2.1.0 schema), several formats at once, and waivers.
//!
//! After an intended change of an output, rewrite the golden files with
//! `SNAPAUDIT_BLESS=1 cargo test --test outputs` and review the diff.

mod common;

use common::{root, snapaudit};
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
    assert_eq!(rows.len(), 35);
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
    assert!(xml.contains("failures=\"35\""), "{}", &xml[..300]);
    assert!(xml.contains("<testsuite name=\"iam\""));
    assert!(xml.contains("<testcase name=\"arn:aws:iam::111122223333:user/bob\" classname=\"iam.user.console-mfa\" time=\"0\">\n      <failure message=\"console user `bob` has no MFA device\" type=\"high\">"));
    // A passing rule is one passing case.
    assert!(xml.contains("<testcase name=\"iam.password-policy.expiry\" classname=\"iam.password-policy.expiry\" time=\"0\"/>"));
}

#[test]
fn markdown_summarises_counts_top_findings_and_skips() {
    let md = check("markdown");
    assert!(md.starts_with("## snapaudit: account 111122223333\n"));
    assert!(md.contains("**35 findings** from 33 rules (24 fail, 7 pass, 2 skip, 0 error)."));
    assert!(md.contains("| critical | 1 |"));
    assert!(md.contains("### Top findings (20 of 35)"));
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
    assert_eq!(json["summary"]["total_findings"], 35);
    assert_eq!(json["summary"]["open_findings"], 34);
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
        human.contains("34 findings: 0 critical, 6 high, 15 medium, 10 low, 3 info (+1 waived)")
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
    assert!(md.contains("**34 findings** (+1 waived)"));
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
