//! The audit pipeline as every command uses it: diagnostics behind an exit 2 reach the
//! user in every command and format, the rule pack is inside the binary, user rules add to
//! it, and the layers only point down.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{root, snapaudit, Fixture};

/// A copy of the example whose `iam/list-users.json` is cut short (re-signed in the
/// manifest, so the only problem is the malformed JSON).
fn malformed() -> Fixture {
    let fx = Fixture::example();
    fx.write("iam/list-users.json", "{\"Users\": [");
    fx.edit_call("iam/list-users.json", |mut c| {
        c["sha256"] = sha256(b"{\"Users\": [").into();
        Some(c)
    });
    fx
}

fn sha256(bytes: &[u8]) -> String {
    snapaudit::snapshot::manifest::sha256_hex(bytes)
}

const CODE: &str = "snapshot::malformed-json";

fn assert_on_stderr(out: &common::Output, what: &str) {
    assert_eq!(out.code, 2, "{what}: exit code\nstderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains(CODE) && out.stderr.contains("list-users.json"),
        "{what}: the diagnostic is not on stderr:\n{}",
        out.stderr
    );
}

/// The `diagnostics` of a JSON document hold the malformed file's problem, with its line.
fn assert_in_json(doc: &serde_json::Value, what: &str) {
    let found = doc["diagnostics"].as_array().is_some_and(|ds| {
        ds.iter().any(|d| {
            d["code"] == CODE
                && d["severity"] == "error"
                && d["file"] == "iam/list-users.json"
                && d["line"] == 1
        })
    });
    assert!(found, "{what}: no diagnostic in the document: {doc:#}");
}

#[test]
fn check_reports_an_exit_2_input_in_every_format() {
    let fx = malformed();
    let dir = fx.arg();
    for format in ["human", "json", "sarif", "csv", "junit", "markdown", "ocsf"] {
        let out = snapaudit(&["check", &dir, "--format", format]);
        let what = format!("check --format {format}");
        assert_on_stderr(&out, &what);
        match format {
            "json" => assert_in_json(&out.json(), &what),
            "sarif" => {
                let inv = &out.json()["runs"][0]["invocations"][0];
                assert_eq!(inv["executionSuccessful"], false, "{what}");
                let n = inv["toolExecutionNotifications"]
                    .as_array()
                    .and_then(|ns| ns.iter().find(|n| n["descriptor"]["id"] == CODE))
                    .unwrap_or_else(|| panic!("{what}: no notification: {inv:#}"));
                assert_eq!(n["level"], "error");
                let loc = &n["locations"][0]["physicalLocation"];
                assert_eq!(loc["artifactLocation"]["uri"], "iam/list-users.json");
                assert_eq!(loc["region"]["startLine"], 1);
            }
            "junit" => {
                assert!(
                    out.stdout.contains("<testsuite name=\"diagnostics\"")
                        && out.stdout.contains(&format!("type=\"{CODE}\"")),
                    "{what}: {}",
                    out.stdout
                );
            }
            "markdown" => assert!(
                out.stdout.contains("### Diagnostics") && out.stdout.contains(CODE),
                "{what}: {}",
                out.stdout
            ),
            // The human report, the CSV rows and the OCSF findings carry findings; the
            // diagnostic is on stderr.
            _ => {}
        }
    }
}

#[test]
fn diff_reports_an_exit_2_input_in_every_format() {
    let fx = malformed();
    let dir = fx.arg();
    for format in ["human", "json"] {
        let out = snapaudit(&["diff", "snapshots/example", &dir, "--format", format]);
        let what = format!("diff --format {format}");
        assert_on_stderr(&out, &what);
        if format == "json" {
            assert_in_json(&out.json(), &what);
        }
    }
}

