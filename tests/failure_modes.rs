//! Every failure mode of `check` gives its documented result and exit code, never a panic:
//! missing files, failed calls, absent data, malformed JSON, bad base64, odd CSV, broken
//! and hostile rules.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::{findings_of, rule_result, snapaudit, unusable_for, Fixture};

fn check_json(fixture: &Fixture) -> (i32, serde_json::Value, String) {
    let out = snapaudit(&["check", &fixture.arg(), "--format", "json"]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    (out.code, out.json(), out.stderr)
}

fn diagnostics<'a>(run: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    run["diagnostics"]
        .as_array()
        .map(|d| d.iter().filter(|x| x["code"] == code).collect())
        .unwrap_or_default()
}

#[test]
fn a_file_that_was_not_collected_skips_the_rules_that_need_it() {
    let f = Fixture::example();
    f.remove("cloudwatch/us-east-1/describe-alarms.json");
    f.edit_call("cloudwatch/us-east-1/describe-alarms.json", |_| None);
    let (code, run, _) = check_json(&f);
    assert_eq!(
        rule_result(&run, "cloudwatch.billing-alarm"),
        (
            "skip".into(),
            "not collected: cloudwatch/us-east-1/describe-alarms.json".into()
        )
    );
    assert!(findings_of(&run, "cloudwatch.billing-alarm").is_empty());
    assert_eq!(code, 1, "a skip is not an error; the other findings remain");
}

#[test]
fn a_failed_call_is_an_error_result_not_a_pass() {
    let f = Fixture::example();
    f.fail_call(
        "ec2/us-east-1/describe-security-groups.json",
        "AccessDenied",
    );
    let (code, run, _) = check_json(&f);
    // The region that was refused is an error gap; the other region is still judged.
    let reason = unusable_for(&run, "ec2.security-group.admin-ports-open").expect("not a pass");
    assert!(
        reason.contains(
            "AccessDenied: ec2/us-east-1/describe-security-groups.json could not be collected"
        ),
        "{reason}"
    );
    assert_eq!(code, 2, "an audit with failed calls is not clean");
    // Rules that do not need the file are unaffected.
    assert_eq!(rule_result(&run, "iam.root.mfa").0, "fail");
}

#[test]
fn an_absent_password_policy_is_a_finding_on_the_manifest_entry() {
    let f = Fixture::example();
    f.fail_call("iam/get-account-password-policy.json", "NoSuchEntity");
    let (_, run, _) = check_json(&f);
    let present = findings_of(&run, "iam.password-policy.present");
    assert_eq!(present.len(), 1);
    assert_eq!(present[0]["location"]["file"], "manifest.json");
    assert_eq!(present[0]["call"], "iam/get-account-password-policy.json");
    let (result, reason) = rule_result(&run, "iam.password-policy.min-length");
    assert_eq!(result, "skip");
    assert!(reason.contains("password policy"), "{reason}");
}

