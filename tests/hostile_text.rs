//! Hostile text in a snapshot, a rule or a file name never reaches an output raw: a
//! security group named with terminal escape sequences, a manifest error message with an
//! OSC 52 clipboard write and HTML, an account id with an escape, a file whose name holds
//! one, a file with raw escapes where the JSON breaks (quoted in a snippet), and a rule
//! whose metadata, message, label and source hold them. The human output of `check` and
//! `diff` (standard output and standard error) holds no control character with
//! `--color never`, and only our own colour codes with `--color always`; CSV cells cannot
//! start a formula; Markdown holds no live HTML, image or link; JUnit no control character.
//! docs/output.md, "Hostile text".

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::{snapaudit, Fixture};
use snapaudit::report::safe::is_control;

const SG: &str = "ec2/us-east-1/describe-security-groups.json";
const POLICY: &str = "iam/get-account-password-policy.json";
const ALARMS: &str = "cloudwatch/us-east-1/describe-alarms.json";
/// The security group name, as the JSON file writes it.
const NAME_JSON: &str = r"x\u001b]0;PWN\u0007\u001b[2J";
/// How the human output shows it.
const NAME_SHOWN: &str = r"x\u{1b}]0;PWN\u{7}\u{1b}[2J";
const FORMULA: &str = "=cmd|' /C calc'!A0";
const IMG: &str = "<img src=x onerror=alert(1)>";
/// A file the manifest does not list, with an escape in its name.
const ODD_FILE: &str = "iam/list-\u{1b}]0;x\u{7}roles.json";

/// Writes `bytes` to `rel` and records their sha256 in the manifest.
fn reseal(f: &Fixture, rel: &str, bytes: &[u8]) {
    std::fs::write(f.path().join(rel), bytes).unwrap();
    let sha = snapaudit::snapshot::manifest::sha256_hex(bytes);
    f.edit_call(rel, |mut c| {
        c["sha256"] = sha.clone().into();
        Some(c)
    });
}

/// The example snapshot with hostile text planted in names, the manifest and file names.
fn hostile() -> Fixture {
    let f = Fixture::example();
    let groups = f.read(SG);
    let planted = groups
        .replace(
            "\"GroupName\": \"ssh-open\"",
            &format!("\"GroupName\": \"{NAME_JSON}\""),
        )
        .replace(
            "\"GroupName\": \"rdp-legacy\"",
            &format!("\"GroupName\": \"{FORMULA}\""),
        );
    assert_ne!(planted, groups);
    reseal(&f, SG, planted.as_bytes());

    f.edit_call(POLICY, |mut c| {
        c["status"] = "error".into();
        c.as_object_mut().map(|o| o.remove("sha256"));
        c["error"] = serde_json::json!({
            "code": "AccessDenied",
            "message": format!(
                "denied\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{9b}2J \u{202e}{IMG} ![i](http://e.test/i.png) [a](http://e.test)"
            ),
        });
        Some(c)
    });
    f.remove(POLICY);

    let manifest = f.read("manifest.json");
    let planted = manifest.replace(
        "\"account_id\": \"111122223333\"",
        "\"account_id\": \"1111\\u001b[31m22223333\"",
    );
    assert_ne!(planted, manifest);
    f.write("manifest.json", &planted);

    f.write(ODD_FILE, "{\n    \"Roles\": []\n}\n");
    // Raw escapes are not JSON: the file is malformed, and its line is quoted.
    reseal(
        &f,
        ALARMS,
        b"{\n    \"MetricAlarms\": [] \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\n}\n",
    );
    f
}

/// A rule directory whose rule puts escapes in its metadata, message, label and resource,
/// and a rule that does not compile on a line with raw escapes.
fn hostile_rules() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hostile.rhai"),
        r#"//! id = "hostile.text"
