#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! Organisation directories (docs/organizations.md): `check` and `diff` over one snapshot per
//! member account and the records of the run, built here from copies of the examples.

mod common;

use std::path::{Path, PathBuf};

use common::{root, snapaudit};
use serde_json::{json, Value};

const MGMT: &str = "111111111111";
const PROD: &str = "222222222222";
const SANDBOX: &str = "333333333333";
const OLD: &str = "444444444444";
const NEW_MEMBER: &str = "555555555555";
const MIN_LENGTH: &str = "iam.password-policy.min-length";

/// An organisation directory in a temp dir.
struct Org {
    dir: tempfile::TempDir,
}

impl Org {
    fn new() -> Org {
        Org {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn arg(&self) -> String {
        self.path().display().to_string()
    }

    /// A member account's snapshot: a copy of `from` whose manifest names `id`.
    fn account(&self, id: &str, from: &str) {
        let src = root().join(from);
        let to = self.path().join(id);
        for entry in walkdir::WalkDir::new(&src) {
            let entry = entry.expect("walk");
            let rel = entry.path().strip_prefix(&src).expect("prefix");
            let dest = to.join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&dest).expect("mkdir");
            } else {
                std::fs::copy(entry.path(), &dest).expect("copy");
            }
        }
        let manifest_path = to.join("manifest.json");
        let mut manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest"))
                .expect("json");
        manifest["account_id"] = id.into();
        std::fs::write(
            &manifest_path,
            serde_json::to_string_pretty(&manifest).expect("json"),
        )
        .expect("write manifest");
    }

    /// Replaces `from` by `to` in the account's file `rel`, and its digest in the manifest.
    fn edit(&self, id: &str, rel: &str, from: &str, to: &str) {
        let dir = self.path().join(id);
        let text = std::fs::read_to_string(dir.join(rel)).expect("read");
        assert!(text.contains(from), "{rel} has no {from:?}");
        let text = text.replace(from, to);
        std::fs::write(dir.join(rel), &text).expect("write");
        let manifest_path = dir.join("manifest.json");
        let mut manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest"))
                .expect("json");
        let sha = snapaudit::snapshot::manifest::sha256_hex(text.as_bytes());
        for c in manifest["calls"].as_array_mut().expect("calls") {
            if c["path"] == rel {
                c["sha256"] = sha.clone().into();
            }
        }
        std::fs::write(
            &manifest_path,
            serde_json::to_string_pretty(&manifest).expect("json"),
        )
        .expect("write manifest");
    }

    /// Writes the account's file `rel` as the answer of `operation` (a `cloudtrail` call) in
    /// `region` with `parameters`, and records the call in its manifest, as `collect` does.
    fn put_cloudtrail(
        &self,
        id: &str,
        rel: &str,
        (operation, region, parameters): (&str, &str, Value),
        answer: &Value,
    ) {
        let text = serde_json::to_string_pretty(answer).expect("json");
        self.write(&format!("{id}/{rel}"), answer);
        self.edit_calls(id, |calls| {
            calls.retain(|c| c["path"] != rel);
            calls.push(json!({
                "path": rel, "service": "cloudtrail", "operation": operation, "region": region,
                "parameters": parameters, "status": "ok",
                "sha256": snapaudit::snapshot::manifest::sha256_hex(text.as_bytes()),
            }));
        });
    }

    /// Removes the account's files under `prefix` and their calls from its manifest.
    fn forget(&self, id: &str, prefix: &str) {
        let dir = self.path().join(id).join(prefix);
        if dir.exists() {
            self.remove(&format!("{id}/{prefix}"));
        }
        self.edit_calls(id, |calls| {
            calls.retain(|c| !c["path"].as_str().unwrap_or("").starts_with(prefix));
        });
    }