#[test]
fn malformed_json_is_located_and_only_its_rules_error() {
    let f = Fixture::example();
    let text = f.read("ec2/eu-west-1/describe-instances.json");
    f.write("ec2/eu-west-1/describe-instances.json", &text[..200]);
    let (code, run, _) = check_json(&f);
    assert_eq!(code, 2);
    let d = diagnostics(&run, "snapshot::malformed-json");
    assert_eq!(d.len(), 1, "{run}");
    assert_eq!(d[0]["file"], "ec2/eu-west-1/describe-instances.json");
    assert!(d[0]["line"].as_u64().is_some_and(|l| l >= 9), "{}", d[0]);
    let reason = unusable_for(&run, "ec2.instance.public-ip").expect("not a pass");
    assert!(
        reason.contains("malformed: ec2/eu-west-1/describe-instances.json"),
        "{reason}"
    );
    assert_eq!(rule_result(&run, "iam.user.console-mfa").0, "fail");
    // The human output shows the spot.
    let out = snapaudit(&["check", &f.arg()]);
    assert!(
        out.stderr
            .contains("describe-instances.json` is not valid JSON: EOF while parsing"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_base64_in_the_credential_report_is_located() {
    let f = Fixture::example();
    let text = f.read("iam/get-credential-report.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let content = doc["Content"].as_str().expect("content");
    f.write(
        "iam/get-credential-report.json",
        &text.replace(content, "dXNlcixhcm4K!!!garbage"),
    );
    let (code, run, _) = check_json(&f);
    assert_eq!(code, 2);
    let d = diagnostics(&run, "snapshot::credential-report");
    assert_eq!(d.len(), 1);
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not valid base64"),
        "{}",
        d[0]
    );
    assert_eq!(d[0]["line"], 2, "points at the Content line");
    let (result, reason) = rule_result(&run, "iam.user.console-mfa");
    assert_eq!(result, "error");
    assert!(reason.contains("credential report"), "{reason}");
}

#[test]
fn a_credential_report_row_with_missing_cells_is_located_in_the_csv() {
    use base64::Engine as _;
    let f = Fixture::example();
    let csv = "user,arn,user_creation_time,password_enabled,mfa_active\n<root_account>,arn:aws:iam::111122223333:root,2019-01-01T00:00:00+00:00,not_supported,false\nbob,arn:aws:iam::111122223333:user/bob\n";
    let b64 = base64::engine::general_purpose::STANDARD.encode(csv);
    let doc = serde_json::json!({"Content": b64, "ReportFormat": "text/csv", "GeneratedTime": "2026-11-02T08:59:30+00:00"});
    f.write(
        "iam/get-credential-report.json",
        &serde_json::to_string_pretty(&doc).expect("json"),
    );
    let (code, run, _) = check_json(&f);
    assert_eq!(code, 2);
    let d = diagnostics(&run, "snapshot::credential-report");
    assert_eq!(d.len(), 1);
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("a row has 2 cells, the header has 5"),
        "{}",
        d[0]
    );
    assert_eq!(d[0]["line"], 3);
}

#[test]
fn the_manifest_listing_a_missing_file_is_an_error() {
    let f = Fixture::example();
    f.remove("ec2/us-east-1/describe-vpcs.json");
    let (code, run, _) = check_json(&f);
    assert_eq!(code, 2);
    let d = diagnostics(&run, "snapshot::missing-file");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["file"], "ec2/us-east-1/describe-vpcs.json");
}

#[test]
fn a_hand_made_snapshot_without_manifest_works() {
    let f = Fixture::example();
    f.remove("manifest.json");
    let (code, run, _) = check_json(&f);
    assert_eq!(code, 1);
    assert_eq!(
        run["snapshot"]["regions"],
        serde_json::json!(["eu-west-1", "us-east-1"])
    );
    assert_eq!(
        run["snapshot"]["account_id"], "111122223333",
        "from sts/get-caller-identity.json"
    );
    assert_eq!(run["snapshot"]["evaluated_at_source"], "credential-report");
    assert_eq!(run["snapshot"]["evaluated_at"], "2026-11-02T08:59:30Z");
    let w = diagnostics(&run, "snapshot::time-from-report");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0]["severity"], "warning");
    // The Trusted Advisor call was never made by hand: not collected, so skipped.
    assert_eq!(rule_result(&run, "support.trusted-advisor").0, "skip");
    assert!(!findings_of(&run, "iam.root.mfa").is_empty());
}

#[test]
fn a_tampered_file_is_reported() {
    let f = Fixture::example();
    let text = f.read("iam/list-users.json");
    f.write("iam/list-users.json", &text.replace("alice", "mallory"));
    let (_, run, _) = check_json(&f);
    let d = diagnostics(&run, "snapshot::sha256-mismatch");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["file"], "iam/list-users.json");
}