//! title = "Hostile \u001b]0;title\u0007 text"
//! severity = "high"
//! remediation = "run \u001b]52;c;cm0gLXJmIH4=\u0007 now"
let summary = snapshot.json("iam/get-account-summary.json");
report(summary.SummaryMap.AccountMFAEnabled,
       #{ id: "hostile\x1b[2J", name: "-2+3\x1b]0;name\x07" },
       "message \x1b[2J\x07 <img src=x onerror=alert(1)> `co`de` ![i](http://e.test/i.png)",
       #{ label: "label \x1b]0;label\x07" });
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.rhai"),
        "//! id = \"hostile.broken\"\n//! title = \"Broken\"\n//! severity = \"low\"\nlet x = 1 \u{1b}]0;PWN\u{7} +;\n",
    )
    .unwrap();
    dir
}

/// Every control character in `text` that is not a newline, a tab or a CRLF line end.
fn controls(text: &str) -> Vec<char> {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| is_control(*c))
        .collect()
}

#[test]
fn human_check_output_holds_no_control_character() {
    let f = hostile();
    let rules = hostile_rules();
    let arg = f.arg();
    let policies = rules.path().display().to_string();
    let out = snapaudit(&["check", &arg, "--policies", &policies, "--color", "never"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!text.contains('\u{1b}'), "ESC in {stream}:\n{text}");
        assert!(!text.contains('\u{7}'), "BEL in {stream}:\n{text}");
        assert!(controls(text).is_empty(), "{stream}: {:?}", controls(text));
    }
    // What was there is shown, inertly.
    for shown in [
        // the security group's name in the finding's title
        NAME_SHOWN,
        // the rule's message, label, help and resource
        r"message \u{1b}[2J\u{7}",
        r"label \u{1b}]0;label\u{7}",
        r"run \u{1b}]52;c;cm0gLXJmIH4=\u{7} now",
        r"-2+3\u{1b}]0;name\u{7}",
        // the account id
        r"account 1111\u{1b}[31m22223333",
    ] {
        assert!(out.stdout.contains(shown), "{shown} not in\n{}", out.stdout);
    }
    for shown in [
        // the manifest's error message, in the rule error
        r"denied\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{9b}2J \u{202e}<img",
        // the unlisted file's name
        r"list-\u{1b}]0;x\u{7}roles.json",
        // the malformed file's line, quoted by miette
        r#""MetricAlarms": [] \u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J"#,
        // the rule that does not compile, quoted likewise
        r"let x = 1 \u{1b}]0;PWN\u{7} +;",
    ] {
        assert!(out.stderr.contains(shown), "{shown} not in\n{}", out.stderr);
    }
}

#[test]
fn the_underline_of_a_quoted_line_stays_under_its_value() {
    let f = hostile();
    let out = snapaudit(&["check", &f.arg(), "--color", "never"]);
    // The malformed file's label points at the first escape, now six characters wide.
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(r#""MetricAlarms": [] \u{1b}"#))
        .unwrap_or_else(|| panic!("no quoted line in\n{}", out.stderr));
    let quoted = lines[at];
    let mark = lines[at + 1];
    let column = |line: &str, pat: &str| {
        line.find(pat)
            .map(|b| line[..b].chars().count())
            .unwrap_or_else(|| panic!("{pat} not in {line}"))
    };
    let escape = column(quoted, r"\u{1b}]52");
    // A label of no length is a `▲` under its place.
    let underline = mark
        .char_indices()
        .find(|(_, c)| "▲┬─".contains(*c))
        .map(|(b, _)| mark[..b].chars().count())
        .unwrap_or_else(|| panic!("no underline in {mark}"));
    assert_eq!(underline, escape, "\n{quoted}\n{mark}");
}

#[test]
fn with_colour_only_our_own_escape_codes_are_written() {
    let f = hostile();
    let out = snapaudit(&["check", &f.arg(), "--color", "always"]);
    for text in [&out.stdout, &out.stderr] {
        assert!(text.contains("\u{1b}["), "colour expected");
        for raw in ["\u{7}", "\u{1b}]", "\u{1b}[2J", "\u{9b}", "\u{202e}"] {
            assert!(!text.contains(raw), "{raw:?} in\n{text}");
        }
        // Our colours are SGR sequences only: ESC [ digits and ; then m.
        for (i, _) in text.match_indices('\u{1b}') {
            let rest = &text[i + 1..];
            let sgr = rest.starts_with('[')
                && rest[1..]
                    .find(|c: char| !c.is_ascii_digit() && c != ';')
                    .is_some_and(|end| rest[1 + end..].starts_with('m'));
            assert!(sgr, "not a colour code: {:?}", &rest[..rest.len().min(12)]);
        }
    }
}

#[test]
fn csv_cells_cannot_start_a_formula() {
    let f = hostile();
    let rules = hostile_rules();
    let policies = rules.path().display().to_string();
    let out = snapaudit(&[
        "check",
        &f.arg(),
        "--policies",
        &policies,
        "--format",
        "csv",
    ]);
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert!(rows.len() > 30);
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {row:?}"
            );
            assert!(controls(cell).is_empty(), "{cell:?}");
        }
    }
    let names: Vec<&str> = rows.iter().map(|r| &r[4]).collect();
    assert!(names.contains(&"'=cmd|' /C calc'!A0"), "{names:?}");
    assert!(names.contains(&r"'-2+3\u{1b}]0;name\u{7}"), "{names:?}");
    assert!(names.contains(&NAME_SHOWN), "{names:?}");
}