    /// Changes the calls of the account's manifest, kept sorted by path.
    fn edit_calls(&self, id: &str, change: impl FnOnce(&mut Vec<Value>)) {
        let manifest_path = self.path().join(id).join("manifest.json");
        let mut manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest"))
                .expect("json");
        let calls = manifest["calls"].as_array_mut().expect("calls");
        change(calls);
        calls.sort_by(|a, b| {
            a["path"]
                .as_str()
                .unwrap_or("")
                .cmp(b["path"].as_str().unwrap_or(""))
        });
        std::fs::write(
            &manifest_path,
            serde_json::to_string_pretty(&manifest).expect("json"),
        )
        .expect("write manifest");
    }

    fn write(&self, rel: &str, value: &Value) {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, serde_json::to_string_pretty(value).expect("json")).expect("write");
    }

    fn remove(&self, rel: &str) {
        let path: PathBuf = self.path().join(rel);
        if path.is_dir() {
            std::fs::remove_dir_all(path).expect("rmdir");
        } else {
            std::fs::remove_file(path).expect("rm");
        }
    }
}

fn member(id: &str, name: &str, ou: &[&str], outcome: &str, message: Option<&str>) -> Value {
    json!({
        "id": id, "name": name, "email": format!("{name}@example.com"), "status": "ACTIVE",
        "ou_path": ou, "tags": {"Environment": name}, "outcome": outcome, "message": message
    })
}

fn record(shard: Option<(u32, u32)>, accounts: Vec<Value>) -> Value {
    json!({
        "schema_version": 1,
        "organization_id": "o-a1b2c3d4e5",
        "management_account_id": MGMT,
        "captured_at": "2026-12-01T10:00:00Z",
        "shard": shard.map(|(i, n)| json!({"index": i, "count": n})),
        "accounts": accounts,
    })
}

fn management() -> Value {
    member(MGMT, "management", &["Root"], "collected", None)
}
fn prod() -> Value {
    member(PROD, "prod-web", &["Root", "Production"], "collected", None)
}
fn sandbox() -> Value {
    member(
        SANDBOX,
        "sandbox",
        &["Root", "Sandbox"],
        "assume-role-failed",
        Some("AccessDenied: not authorized to perform sts:AssumeRole"),
    )
}
fn suspended() -> Value {
    member(
        OLD,
        "retired",
        &["Root", "Suspended"],
        "skipped-suspended",
        None,
    )
}

/// Management (the example), prod-web (the example with a 6-character minimum password
/// length planted), sandbox (its role could not be assumed: record only) and a suspended
/// account (skipped).
fn organisation() -> Org {
    let org = Org::new();
    org.account(MGMT, "snapshots/example");
    org.account(PROD, "snapshots/example");
    org.edit(
        PROD,
        "iam/get-account-password-policy.json",
        "\"MinimumPasswordLength\": 8",
        "\"MinimumPasswordLength\": 6",
    );
    org.write(
        "organization.json",
        &record(None, vec![management(), prod(), sandbox(), suspended()]),
    );
    org
}