#[test]
fn broken_and_hostile_rules_are_diagnosed_and_the_rest_still_run() {
    let started = std::time::Instant::now();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--policies",
        "policies",
        "--policies",
        "tests/fixtures/policies-hostile",
        "--config",
        "tests/fixtures/short-timeout.toml",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    let hostile = "tests/fixtures/policies-hostile";
    let expect = [
        (
            "test.loops-forever",
            "rule::limit",
            "loops.rhai",
            6,
            "ran past its time budget of 300 ms",
        ),
        (
            "test.does-not-compile",
            "rule::syntax",
            "broken.rhai",
            6,
            "does not compile",
        ),
        (
            "test.throws",
            "rule::runtime",
            "throws.rhai",
            6,
            "cannot handle 8",
        ),
        (
            "test.reads-files",
            "rule::sandbox",
            "reads_files.rhai",
            5,
            "tried to import a module",
        ),
        (
            "test.uses-eval",
            "rule::syntax",
            "uses_eval.rhai",
            5,
            "'eval' is disabled",
        ),
        (
            "test.recurses",
            "rule::limit",
            "recurses.rhai",
            6,
            "nested function calls too deeply",
        ),
        (
            "test.grows-a-string",
            "rule::limit",
            "grows.rhai",
            6,
            "built a value that is too large: Length of string",
        ),
        (
            "test.grows-an-array",
            "rule::limit",
            "grows_array.rhai",
            6,
            "built a value that is too large: Size of array",
        ),
        (
            "test.grows-maps",
            "rule::limit",
            "grows_maps.rhai",
            7,
            "built a value that is too large: Size of object map",
        ),
        (
            "test.opens-a-file",
            "rule::runtime",
            "opens_file.rhai",
            5,
            "called a function that does not exist: read_file",
        ),
        (
            "test.opens-a-socket",
            "rule::runtime",
            "opens_socket.rhai",
            5,
            "called a function that does not exist: open_socket",
        ),
        (
            "test.throws-everywhere",
            "rule::runtime",
            "throws_everywhere.rhai",
            6,
            "cannot judge sg-",
        ),
    ];
    for (id, code, file, line, text) in expect {
        let (result, reason) = rule_result(&run, id);
        assert_eq!(result, "error", "{id}");
        assert!(reason.contains(text), "{id}: {reason}");
        let d = run["diagnostics"]
            .as_array()
            .and_then(|ds| ds.iter().find(|d| d["file"] == format!("{hostile}/{file}")))
            .unwrap_or_else(|| panic!("no diagnostic for {file}"));
        assert_eq!(d["code"], code, "{id}");
        assert_eq!(d["line"], line, "{id}: {d}");
    }
    // A header that is not valid metadata: an error result under the file's name.
    let d = run["diagnostics"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["code"] == "rule::metadata"))
        .expect("metadata diagnostic");
    assert_eq!(d["file"], format!("{hostile}/bad_header.rhai"));
    assert_eq!(d["line"], 3);
    // The default pack ran as usual.
    assert_eq!(findings_of(&run, "iam.password-policy.min-length").len(), 1);
    assert_eq!(run["summary"]["total_findings"], common::EXAMPLE_FINDINGS);
    // Not a speed claim: a guard that the budget stopped the loops (13 hostile rules with a
    // 300 ms budget each; a hang would never return).
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn every_misuse_of_the_host_api_is_a_located_rule_error() {
    let cases = [
        (
            "json(42)",
            "snapshot.json(42);",
            "rule::runtime",
            "called a function that does not exist: json (snapshot, i64)",
        ),
        (
            "json(..)",
            r#"snapshot.json("../../etc/passwd");"#,
            "rule::runtime",
            "is not a snapshot path",
        ),
        (
            "json(/)",
            r#"snapshot.json("/etc/passwd");"#,
            "rule::runtime",
            "is not a snapshot path",
        ),
        (
            "query",
            r#"query(snapshot.json("iam/list-users.json"), "[[[");"#,
            "rule::runtime",
            "invalid JMESPath expression",
        ),
        (
            "tally",
            r#"tally(snapshot.json("iam/list-users.json"), "foo(");"#,
            "rule::runtime",
            "invalid JMESPath expression",
        ),
        (
            "days_since",
            r#"days_since("not a time");"#,
            "rule::runtime",
            "`not a time` is not a time",
        ),
        (
            "timestamp",
            r#"timestamp("garbage");"#,
            "rule::runtime",
            "`garbage` is not a time",
        ),
        (
            "report()",
            "report();",
            "rule::runtime",
            "called a function that does not exist: report ()",
        ),
        (
            "report(i64, i64)",
            "report(42, 42);",
            "rule::runtime",
            "called a function that does not exist: report (i64, i64)",
        ),
        (
            "report(row, …)",
            "for row in snapshot.credential_report() { report(row, 1, 2); }",
            "rule::runtime",
            "report (row, i64, i64)",
        ),
        (
            "config",
            "let x = config.no_such_setting;",
            "rule::runtime",
            "unknown config setting `no_such_setting`",
        ),
        (
            "regions(…)",
            "snapshot.regions(1, 2);",
            "rule::runtime",
            "regions (snapshot, i64, i64)",
        ),
        (
            "pad",
            r#"let s = "x"; s.pad(1000000000, "y");"#,
            "rule::limit",
            "too large",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, code, _, _)) in cases.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("r{i:02}.rhai")),
            format!("//! id = \"host.r{i:02}\"\n//! title = \"{name}\"\n//! severity = \"low\"\n\n{code}\n"),
        )
        .unwrap();
    }
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--policies",
        "policies",
        "--policies",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.code, 2);
    let run = out.json();
    for (i, (name, _, code, text)) in cases.iter().enumerate() {
        let (result, reason) = rule_result(&run, &format!("host.r{i:02}"));
        assert_eq!(result, "error", "{name}: {reason}");
        assert!(reason.contains(text), "{name}: {reason}");
        let file = format!("{}/r{i:02}.rhai", dir.path().display());
        let d = run["diagnostics"]
            .as_array()
            .and_then(|ds| ds.iter().find(|d| d["file"] == file))
            .unwrap_or_else(|| panic!("{name}: no diagnostic"));
        assert_eq!(d["code"], *code, "{name}");
        assert_eq!(d["line"], 5, "{name}");
    }
    assert_eq!(run["summary"]["total_findings"], common::EXAMPLE_FINDINGS);
}

