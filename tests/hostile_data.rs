//! A corpus of hostile snapshots, each with the diagnostic it must give: the snapshot is
//! `snapshots/example` damaged in one way. Every case must end with exit code 2 (or with
//! per-rule errors), name the damage at its file and line, leave the undamaged rules'
//! results as they were, and never panic; `diff` against the undamaged snapshot must not
//! panic either. Damaged files get a matching sha256 in the manifest (except in the
//! tampering case), so that each case shows its own diagnostic.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::io::Read as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use common::{findings_of, rule_result, snapaudit, unusable_for, Fixture};
use serde_json::Value;

const SG: &str = "ec2/us-east-1/describe-security-groups.json";
const INSTANCES: &str = "ec2/eu-west-1/describe-instances.json";
const USERS: &str = "iam/list-users.json";
const DETAILS: &str = "iam/get-account-authorization-details.json";
const REPORT: &str = "iam/get-credential-report.json";

/// Writes `bytes` to `rel` and records their sha256 in the manifest, as a collector would
/// have: the damage is in the data, not a mismatch.
fn reseal(f: &Fixture, rel: &str, bytes: &[u8]) {
    std::fs::write(f.path().join(rel), bytes).unwrap();
    let sha = snapaudit::snapshot::manifest::sha256_hex(bytes);
    f.edit_call(rel, |mut c| {
        c["sha256"] = sha.clone().into();
        Some(c)
    });
}

/// Edits the lines of the credential report's CSV.
fn report_csv(f: &Fixture, edit: impl Fn(&mut Vec<String>)) {
    let doc: Value = serde_json::from_str(&f.read(REPORT)).unwrap();
    let csv = base64::engine::general_purpose::STANDARD
        .decode(doc["Content"].as_str().unwrap())
        .unwrap();
    let mut lines: Vec<String> = String::from_utf8(csv)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    edit(&mut lines);
    let csv = lines.join("\n") + "\n";
    let b64 = base64::engine::general_purpose::STANDARD.encode(csv);
    let text = f
        .read(REPORT)
        .replace(doc["Content"].as_str().unwrap(), &b64);
    reseal(f, REPORT, text.as_bytes());
}

fn run_check(f: &Fixture) -> (i32, Value, String) {
    let out = snapaudit(&["check", &f.arg(), "--format", "json"]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    (out.code, out.json(), out.stderr)
}

fn diagnostic<'a>(run: &'a Value, code: &str) -> &'a Value {
    run["diagnostics"]
        .as_array()
        .and_then(|d| d.iter().find(|x| x["code"] == code))
        .unwrap_or_else(|| panic!("no `{code}` diagnostic in {:#}", run["diagnostics"]))
}

/// What a case must show.
struct Expect {
    code: &'static str,
    severity: &'static str,
    file: &'static str,
    /// `Some(line)` when the diagnostic is located in the file.
    line: Option<u64>,
    message: &'static str,
    /// A rule that reads the damaged data and must report `error`, not pass or fail.
    errs: Option<&'static str>,
}

/// Runs one case: the expected diagnostic, exit code 2, the other rules unaffected, and a
/// `diff` that does not panic.
fn case(name: &str, damage: impl Fn(&Fixture), expect: Expect) {
    let f = Fixture::example();
    damage(&f);
    let (code, run, stderr) = run_check(&f);
    assert_eq!(code, 2, "{name}: {stderr}");
    let d = diagnostic(&run, expect.code);
    assert_eq!(d["severity"], expect.severity, "{name}: {d}");
    assert_eq!(d["file"], expect.file, "{name}: {d}");
    assert!(
        d["message"].as_str().unwrap().contains(expect.message),
        "{name}: {d}"
    );
    match expect.line {
        Some(line) => assert_eq!(d["line"], line, "{name}: {d}"),
        None => assert!(d["line"].is_null(), "{name}: {d}"),
    }
    if let Some(id) = expect.errs {
        assert!(
            unusable_for(&run, id).is_some(),
            "{name}: {id} passed on damaged data"
        );
    }
    // Nothing is reported from the damaged file (rules may still report on other files).
    let from_damaged = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["location"]["file"] == expect.file)
        .count();
    if expect.code != "snapshot::sha256-mismatch" {
        assert_eq!(from_damaged, 0, "{name}");
    }
    // Rules on undamaged data give what they give on the example.
    assert_eq!(
        rule_result(&run, "iam.password-policy.min-length").0,
        "fail"
    );
    assert_eq!(
        findings_of(&run, "cloudtrail.kms-encryption").len(),
        1,
        "{name}"
    );
    // The human output names the damage too, without printing a huge file.
    let human = snapaudit(&["check", &f.arg()]);
    assert_eq!(human.code, 2, "{name}");
    assert!(
        human.stderr.contains(expect.code),
        "{name}: {}",
        human.stderr
    );
    assert!(
        human.stderr.len() < 200_000,
        "{name}: {} bytes",
        human.stderr.len()
    );
    let diff = snapaudit(&["diff", "snapshots/example", &f.arg(), "--format", "json"]);
    assert!(!diff.stderr.contains("panicked"), "{name}: {}", diff.stderr);
    assert!(matches!(diff.code, 0..=2), "{name}: {}", diff.code);
}