#[test]
fn an_audit_that_cannot_start_still_writes_its_machine_documents() {
    let tmp = tempfile::tempdir().expect("tmp");
    let json = tmp.path().join("out.json");
    let sarif = tmp.path().join("out.sarif");
    let junit = tmp.path().join("out.xml");
    let (j, s, x) = (
        json.display().to_string(),
        sarif.display().to_string(),
        junit.display().to_string(),
    );
    let out = snapaudit(&[
        "check",
        "no/such/snapshot",
        "--format",
        "json",
        "--output",
        &j,
        "--format",
        "sarif",
        "--output",
        &s,
        "--format",
        "junit",
        "--output",
        &x,
        "--format",
        "human",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("snapshot::not-found"), "{}", out.stderr);
    let read = |p: &Path| std::fs::read_to_string(p).expect("document written");
    let doc: serde_json::Value = serde_json::from_str(&read(&json)).expect("json");
    assert_eq!(doc["diagnostics"][0]["code"], "snapshot::not-found");
    assert!(doc["snapshot"].is_null());
    let log: serde_json::Value = serde_json::from_str(&read(&sarif)).expect("sarif");
    let inv = &log["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(
        inv["toolExecutionNotifications"][0]["descriptor"]["id"],
        "snapshot::not-found"
    );
    let xml = read(&junit);
    assert!(
        xml.contains("errors=\"1\"") && xml.contains("type=\"snapshot::not-found\""),
        "{xml}"
    );
    // A bad --as-of is reported the same way.
    let out = snapaudit(&[
        "check",
        "snapshots/example",
        "--as-of",
        "soon",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(out.json()["diagnostics"][0]["code"], "usage::as-of");
}

#[test]
fn test_and_rules_report_an_exit_2_input_in_every_format() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("broken.rhai"),
        "//! id = \"org.broken\"\n//! title = \"Broken\"\n//! severity = \"low\"\nlet x = ;\n",
    )
    .expect("write");
    std::fs::write(tmp.path().join("bad.test.yaml"), "cases: [unclosed\n").expect("write");
    let dir = tmp.path().display().to_string();
    for format in ["human", "json"] {
        let out = snapaudit(&["test", &dir, "--format", format]);
        assert_eq!(out.code, 2, "test --format {format}: {}", out.stderr);
        assert!(out.stderr.contains("test::invalid"), "{}", out.stderr);
        if format == "json" {
            let doc = out.json();
            assert_eq!(doc["schema_version"], 2);
            assert!(
                doc["diagnostics"]
                    .as_array()
                    .is_some_and(|ds| ds.iter().any(|d| d["code"] == "test::invalid"
                        && d["file"]
                            .as_str()
                            .is_some_and(|f| f.ends_with("bad.test.yaml")))),
                "{doc:#}"
            );
        }
    }
    for format in ["table", "json", "markdown"] {
        let out = snapaudit(&["rules", "--policies", &dir, "--format", format]);
        assert_eq!(out.code, 2, "rules --format {format}");
        assert!(
            out.stderr.contains("rule::syntax") && out.stderr.contains("broken.rhai"),
            "{}",
            out.stderr
        );
    }
}

/// The whole pack, as `rules --format json` lists it.
fn rule_ids(out: &common::Output) -> Vec<String> {
    out.json()["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn the_pack_is_inside_the_binary_and_no_directory_is_picked_up_implicitly() {
    // The binary alone, in an empty directory with a decoy `policies/` that would change
    // every result if it were read.
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = tmp.path().join("snapaudit");
    std::fs::copy(env!("CARGO_BIN_EXE_snapaudit"), &bin).expect("copy binary");
    let decoy = tmp.path().join("policies");
    std::fs::create_dir(&decoy).expect("mkdir");
    std::fs::write(
        decoy.join("root_mfa.rhai"),
        "//! id = \"iam.root.mfa\"\n//! title = \"Decoy\"\n//! severity = \"info\"\nreport(\"x\", \"decoy\");\n",
    )
    .expect("write");
    let example = root().join("snapshots/example");
    // Another test thread that starts a process while the copy is being written inherits
    // its open file, and running the copy then fails with "Text file busy" until that
    // process has exec'd: retry that one error for a while.
    let run = |args: &[&str]| {
        let mut tries = 0;
        loop {
            match Command::new(&bin)
                .args(args)
                .current_dir(tmp.path())
                .env_clear()
                .output()
            {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other.expect("run the copied binary"),
            }
        }
    };
    let out = run(&["check", &example.display().to_string(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/golden/example.json")).expect("golden"),
    )
    .expect("golden json");
    assert_eq!(doc["summary"], golden["summary"]);
    assert_eq!(doc["findings"], golden["findings"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("decoy"));

    let listed = run(&["rules", "--format", "json"]);
    let rules: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    let rules = rules["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), golden["rules"].as_array().map_or(0, Vec::len));
    assert!(rules.iter().all(|r| r["origin"] == "bundled"), "{rules:?}");
}

#[test]
fn user_rules_add_to_the_pack_and_replace_bundled_rules_by_id() {
    let pack = snapaudit(&["rules", "--format", "json"]);
    let bundled = rule_ids(&pack);
    let org = snapaudit(&[
        "rules",
        "--policies",
        "examples/policies-org",
        "--format",
        "json",
    ]);
    let with_org = rule_ids(&org);
    let added: Vec<&String> = with_org.iter().filter(|id| !bundled.contains(id)).collect();
    assert_eq!(
        with_org.len(),
        bundled.len() + added.len(),
        "the pack stays whole"
    );
    assert!(!added.is_empty());
    let org_rules = org.json()["rules"].clone();
    for r in org_rules.as_array().expect("rules") {
        let expected = if added.iter().any(|id| **id == r["id"]) {
            "examples/policies-org"
        } else {
            "bundled"
        };
        assert_eq!(r["origin"], expected, "{r}");
    }

    // A user rule with a bundled rule's id replaces it, and `rules` says so.
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("mfa.rhai"),
        "//! id = \"iam.root.mfa\"\n//! title = \"Our own root MFA rule\"\n//! severity = \"critical\"\n",
    )
    .expect("write");
    let dir = tmp.path().display().to_string();
    let out = snapaudit(&["rules", "--policies", &dir, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let rules = doc["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), bundled.len());
    let mine = rules
        .iter()
        .find(|r| r["id"] == "iam.root.mfa")
        .expect("the rule");
    assert_eq!(mine["title"], "Our own root MFA rule");
    assert_eq!(mine["origin"], dir.as_str());
    assert_eq!(mine["replaces"], "policies/iam/root_mfa.rhai");
    let table = snapaudit(&["rules", "--policies", &dir]);
    assert!(
        table
            .stdout
            .contains("(replaces bundled policies/iam/root_mfa.rhai)"),
        "{}",
        table.stdout
    );

    // --no-default-pack: only the user's rules.
    let out = snapaudit(&[
        "rules",
        "--policies",
        &dir,
        "--no-default-pack",
        "--format",
        "json",
    ]);
    assert_eq!(rule_ids(&out), vec!["iam.root.mfa".to_owned()]);

    // `policies = [...]` in snapaudit.toml adds directories too (relative to the file).
    std::fs::write(tmp.path().join("snapaudit.toml"), "policies = [\".\"]\n").expect("write");
    let config = tmp.path().join("snapaudit.toml").display().to_string();
    let out = snapaudit(&["rules", "--config", &config, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let mine = doc["rules"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == "iam.root.mfa"))
        .expect("the rule");
    assert_eq!(mine["title"], "Our own root MFA rule");
}

/// `snapshot/` is the bottom layer: it may use the diagnostics and time helpers, and
/// nothing else of the crate.
#[test]
fn the_snapshot_layer_imports_nothing_above_it() {
    let allowed = ["crate::snapshot", "crate::diagnostic", "crate::time"];
    let dir = root().join("src/snapshot");
    for entry in std::fs::read_dir(&dir).expect("src/snapshot") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        for (i, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                let used = &rest[at..];
                assert!(
                    allowed.iter().any(|a| used.starts_with(a)),
                    "{}:{}: `{}` reaches above the snapshot layer",
                    path.display(),
                    i + 1,
                    line.trim()
                );
                rest = &rest[at + "crate::".len()..];
            }
        }
    }
}

/// docs/collect.md's table of calls is generated from the catalogue: rewrite it with
/// `SNAPAUDIT_BLESS=1 cargo test --test pipeline docs_table`.
#[test]
fn the_docs_table_of_calls_is_the_catalogue() {
    const START: &str = "<!-- catalogue: generated from src/snapshot/catalogue.toml -->\n";
    const END: &str = "<!-- catalogue end -->";
    let table = snapaudit::snapshot::catalogue::catalogue().markdown();
    let path = root().join("docs/collect.md");
    let text = std::fs::read_to_string(&path).expect("docs/collect.md");
    let (Some(a), Some(b)) = (text.find(START), text.find(END)) else {
        panic!("docs/collect.md has no catalogue markers");
    };
    let current = &text[a + START.len()..b];
    if current != table {
        if std::env::var_os("SNAPAUDIT_BLESS").is_some() {
            let fresh = format!("{}{START}{table}{}", &text[..a], &text[b..]);
            std::fs::write(&path, fresh).expect("write docs/collect.md");
        } else {
            panic!(
                "docs/collect.md's table of calls is out of date; rewrite it with \
                 SNAPAUDIT_BLESS=1 cargo test --test pipeline docs_table\nexpected:\n{table}"
            );
        }
    }
}