/// Rules written to crash the process, each its own `error` (or, for a read of missing data
/// wrapped in `try`, its `skip`): the report is still written and the pack still runs.
#[test]
fn no_rule_can_take_the_process_down() {
    let users = r#"snapshot.json("iam/list-users.json")"#;
    let cases = [
        (
            "a 33-bit index",
            format!(r#"query({users}, "Users[2147483648]");"#),
            "error",
            "out of range",
        ),
        (
            "3000 nested filters",
            format!(r#"query({users}, "Users{}");"#, "[?a]".repeat(3000)),
            "error",
            "invalid JMESPath expression",
        ),
        (
            "5000 parentheses",
            format!(r#"query({users}, "{}");"#, "(".repeat(5000)),
            "error",
            "invalid JMESPath expression",
        ),
        (
            "5000 negations",
            format!(r#"query({users}, "{}Users");"#, "!".repeat(5000)),
            "error",
            "invalid JMESPath expression",
        ),
        (
            "5000 subexpressions",
            format!(r#"query({users}, "Users{}");"#, ".a".repeat(5000)),
            "error",
            "invalid JMESPath expression",
        ),
        (
            "5000 pipes",
            format!(r#"query({users}, "Users{}");"#, " | @".repeat(5000)),
            "error",
            "invalid JMESPath expression",
        ),
        (
            "a query that doubles 27 times",
            format!(r#"query({users}, "Users{}");"#, " | [@, @]".repeat(27)),
            "error",
            "JMESPath query stopped",
        ),
        (
            "missing data caught by try",
            r#"try { let x = snapshot.json("x/y.json").A; } catch { }"#.to_owned(),
            "skip",
            "not collected: x/y.json",
        ),
        (
            "a number compared with a string",
            r#"let p = snapshot.json("iam/get-account-password-policy.json").PasswordPolicy; if p.MinimumPasswordLength < "14" { report(p, "short"); }"#.to_owned(),
            "error",
            "cannot compare a number with a string",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, code, _, _)) in cases.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("c{i:02}.rhai")),
            format!("//! id = \"crash.c{i:02}\"\n//! title = \"{name}\"\n//! severity = \"low\"\n\n{code}\n"),
        )
        .unwrap();
    }
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--policies",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    for (i, (name, _, result, text)) in cases.iter().enumerate() {
        let (got, reason) = rule_result(&run, &format!("crash.c{i:02}"));
        assert_eq!(&got, result, "{name}: {reason}");
        assert!(reason.contains(text), "{name}: {reason}");
    }
    assert_eq!(
        run["summary"]["total_findings"],
        common::EXAMPLE_FINDINGS,
        "the pack ran as usual"
    );
}

/// Comparing and printing a deeply nested array recurses in Rhai: rules run on threads
/// whose stack holds any depth a rule can build within its limits.
#[test]
fn a_deep_array_compared_and_printed_does_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("slow.toml");
    std::fs::write(&config, "[limits]\ntimeout_ms = 300000\n").unwrap();
    std::fs::write(
        dir.path().join("deep.rhai"),
        "//! id = \"crash.deep\"\n//! title = \"deep\"\n//! severity = \"low\"\n\
         let a = []; for i in 0..12000 { a = [a]; }\n\
         let same = a == a; let text = a.to_debug();\n\
         report(\"x\", `${same} ${text.len()}`);\n",
    )
    .unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--no-default-pack",
        "--policies",
        dir.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!out.stderr.contains("overflow"), "{}", out.stderr);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let run = out.json();
    assert_eq!(rule_result(&run, "crash.deep").0, "fail");
}

/// A config cannot raise the limits past what the rule threads' stack holds, nor switch
/// Rhai's depth check off (`0`); at the highest limits allowed, recursion and deep
/// expressions end as the rule's error.
#[test]
fn limits_are_capped_and_hold_at_their_caps() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("calls.toml", "[limits]\nmax_call_levels = 100000\n"),
        ("depth.toml", "[limits]\nmax_expr_depth = 0\n"),
        ("time.toml", "[limits]\ntimeout_ms = 99999999999\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = snapaudit(&[
            "check",
            "snapshots/example",
            "--config",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 2, "{name}");
        assert!(
            out.stderr.contains("config::invalid") && out.stderr.contains("is outside"),
            "{name}: {}",
            out.stderr
        );
    }
    let caps = dir.path().join("caps.toml");
    std::fs::write(
        &caps,
        "[limits]\nmax_call_levels = 256\nmax_expr_depth = 512\n",
    )
    .unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("recurse.rhai"),
        "//! id = \"caps.recurse\"\n//! title = \"recursion\"\n//! severity = \"low\"\nfn down(n) { down(n + 1) }\ndown(0);\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("nest.rhai"),
        format!(
            "//! id = \"caps.nest\"\n//! title = \"nesting\"\n//! severity = \"low\"\nlet x = {}1{};\n",
            "(".repeat(600),
            ")".repeat(600)
        ),
    )
    .unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--format",
        "json",
        "--config",
        caps.to_str().unwrap(),
        "--policies",
        rules.to_str().unwrap(),
    ]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    assert_eq!(rule_result(&run, "caps.recurse").0, "error");
    assert_eq!(rule_result(&run, "caps.nest").0, "error");
}