#[test]
fn truncated_json() {
    case(
        "truncated",
        |f| {
            let text = f.read(INSTANCES);
            reseal(f, INSTANCES, &text.as_bytes()[..text.len() / 2]);
        },
        Expect {
            code: "snapshot::malformed-json",
            severity: "error",
            file: INSTANCES,
            line: Some(155),
            message: "EOF while parsing",
            errs: Some("ec2.instance.public-ip"),
        },
    );
}

#[test]
fn a_string_where_the_cli_prints_a_list() {
    case(
        "wrong type",
        |f| {
            let text = f.read(SG);
            let start = text.find("[").unwrap();
            let end = text.rfind("]").unwrap();
            let damaged = format!("{}\"sg-0123\"{}", &text[..start], &text[end + 1..]);
            reseal(f, SG, damaged.as_bytes());
        },
        Expect {
            code: "snapshot::wrong-shape",
            severity: "error",
            file: SG,
            line: Some(2),
            message: "`SecurityGroups` is a string; the aws CLI prints a list of objects",
            errs: Some("ec2.security-group.world-open"),
        },
    );
}

#[test]
fn a_list_where_the_cli_prints_an_object() {
    case(
        "wrong root",
        |f| reseal(f, DETAILS, b"[\n  {\"UserName\": \"alice\"}\n]\n"),
        Expect {
            code: "snapshot::wrong-shape",
            severity: "error",
            file: DETAILS,
            line: Some(1),
            message: "the file holds a list; the aws CLI prints an object for this call",
            errs: Some("iam.user.direct-policies"),
        },
    );
}

#[test]
fn deeply_nested_arrays() {
    case(
        "deep nesting",
        |f| reseal(f, SG, "[".repeat(1_000_000).as_bytes()),
        Expect {
            code: "snapshot::malformed-json",
            severity: "error",
            file: SG,
            line: Some(1),
            message: "recursion limit exceeded",
            errs: Some("ec2.security-group.world-open"),
        },
    );
}

#[test]
fn invalid_utf8() {
    case(
        "invalid utf-8",
        |f| {
            let mut bytes = f.read(DETAILS).into_bytes();
            let at = bytes.windows(5).position(|w| w == b"alice").unwrap();
            bytes[at] = 0xff;
            reseal(f, DETAILS, &bytes);
        },
        Expect {
            code: "snapshot::not-utf8",
            severity: "error",
            file: DETAILS,
            line: Some(5),
            message: "is not UTF-8 text",
            errs: Some("iam.user.direct-policies"),
        },
    );
}

#[test]
fn duplicate_member_names() {
    case(
        "duplicate keys",
        |f| {
            // A second, empty `SecurityGroups` after the real one would hide every group
            // from a reader that keeps the last value.
            let text = f.read(SG);
            let end = text.rfind('}').unwrap();
            let damaged = format!(
                "{},\n    \"SecurityGroups\": []\n}}\n",
                text[..end].trim_end()
            );
            reseal(f, SG, damaged.as_bytes());
        },
        Expect {
            code: "snapshot::duplicate-key",
            severity: "error",
            file: SG,
            line: Some(327),
            message: "duplicate key `SecurityGroups` in one object",
            errs: Some("ec2.security-group.world-open"),
        },
    );
}