fn codes(run: &Value) -> Vec<(String, String)> {
    run["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_owned(),
                d["account"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

#[test]
fn each_members_problem_is_reported_under_its_account_in_json() {
    let org = organisation();
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    // The sandbox account could not be audited: the run is incomplete.
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    let min: Vec<(&str, &str)> = run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == MIN_LENGTH)
        .map(|f| {
            (
                f["account"]["id"].as_str().unwrap_or(""),
                f["message"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(min.len(), 2, "{min:?}");
    assert_eq!(min[0].0, MGMT);
    assert!(min[0].1.contains("is 8"), "{}", min[0].1);
    assert_eq!(min[1].0, PROD);
    assert!(min[1].1.contains("is 6"), "{}", min[1].1);
    let prod_finding = run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule_id"] == MIN_LENGTH && f["account"]["id"] == PROD)
        .expect("prod's finding");
    assert_eq!(prod_finding["account"]["name"], "prod-web");

    let accounts: Vec<(&str, &str, bool)> = run["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or(""),
                a["outcome"].as_str().unwrap_or(""),
                a["audited"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        accounts,
        vec![
            (MGMT, "collected", true),
            (PROD, "collected", true),
            (SANDBOX, "assume-role-failed", false),
            (OLD, "skipped-suspended", false),
        ]
    );
    assert_eq!(run["organization"]["organization_id"], "o-a1b2c3d4e5");
    assert_eq!(run["summary"]["accounts_audited"], 2);
    assert!(
        codes(&run).contains(&("org::not-collected".into(), SANDBOX.into())),
        "{:?}",
        codes(&run)
    );
    // The suspended account is no error.
    assert!(
        !codes(&run).iter().any(|(_, a)| a == OLD),
        "{:?}",
        codes(&run)
    );
}

#[test]
fn a_complete_organisation_exits_like_one_snapshot() {
    let org = organisation();
    org.write(
        "organization.json",
        &record(None, vec![management(), prod(), suspended()]),
    );
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let never = snapaudit(&[
        "check",
        &org.arg(),
        "--fail-on",
        "never",
        "--format",
        "json",
    ]);
    assert_eq!(never.code, 0, "{}", never.stderr);
}

#[test]
fn csv_rows_carry_the_account_and_the_uncollected_account_has_a_row() {
    let org = organisation();
    let out = snapaudit(&["check", &org.arg(), "--format", "csv"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(&header[..3], ["account_id", "account_name", "rule_id"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let prod_min: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[0] == PROD && &r[2] == MIN_LENGTH)
        .collect();
    assert_eq!(prod_min.len(), 1);
    assert_eq!(&prod_min[0][1], "prod-web");
    assert!(prod_min[0][7].contains("is 6"), "{:?}", prod_min[0]);
    let sandbox: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[0] == SANDBOX).collect();
    assert_eq!(sandbox.len(), 1);
    assert!(
        sandbox[0][7].starts_with("not audited: assume-role-failed"),
        "{:?}",
        sandbox[0]
    );
    assert_eq!(&sandbox[0][header.len() - 1], "account");
}

#[test]
fn sarif_is_one_run_with_the_account_in_each_result() {
    let org = organisation();
    let out = snapaudit(&["check", &org.arg(), "--format", "sarif"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let log = out.json();
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    let prod = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == MIN_LENGTH && r["properties"]["account_id"] == PROD)
        .expect("prod's result");
    assert_eq!(prod["properties"]["account_name"], "prod-web");
    let location = &prod["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(
        location["uri"],
        format!("{PROD}/iam/get-account-password-policy.json")
    );
    assert_eq!(location["uriBaseId"], "ORGANIZATION");
    assert!(run["originalUriBaseIds"]["ORGANIZATION"]["uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("file://")));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert!(notes
        .iter()
        .any(|n| n["descriptor"]["id"] == "org::not-collected"
            && n["properties"]["account_id"] == SANDBOX));
}

#[test]
fn the_human_report_ends_with_the_accounts_table() {
    let org = organisation();
    let out = snapaudit(&["check", &org.arg()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let table: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("══ organisation ══"))
        .collect();
    let line = |id: &str| {
        table
            .iter()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("no line for {id}:\n{}", out.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    let header: Vec<&str> = table
        .iter()
        .find(|l| l.starts_with("account"))
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "account", "name", "ou", "outcome", "pass", "fail", "skip", "error", "critical",
            "high", "medium", "low", "info"
        ]
    );
    let prod = line(PROD);
    assert_eq!(
        &prod[..4],
        [PROD, "prod-web", "Root/Production", "collected"]
    );
    assert!(
        prod[4..].iter().all(|c| c.parse::<usize>().is_ok()),
        "{prod:?}"
    );
    let sandbox = line(SANDBOX);
    assert_eq!(
        &sandbox[..4],
        [SANDBOX, "sandbox", "Root/Sandbox", "assume-role-failed"]
    );
    assert!(sandbox[4..].iter().all(|c| *c == "-"), "{sandbox:?}");
    assert!(line(OLD).contains(&"skipped-suspended"));
    assert!(out
        .stdout
        .contains(&format!("══ account {PROD} (prod-web) ══")));
    assert!(
        out.stdout
            .contains("4 accounts: 1 assume-role-failed, 2 collected, 1 skipped-suspended"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!("account {SANDBOX}")),
        "{}",
        out.stderr
    );
}

#[test]
fn shard_records_give_the_same_bytes_as_one_record() {
    let org = organisation();
    let whole = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(whole.code, 2);
    let again = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(whole.stdout, again.stdout, "two runs differ");
    org.remove("organization.json");
    org.write(
        "shards/1-of-2.json",
        &record(Some((1, 2)), vec![prod(), suspended()]),
    );
    org.write(
        "shards/2-of-2.json",
        &record(Some((2, 2)), vec![sandbox(), management()]),
    );
    let sharded = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(sharded.code, 2);
    assert_eq!(whole.stdout, sharded.stdout);

    // One shard of two: the set is incomplete.
    org.remove("shards/2-of-2.json");
    let half = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(half.code, 2);
    assert!(codes(&half.json()).contains(&("org::incomplete-shards".into(), "-".into())));
}

#[test]
fn conflicting_records_are_errors() {
    let org = organisation();
    org.write(
        "organization.json",
        &record(None, vec![management(), prod(), suspended()]),
    );
    // The same account claimed by a shard too.
    org.write("shards/1-of-1.json", &record(Some((1, 1)), vec![prod()]));
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    assert!(
        codes(&run).contains(&("org::conflict".into(), "-".into())),
        "{:?}",
        codes(&run)
    );
    // Still audited, once.
    assert_eq!(run["accounts"].as_array().map(Vec::len), Some(3));

    // Another organisation's record.
    let mut other = record(Some((1, 1)), vec![]);
    other["organization_id"] = "o-zzzzzzzzzz".into();
    org.write("shards/1-of-1.json", &other);
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(out.code, 2);
    let messages: Vec<String> = out.json()["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "org::conflict")
        .map(|d| d["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("o-zzzzzzzzzz")),
        "{messages:?}"
    );
}

#[test]
fn hostile_records_are_diagnostics_not_paths() {
    let org = organisation();
    let mut bad = record(None, vec![management(), prod()]);
    bad["accounts"]
        .as_array_mut()
        .expect("accounts")
        .push(member(
            "../../etc",
            "evil\u{1b}[31m",
            &["Root"],
            "collected",
            None,
        ));
    org.write("organization.json", &bad);
    // A folder no record names, and a stray file.
    std::fs::write(org.path().join("notes.txt"), "hello").expect("write");
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let run = out.json();
    let c = codes(&run);
    assert!(c.contains(&("org::record".into(), "-".into())), "{c:?}");
    assert!(
        c.contains(&("org::stray-entry".into(), "-".into())),
        "{c:?}"
    );
    assert_eq!(run["accounts"].as_array().map(Vec::len), Some(2));
    assert!(!out.stderr.contains('\u{1b}'));

    // Not JSON at all.
    std::fs::write(
        org.path().join("organization.json"),
        "{\"schema_version\": 1,",
    )
    .expect("write");
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(out.code, 2);
    let c = codes(&out.json());
    assert!(c.contains(&("org::record".into(), "-".into())), "{c:?}");
    // The folders are still audited, each a warning for lack of a record.
    assert!(
        c.contains(&("org::unrecorded-account".into(), "-".into())),
        "{c:?}"
    );
}

#[test]
fn a_collected_account_without_its_folder_is_a_warning() {
    let org = organisation();
    org.remove(PROD);
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    let run = out.json();
    assert!(codes(&run).contains(&("org::missing-snapshot".into(), "-".into())));
}

#[test]
fn waivers_can_name_accounts_and_ous() {
    let org = organisation();
    let waivers = tempfile::NamedTempFile::new().expect("temp");
    for scope in [
        format!("accounts = [\"{PROD}\"]"),
        "ous = [\"Root/Production\"]".to_owned(),
    ] {
        std::fs::write(
            waivers.path(),
            format!(
                "[[waiver]]\nrule = \"{MIN_LENGTH}\"\n{scope}\nreason = \"legacy app\"\nowner = \"web\"\nexpires = 2027-06-30\n"
            ),
        )
        .expect("write");
        let out = snapaudit(&[
            "check",
            &org.arg(),
            "--format",
            "json",
            "--waivers",
            &waivers.path().display().to_string(),
        ]);
        let run = out.json();
        let waived: Vec<(&str, bool)> = run["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule_id"] == MIN_LENGTH)
            .map(|f| {
                (
                    f["account"]["id"].as_str().unwrap_or(""),
                    !f["waived"].is_null(),
                )
            })
            .collect();
        assert_eq!(waived, vec![(MGMT, false), (PROD, true)], "{scope}");
        // Used in one account: not reported as unused.
        assert!(
            !codes(&run).iter().any(|(c, _)| c == "waiver::unused"),
            "{scope}"
        );
    }
    // A bad account id is refused with the file.
    std::fs::write(
        waivers.path(),
        format!("[[waiver]]\nrule = \"{MIN_LENGTH}\"\naccounts = [\"2222\"]\nreason = \"r\"\nexpires = 2027-06-30\n"),
    )
    .expect("write");
    let out = snapaudit(&[
        "check",
        &org.arg(),
        "--waivers",
        &waivers.path().display().to_string(),
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not an account ID"), "{}", out.stderr);
}

#[test]
fn diff_lists_accounts_added_and_removed_and_each_accounts_changes() {
    let old = Org::new();
    old.account(MGMT, "snapshots/example");
    old.account(PROD, "snapshots/example");
    old.write(
        "organization.json",
        &record(None, vec![management(), prod()]),
    );
    let new = Org::new();
    new.account(MGMT, "snapshots/example-later");
    new.account(NEW_MEMBER, "snapshots/example");
    new.write(
        "organization.json",
        &record(
            None,
            vec![
                management(),
                member(
                    NEW_MEMBER,
                    "data",
                    &["Root", "Production"],
                    "collected",
                    None,
                ),
            ],
        ),
    );
    let out = snapaudit(&["diff", &old.arg(), &new.arg(), "--format", "json"]);
    assert!(out.code == 1, "{}\n{}", out.code, out.stderr);
    let d = out.json();
    assert_eq!(d["accounts"]["added"][0]["id"], NEW_MEMBER);
    assert_eq!(d["accounts"]["removed"][0]["id"], PROD);
    let per = d["per_account"].as_array().expect("per_account");
    assert_eq!(per.len(), 1);
    assert_eq!(per[0]["account"]["id"], MGMT);
    assert!(per[0]["diff"]["summary"]["new"].as_u64().unwrap_or(0) > 0);
    assert!(per[0]["diff"]["summary"]["resolved"].as_u64().unwrap_or(0) > 0);

    let human = snapaudit(&["diff", &old.arg(), &new.arg()]);
    assert!(
        human.stdout.contains(&format!(
            "── accounts added (1) ──\n  {NEW_MEMBER} (data) [Root/Production] collected"
        )),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains(&format!("── accounts removed (1) ──\n  {PROD} (prod-web)")),
        "{}",
        human.stdout
    );
    assert!(human
        .stdout
        .contains(&format!("══ account {MGMT} (management) ══")));

    // An organisation against a single snapshot is refused.
    let mixed = snapaudit(&["diff", &old.arg(), "snapshots/example"]);
    assert_eq!(mixed.code, 2);
    assert!(
        mixed.stderr.contains("usage::mixed-inputs"),
        "{}",
        mixed.stderr
    );
}

#[test]
fn junit_markdown_and_ocsf_name_each_account() {
    let org = organisation();
    let junit = snapaudit(&["check", &org.arg(), "--format", "junit"]);
    assert_eq!(junit.code, 2);
    assert!(junit.stdout.contains(&format!(
        "<testcase name=\"account {SANDBOX} (sandbox)\" classname=\"organization\" time=\"0\">\n      <error message=\"assume-role-failed\""
    )), "{}", junit.stdout);
    assert!(junit
        .stdout
        .contains(&format!("<testsuite name=\"{PROD}/iam\"")));
    assert!(junit.stdout.contains(&format!(
        "<testcase name=\"account {OLD} (retired)\" classname=\"organization\" time=\"0\">\n      <skipped message=\"skipped-suspended\"/>"
    )));

    let md = snapaudit(&["check", &org.arg(), "--format", "markdown"]);
    assert!(
        md.stdout
            .starts_with("# snapaudit: organisation o-a1b2c3d4e5\n"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains(&format!(
            "| `{SANDBOX}` | sandbox | Root/Sandbox | **assume-role-failed** | - |"
        )),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains(&format!("## snapaudit: account {PROD}")));

    let ocsf = snapaudit(&["check", &org.arg(), "--format", "ocsf"]);
    let findings: Value = serde_json::from_str(&ocsf.stdout).expect("OCSF JSON");
    let prod = findings
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["metadata"]["event_code"] == MIN_LENGTH && f["cloud"]["account"]["uid"] == PROD)
        .expect("prod's OCSF finding");
    assert_eq!(prod["cloud"]["account"]["name"], "prod-web");
}

#[test]
fn names_and_messages_from_records_never_reach_the_terminal_raw() {
    let org = organisation();
    let hostile = member(
        SANDBOX,
        "evil\u{1b}]0;PWN\u{7}",
        &["Root", "Sand\u{1b}[2Jbox"],
        "failed",
        Some("denied\u{1b}[31m\u{202e}"),
    );
    org.write(
        "organization.json",
        &record(None, vec![management(), prod(), hostile, suspended()]),
    );
    for format in ["human", "markdown", "csv", "junit"] {
        let out = snapaudit(&["check", &org.arg(), "--format", format]);
        assert_eq!(out.code, 2, "{format}");
        assert!(
            !out.stdout.contains('\u{1b}'),
            "{format}: raw ESC in\n{}",
            out.stdout
        );
        assert!(
            !out.stdout.contains('\u{202e}'),
            "{format}: raw bidi control"
        );
        assert!(
            !out.stderr.contains('\u{1b}'),
            "{format}: raw ESC in\n{}",
            out.stderr
        );
    }
    let human = snapaudit(&["check", &org.arg()]);
    assert!(
        human.stdout.contains("evil\\u{1b}]0;PWN\\u{7}"),
        "{}",
        human.stdout
    );
}

#[test]
fn an_organisation_with_no_account_audited_does_not_pass() {
    let org = Org::new();
    org.write("organization.json", &record(None, vec![suspended()]));
    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(codes(&out.json()).contains(&("audit::nothing-decided".into(), "-".into())));
}

/// A member account of the organisation with no trail of its own: the organisation trail
/// of the management account is listed in its `describe-trails` of every region, and its
/// status and event selectors are collected by the trail's ARN (a member cannot ask by
/// name), with the file names `collect` gives them. Without trails: `trails` empty.
fn member_trails(org: &Org, id: &str, trails: &[Value]) {
    for region in ["eu-west-1", "us-east-1"] {
        org.forget(id, &format!("cloudtrail/{region}/get-trail-status/"));
        org.forget(id, &format!("cloudtrail/{region}/get-event-selectors/"));
        org.put_cloudtrail(
            id,
            &format!("cloudtrail/{region}/describe-trails.json"),
            ("DescribeTrails", region, json!({})),
            &json!({ "trailList": trails }),
        );
    }
    for trail in trails {
        let arn = trail["TrailARN"].as_str().expect("TrailARN");
        let home = trail["HomeRegion"].as_str().expect("HomeRegion");
        let file = arn.replace('/', "_");
        org.put_cloudtrail(
            id,
            &format!("cloudtrail/{home}/get-trail-status/{file}.json"),
            ("GetTrailStatus", home, json!({ "Name": arn })),
            &json!({
                "IsLogging": true,
                "LatestDeliveryTime": "2026-11-02T08:57:41+00:00",
                "StartLoggingTime": "2026-03-01T12:00:04+00:00",
                "LatestDeliveryAttemptTime": "2026-11-02T08:57:41Z",
                "LatestDeliveryAttemptSucceeded": "2026-11-02T08:57:41Z",
                "TimeLoggingStarted": "2026-03-01T12:00:04Z",
                "TimeLoggingStopped": ""
            }),
        );
        org.put_cloudtrail(
            id,
            &format!("cloudtrail/{home}/get-event-selectors/{file}.json"),
            ("GetEventSelectors", home, json!({ "TrailName": arn })),
            &json!({
                "TrailARN": arn,
                "EventSelectors": [{
                    "ReadWriteType": "All", "IncludeManagementEvents": true,
                    "DataResources": [], "ExcludeManagementEventSources": []
                }]
            }),
        );
    }
}

#[test]
fn a_member_covered_by_the_organisation_trail_has_no_multi_region_finding() {
    const MULTI_REGION: &str = "cloudtrail.multi-region";
    let org = Org::new();
    org.account(MGMT, "snapshots/example");
    org.account(PROD, "snapshots/example");
    org.account(NEW_MEMBER, "snapshots/example");
    let org_trail = json!({
        "Name": "org-trail",
        "S3BucketName": format!("org-cloudtrail-{MGMT}"),
        "IncludeGlobalServiceEvents": true,
        "IsMultiRegionTrail": true,
        "HomeRegion": "us-east-1",
        "TrailARN": format!("arn:aws:cloudtrail:us-east-1:{MGMT}:trail/org-trail"),
        "LogFileValidationEnabled": true,
        "CloudWatchLogsLogGroupArn": format!("arn:aws:logs:us-east-1:{MGMT}:log-group:org-trail:*"),
        "CloudWatchLogsRoleArn": format!("arn:aws:iam::{MGMT}:role/org-trail-to-cloudwatch"),
        "HasCustomEventSelectors": false,
        "HasInsightSelectors": false,
        "IsOrganizationTrail": true
    });
    member_trails(&org, PROD, &[org_trail]);
    member_trails(&org, NEW_MEMBER, &[]);
    org.write(
        "organization.json",
        &record(
            None,
            vec![
                management(),
                prod(),
                member(
                    NEW_MEMBER,
                    "no-trail",
                    &["Root", "Sandbox"],
                    "collected",
                    None,
                ),
            ],
        ),
    );

    let out = snapaudit(&["check", &org.arg(), "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let run = out.json();
    assert!(codes(&run).is_empty(), "{:?}", codes(&run));
    let findings = |rule: &str| -> Vec<(String, String)> {
        common::findings_of(&run, rule)
            .iter()
            .map(|f| {
                (
                    f["account"]["id"].as_str().unwrap_or("").to_owned(),
                    f["message"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    // The member covered by the organisation trail: no finding; the one without any trail
    // still has one. (The management account's own trail logs everything.)
    assert_eq!(
        findings(MULTI_REGION),
        vec![(
            NEW_MEMBER.to_owned(),
            "no multi-region trail logs read and write management events: there is no multi-region trail"
                .to_owned()
        )]
    );
    let result = |account: &str, rule: &str| -> (String, String) {
        let entry = run["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["id"] == account)
            .expect("account");
        common::rule_result(entry, rule)
    };
    assert_eq!(result(PROD, MULTI_REGION).0, "pass");
    assert_eq!(result(PROD, "cloudtrail.logging").0, "pass");
    assert_eq!(result(PROD, "cloudtrail.log-file-validation").0, "pass");
    assert_eq!(result(NEW_MEMBER, MULTI_REGION).0, "fail");
    // CIS 5.x: the organisation trail's log group is the management account's; the member's
    // snapshot cannot hold its metric filters, so the rule says where to look instead.
    let (cis, why) = result(PROD, "cloudwatch.cis-monitoring");
    assert_eq!(cis, "skip", "{why}");
    assert!(
        why.contains(&format!(
            "trail `org-trail` (organisation trail of account {MGMT}) sends its events to log group `org-trail` of account {MGMT}"
        )) && why.contains(&format!(
            "audit account {MGMT}'s snapshot; with `check ORGDIR` that account is audited too"
        )),
        "{why}"
    );
    assert!(findings("cloudwatch.cis-monitoring")
        .iter()
        .all(|(account, _)| account != PROD));
}