/// An audit that decided nothing is not a clean audit: an empty snapshot, or a rule
/// directory with no rule (only symbolic links, say), exits 2 with a diagnostic.
#[test]
fn an_audit_that_decided_nothing_does_not_pass() {
    let empty = tempfile::tempdir().unwrap();
    let out = snapaudit(&["check", empty.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    assert!(
        run["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "audit::nothing-decided"),
        "{run:#}"
    );

    let rules = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        common::root().join("policies/iam/root_mfa.rhai"),
        rules.path().join("root_mfa.rhai"),
    )
    .unwrap();
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--no-default-pack",
        "--policies",
        rules.path().to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("holds no rule files"), "{}", out.stderr);
    assert!(
        out.stderr.contains("audit::nothing-decided"),
        "{}",
        out.stderr
    );
}

/// Small ways to lose or corrupt a report, each refused with a message: two reports to one
/// file, a report into the snapshot, a standard output that cannot be written, a diff of
/// snapshots that do not say their account.
#[test]
fn reports_cannot_overwrite_each_other_or_the_evidence() {
    let f = Fixture::example();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.json").display().to_string();
    let out = snapaudit(&[
        "check",
        &f.arg(),
        "--format",
        "json",
        "--output",
        &a,
        "--format",
        "sarif",
        "--output",
        &a,
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("two reports would be written to"),
        "{}",
        out.stderr
    );

    let inside = f.path().join("iam/list-users.json").display().to_string();
    let before = f.read("iam/list-users.json");
    let out = snapaudit(&["check", &f.arg(), "--format", "json", "--output", &inside]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("is inside the snapshot being audited"),
        "{}",
        out.stderr
    );
    assert_eq!(f.read("iam/list-users.json"), before);

    #[cfg(target_os = "linux")]
    {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapaudit"))
            .args(["check", "snapshots/example", "--format", "json"])
            .current_dir(common::root())
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot write to standard output"),
            "{stderr}"
        );
    }

    let anonymous = Fixture::example();
    anonymous.remove("sts/get-caller-identity.json");
    anonymous.edit_call("sts/get-caller-identity.json", |_| None);
    let manifest = anonymous
        .read("manifest.json")
        .replace("\"account_id\": \"111122223333\"", "\"account_id\": \"\"");
    anonymous.write("manifest.json", &manifest);
    let out = snapaudit(&["diff", "snapshots/example", &anonymous.arg()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("names no account"), "{}", out.stderr);
}