#[test]
fn base64_with_garbage() {
    case(
        "bad base64",
        |f| {
            let text = f.read(REPORT);
            let doc: Value = serde_json::from_str(&text).unwrap();
            let content = doc["Content"].as_str().unwrap();
            let damaged = text.replace(content, &format!("{}*%$#", &content[..40]));
            reseal(f, REPORT, damaged.as_bytes());
        },
        Expect {
            code: "snapshot::credential-report",
            severity: "error",
            file: REPORT,
            line: Some(2),
            message: "not valid base64",
            errs: Some("iam.user.console-mfa"),
        },
    );
}

#[test]
fn csv_with_a_missing_column() {
    case(
        "csv missing column",
        |f| {
            report_csv(f, |lines| {
                let cut = lines[3].rfind(',').unwrap();
                lines[3].truncate(cut);
            })
        },
        Expect {
            code: "snapshot::credential-report",
            severity: "error",
            file: REPORT,
            line: Some(4),
            message: "a row has 21 cells, the header has 22",
            errs: Some("iam.user.console-mfa"),
        },
    );
}

#[test]
fn csv_with_an_extra_column() {
    case(
        "csv extra column",
        |f| {
            report_csv(f, |lines| {
                lines[2].push_str(",surprise");
            })
        },
        Expect {
            code: "snapshot::credential-report",
            severity: "error",
            file: REPORT,
            line: Some(3),
            message: "a row has 23 cells, the header has 22",
            errs: Some("iam.root.mfa"),
        },
    );
}

#[test]
fn csv_with_an_unclosed_quote() {
    case(
        "csv quote",
        |f| {
            report_csv(f, |lines| {
                lines[2] = lines[2].replacen(",", ",\"", 1);
            })
        },
        Expect {
            code: "snapshot::credential-report",
            severity: "error",
            file: REPORT,
            line: Some(3),
            message: "credential report CSV is malformed",
            errs: Some("iam.user.console-mfa"),
        },
    );
}

#[test]
fn a_file_changed_after_capture_is_reported_as_tampering() {
    case(
        "tampering",
        |f| {
            let text = f.read(USERS).replace("alice", "mallory");
            f.write(USERS, &text);
        },
        Expect {
            code: "snapshot::sha256-mismatch",
            severity: "error",
            file: USERS,
            line: None,
            message: "was changed after capture: its sha256 does not match the manifest (tampering or damage)",
            errs: None,
        },
    );
}

#[test]
fn a_listed_file_that_is_absent() {
    case(
        "listed, absent",
        |f| f.remove(SG),
        Expect {
            code: "snapshot::missing-file",
            severity: "error",
            file: SG,
            line: None,
            message: "but the file is missing",
            errs: Some("ec2.security-group.world-open"),
        },
    );
}

#[test]
fn a_file_the_manifest_does_not_list() {
    let f = Fixture::example();
    f.write("iam/list-roles.json", "{\n    \"Roles\": []\n}\n");
    let (code, run, _) = run_check(&f);
    assert_eq!(
        code, 1,
        "a warning, not an error: the findings are unchanged"
    );
    let d = diagnostic(&run, "snapshot::unlisted-file");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["file"], "iam/list-roles.json");
    assert_eq!(run["summary"]["total_findings"], common::EXAMPLE_FINDINGS);
}

#[test]
fn manifest_paths_outside_the_snapshot_are_refused() {
    for path in [
        "../outside.json",
        "/etc/passwd",
        "iam/../../x.json",
        "iam//x.json",
    ] {
        let f = Fixture::example();
        let mut m: Value = serde_json::from_str(&f.read("manifest.json")).unwrap();
        m["calls"].as_array_mut().unwrap().push(serde_json::json!({
            "path": path, "service": "iam", "operation": "ListUsers", "status": "ok",
            "sha256": "0000000000000000000000000000000000000000000000000000000000000000"
        }));
        f.write("manifest.json", &serde_json::to_string_pretty(&m).unwrap());
        let (code, run, _) = run_check(&f);
        assert_eq!(code, 2, "{path}");
        let d = diagnostic(&run, "snapshot::unsafe-path");
        assert!(d["message"].as_str().unwrap().contains(path), "{d}");
        assert_eq!(d["file"], "manifest.json");
        assert_eq!(
            run["summary"]["total_findings"],
            common::EXAMPLE_FINDINGS,
            "{path}"
        );
    }
}