#[test]
fn markdown_holds_no_live_markup() {
    let f = hostile();
    let rules = hostile_rules();
    let policies = rules.path().display().to_string();
    let out = snapaudit(&[
        "check",
        &f.arg(),
        "--policies",
        &policies,
        "--format",
        "markdown",
    ]);
    let md = &out.stdout;
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
    for live in ["<img", "![", "\u{1b}", "\u{7}"] {
        assert!(!md.contains(live), "{live:?} in\n{md}");
    }
    // Brackets from the input are escaped: no link.
    assert!(md.contains(r"!\[i\](http://e.test/i.png)"), "{md}");
    assert_eq!(md.matches("](").count(), md.matches(r"\](").count(), "{md}");
    assert!(controls(md).is_empty(), "{:?}", controls(md));
    // The unlisted file's name is a code span in the diagnostics table.
    assert!(md.contains(r"`iam/list-\u{1b}]0;x\u{7}roles.json`"), "{md}");
    assert!(md.contains(r"## snapaudit: account 1111\u{1b}\[31m22223333"));
}

#[test]
fn junit_holds_no_control_character() {
    let f = hostile();
    let out = snapaudit(&["check", &f.arg(), "--format", "junit"]);
    assert!(
        controls(&out.stdout).is_empty(),
        "{:?}",
        controls(&out.stdout)
    );
    assert!(out.stdout.contains(r"denied\u{1b}]52;c;cm0gLXJmIH4=\u{7}"));
    assert!(out.stdout.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!out.stdout.contains("<img"));
}

#[test]
fn human_diff_output_holds_no_control_character() {
    let f = hostile();
    let arg = f.arg();
    // Two accounts: refused, with both ids on standard error.
    let out = snapaudit(&["diff", "snapshots/example", &arg, "--color", "never"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(r"1111\u{1b}[31m22223333"),
        "{}",
        out.stderr
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(controls(text).is_empty(), "{:?} in\n{text}", controls(text));
    }
    let out = snapaudit(&[
        "diff",
        "snapshots/example",
        &arg,
        "--allow-different-accounts",
        "--color",
        "never",
    ]);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains('\u{1b}'), "ESC in\n{text}");
        assert!(controls(text).is_empty(), "{:?} in\n{text}", controls(text));
    }
    // The renamed group, as a changed value and in a new finding; the odd file.
    assert!(
        out.stdout
            .contains(&format!("GroupName: ssh-open → {NAME_SHOWN}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!(
        "CHANGED ec2.security-group.admin-ports-open [high] {NAME_SHOWN}"
    )));
    assert!(out.stdout.contains(r"list-\u{1b}]0;x\u{7}roles.json"));
}