#[test]
fn symlinks_out_of_the_snapshot_are_not_followed() {
    let f = Fixture::example();
    let outside = tempfile::tempdir().unwrap();
    // A "security groups" file outside the snapshot that would open SSH to the world.
    let planted = f
        .read(SG)
        .replace("sg-0a1b2c3d4e5f60001", "sg-planted0000000001");
    std::fs::write(outside.path().join("groups.json"), &planted).unwrap();
    f.remove(SG);
    std::os::unix::fs::symlink(outside.path().join("groups.json"), f.path().join(SG)).unwrap();
    std::os::unix::fs::symlink(outside.path(), f.path().join("ec2/linked-dir")).unwrap();
    let (code, run, stderr) = run_check(&f);
    assert_eq!(code, 2, "the listed file is not there: {stderr}");
    let links: Vec<&Value> = run["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "snapshot::symlink")
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(diagnostic(&run, "snapshot::missing-file")["file"], SG);
    assert!(
        unusable_for(&run, "ec2.security-group.world-open").is_some(),
        "world-open passed on damaged data"
    );
    assert!(!run.to_string().contains("sg-planted"));
}

#[test]
fn a_broken_manifest_is_located_and_the_files_are_audited_without_it() {
    let f = Fixture::example();
    let text = f.read("manifest.json");
    f.write("manifest.json", &text[..text.len() - 40]);
    let (code, run, _) = run_check(&f);
    assert_eq!(code, 2);
    let d = diagnostic(&run, "snapshot::manifest");
    assert_eq!(d["file"], "manifest.json");
    assert!(d["line"].as_u64().is_some());
    assert!(findings_of(&run, "iam.root.mfa").len() == 1);
}

/// Runs the binary and returns its exit code, standard output and peak resident memory (KiB).
#[allow(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also gives its peak memory"
)]
fn run_measured(args: &[&str]) -> (i32, String, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapaudit"))
        .args(args)
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 writes only to the two
    // pointers given, which live across the call; the child is ours and not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let out = reader.join().unwrap().unwrap();
    (libc::WEXITSTATUS(status), out, usage.ru_maxrss as u64)
}

#[test]
fn a_1_gib_single_line_file_is_refused_unread_in_bounded_memory() {
    let f = Fixture::example();
    // One line of 1 GiB (sparse on disk: the size is what matters, and it is never read).
    let file = std::fs::File::create(f.path().join(SG)).unwrap();
    file.set_len(1 << 30).unwrap();
    drop(file);
    let (code, out, rss_kib) = run_measured(&["check", &f.arg(), "--format", "json"]);
    assert_eq!(code, 2);
    let run: Value = serde_json::from_str(&out).unwrap();
    let d = diagnostic(&run, "snapshot::file-too-large");
    assert_eq!(d["file"], SG);
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("is 1024 MiB, more than the 512 MiB a snapshot file may have"),
        "{d}"
    );
    let reason = unusable_for(&run, "ec2.security-group.world-open").expect("not a pass");
    assert!(reason.contains("larger than 512 MiB"), "{reason}");
    assert!(rss_kib < 200 * 1024, "peak RSS {rss_kib} KiB");
    assert!(run["summary"]["total_findings"].as_u64().unwrap() > 20);
}

#[test]
fn a_long_single_line_file_under_the_limit_is_read_and_located() {
    let f = Fixture::example();
    // The security groups minified to one line, with 8 MB of blanks before the end.
    let doc: Value = serde_json::from_str(&f.read(SG)).unwrap();
    let mut line = serde_json::to_string(&doc).unwrap();
    line.insert_str(line.len() - 1, &" ".repeat(8 << 20));
    reseal(&f, SG, line.as_bytes());
    let (code, out, rss_kib) = run_measured(&["check", &f.arg(), "--format", "json"]);
    assert_eq!(code, 1);
    let run: Value = serde_json::from_str(&out).unwrap();
    let world = findings_of(&run, "ec2.security-group.admin-ports-open");
    assert!(!world.is_empty());
    for finding in world {
        assert_eq!(finding["location"]["file"], SG);
        assert_eq!(finding["location"]["line"], 1);
    }
    assert!(rss_kib < 400 * 1024, "peak RSS {rss_kib} KiB");
    // The human output shows a window of the line, not 8 MB.
    let human = snapaudit(&["check", &f.arg()]);
    assert!(human.stdout.contains("describe-security-groups.json:1:"));
    assert!(human.stdout.len() < 200_000, "{} bytes", human.stdout.len());
    // A lower limit refuses it.
    let config = f.path().join("small.toml");
    std::fs::write(&config, "[limits]\nmax_snapshot_file_mb = 4\n").unwrap();
    let out = snapaudit(&[
        "check",
        &f.arg(),
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        diagnostic(&out.json(), "snapshot::file-too-large")["file"],
        SG
    );
}

/// `max_snapshot_file_mb` bounds memory too: a file under the size limit whose values would
/// take more memory than it (30 million tiny items in 60 MB) is refused while it is parsed,
/// instead of growing to gigabytes.
#[test]
fn a_file_whose_values_outgrow_the_limit_is_refused_in_bounded_memory() {
    let f = Fixture::example();
    let mut text = String::with_capacity(61 << 20);
    text.push_str("{\"SecurityGroups\": [0");
    while text.len() < 60 << 20 {
        text.push_str(",0");
    }
    text.push_str("]}\n");
    reseal(&f, SG, text.as_bytes());
    let config = f.path().join("limits.toml");
    std::fs::write(&config, "[limits]\nmax_snapshot_file_mb = 64\n").unwrap();
    let (code, out, rss_kib) = run_measured(&[
        "check",
        &f.arg(),
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    let run: Value = serde_json::from_str(&out).unwrap();
    let d = diagnostic(&run, "snapshot::file-too-large");
    assert_eq!(d["file"], SG);
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("holds more values than 64 MiB of memory"),
        "{d}"
    );
    assert!(
        unusable_for(&run, "ec2.security-group.world-open").is_some(),
        "world-open passed on damaged data"
    );
    // The file's 60 MB of text, the values up to the limit, and the rest of the run.
    assert!(rss_kib < 400 * 1024, "peak RSS {rss_kib} KiB");
}

/// What a rule can allocate through host calls is bounded: a value read again and again is
/// the same value (not a copy kept until the rule ends), findings stop at
/// `[limits] max_findings`, and so do gaps (the same gap recorded again is kept once).
#[test]
fn rules_cannot_grow_memory_through_host_calls() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reads.rhai"),
        "//! id = \"mem.reads\"\n//! title = \"reads\"\n//! severity = \"low\"\n\
         let d = snapshot.json(\"iam/get-credential-report.json\");\n\
         for i in 0..300000 { let c = d.Content; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("reports.rhai"),
        "//! id = \"mem.reports\"\n//! title = \"reports\"\n//! severity = \"low\"\n\
         for i in 0..1000000 { report(\"x\", \"a finding\"); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("gaps.rhai"),
        "//! id = \"mem.gaps\"\n//! title = \"gaps\"\n//! severity = \"low\"\n\
         for i in 0..1000000 { gap(`could not see ${i}`); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("same_gap.rhai"),
        "//! id = \"mem.same-gap\"\n//! title = \"the same gap\"\n//! severity = \"low\"\n\
         for i in 0..1000000 { gap(\"the same thing\"); }\n",
    )
    .unwrap();
    let config = dir.path().join("slow.toml");
    std::fs::write(&config, "[limits]\ntimeout_ms = 120000\n").unwrap();
    let (code, out, rss_kib) = run_measured(&[
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
    assert_eq!(code, 2, "{out}");
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rule_result(&run, "mem.reads").0, "pass");
    let (result, reason) = rule_result(&run, "mem.reports");
    assert_eq!(result, "error");
    assert!(reason.contains("more than 100000 findings"), "{reason}");
    let (result, reason) = rule_result(&run, "mem.gaps");
    assert_eq!(result, "error");
    assert!(reason.contains("more than 100000 gaps"), "{reason}");
    let same = run["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "mem.same-gap")
        .unwrap();
    assert_eq!(same["result"], "skip", "{same}");
    assert_eq!(same["gaps"].as_array().unwrap().len(), 1, "{same}");
    assert!(rss_kib < 300 * 1024, "peak RSS {rss_kib} KiB");
}

/// A manifest entry of a collected file without its sha256 (or with `null`) would accept
/// any edit of the file: it is refused like a mismatch.
#[test]
fn a_manifest_entry_without_its_digest_is_refused() {
    for remove in [true, false] {
        let f = Fixture::example();
        f.edit_call(USERS, |mut c| {
            if remove {
                c.as_object_mut().unwrap().remove("sha256");
            } else {
                c["sha256"] = Value::Null;
            }
            Some(c)
        });
        let out = snapaudit(&["check", &f.arg(), "--format", "json"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        let run = out.json();
        let d = diagnostic(&run, "snapshot::no-sha256");
        assert!(d["message"].as_str().unwrap().contains(USERS), "{d}");
        assert_eq!(d["severity"], "error");
    }
}

/// A credential report with a column named twice: the second value would win, silently.
#[test]
fn a_credential_report_column_named_twice_is_refused() {
    let f = Fixture::example();
    report_csv(&f, |lines| {
        lines[0].push_str(",mfa_active");
        for line in lines.iter_mut().skip(1) {
            if !line.is_empty() {
                line.push_str(",true");
            }
        }
    });
    let out = snapaudit(&["check", &f.arg(), "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    let d = diagnostic(&run, "snapshot::credential-report");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("`mfa_active` twice"),
        "{d}"
    );
    assert_eq!(rule_result(&run, "iam.user.console-mfa").0, "error");
}

/// Values of the wrong type, at any depth, are refused against the call's output shape: a
/// password length of `"8"`, `null` or `true`, a port of `"22"`, never pass a rule.
#[test]
fn values_of_the_wrong_type_never_pass() {
    const POLICY: &str = "iam/get-account-password-policy.json";
    for bad in ["\"8\"", "null", "true"] {
        let f = Fixture::example();
        let text = f.read(POLICY);
        let at = text.find("\"MinimumPasswordLength\": ").unwrap() + 25;
        let end = at + text[at..].find(',').unwrap();
        let damaged = format!("{}{bad}{}", &text[..at], &text[end..]);
        reseal(&f, POLICY, damaged.as_bytes());
        let out = snapaudit(&["check", &f.arg(), "--format", "json"]);
        assert_eq!(out.code, 2, "{bad}");
        let run = out.json();
        let d = diagnostic(&run, "snapshot::wrong-shape");
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .contains("`PasswordPolicy.MinimumPasswordLength` is"),
            "{bad}: {d}"
        );
        assert_eq!(
            rule_result(&run, "iam.password-policy.min-length").0,
            "error",
            "{bad}"
        );
    }
    let f = Fixture::example();
    let text = f
        .read(SG)
        .replacen("\"FromPort\": 22,", "\"FromPort\": \"22\",", 1);
    reseal(&f, SG, text.as_bytes());
    let out = snapaudit(&["check", &f.arg(), "--format", "json"]);
    let run = out.json();
    assert!(diagnostic(&run, "snapshot::wrong-shape")["message"]
        .as_str()
        .unwrap()
        .contains("FromPort` is a string; the aws CLI prints a whole number"));
    assert_eq!(
        rule_result(&run, "ec2.security-group.admin-ports-open").0,
        "error"
    );
}

/// Names that are not UTF-8 cannot be snapshot paths (two of them could read as one): each
/// is refused with a diagnostic.
#[cfg(unix)]
#[test]
fn file_names_that_are_not_utf8_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::example();
    for name in [&b"bad\xff.json"[..], &b"bad\xfe.json"[..]] {
        std::fs::write(
            f.path().join("iam").join(std::ffi::OsStr::from_bytes(name)),
            "{}",
        )
        .unwrap();
    }
    let out = snapaudit(&["check", &f.arg(), "--format", "json"]);
    assert_eq!(out.code, 2);
    let run = out.json();
    let bad: Vec<&Value> = run["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "snapshot::bad-name")
        .collect();
    assert_eq!(bad.len(), 2, "{run:#}");
}
