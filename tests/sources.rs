#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! `check --source DIR`: the account's access keys found in a source tree, as a user sees it.

mod common;

use std::path::Path;

use common::snapaudit;
use serde_json::Value;

const SECRET: &str = "q8Rz/Tn3YpWx+Lk2Vb7Mc9Ds4Fg6Hj1KaQeUrTyI";

/// The tree of the issue: an active key in YAML (with its secret), an inactive key in a
/// .env, the documented example key in a README, a key in a .gitignored file, a binary
/// file holding a key, and a symlink to a directory outside the tree holding a key.
fn tree(root: &Path, outside: &Path) {
    std::fs::create_dir_all(root.join("deploy")).unwrap();
    std::fs::write(
        root.join("deploy/app.yaml"),
        format!("service: billing\naws:\n  access_key_id: AKIAEXAMPLEALICE0001\n  secret_access_key: {SECRET}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join(".env"),
        "AWS_ACCESS_KEY_ID=AKIAEXAMPLECAROL0001\n",
    )
    .unwrap();
    std::fs::write(
        root.join("README.md"),
        "Configure with AKIAIOSFODNN7EXAMPLE.\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "local/\n").unwrap();
    std::fs::create_dir_all(root.join("local")).unwrap();
    std::fs::write(root.join("local/creds.txt"), "AKIAEXAMPLEDAVE00001\n").unwrap();
    let mut binary = b"\x7fELF\x00\x00\x01".to_vec();
    binary.extend_from_slice(b"AKIAEXAMPLECIDEPLOY1");
    std::fs::write(root.join("tool.bin"), binary).unwrap();
    std::fs::create_dir_all(outside).unwrap();
    std::fs::write(outside.join("other.txt"), "AKIAEXAMPLECIDEPLOY1\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside, root.join("vendor")).unwrap();
}

fn source_findings(run: &Value) -> Vec<(String, String, String, String)> {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("source."))
        .map(|f| {
            let l = &f["location"];
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["resource"]["id"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                format!(
                    "{}:{}:{}",
                    Path::new(l["file"].as_str().unwrap())
                        .file_name()
                        .unwrap()
                        .to_string_lossy(),
                    l["line"],
                    l["column"]
                ),
            )
        })
        .collect()
}

#[test]
fn keys_in_a_source_tree_are_found_judged_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    tree(&root, &dir.path().join("elsewhere"));
    let src = root.to_str().unwrap();
    // example-later: alice's key is active, carol's key 1 inactive.
    let out = snapaudit(&[
        "check",
        "snapshots/example-later",
        "--source",
        src,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1);
    let run = out.json();
    let mut got = source_findings(&run);
    got.sort();
    let want = vec![
        (
            "source.access-key".into(),
            "AKIAEXAMPLEALICE0001".into(),
            "high".into(),
            "app.yaml:3:18".into(),
        ),
        (
            "source.access-key".into(),
            "AKIAEXAMPLECAROL0001".into(),
            "medium".into(),
            ".env:1:19".into(),
        ),
        (
            "source.secret-access-key".into(),
            "AKIAEXAMPLEALICE0001".into(),
            "critical".into(),
            "app.yaml:4:22".into(),
        ),
    ];
    assert_eq!(
        got, want,
        "the example key, the ignored file, the binary and the symlink give nothing"
    );
    let skipped: Vec<(String, String)> = run["sources"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                Path::new(s["path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        skipped.contains(&("tool.bin".into(), "binary".into())),
        "{skipped:?}"
    );
    assert!(
        skipped.contains(&("vendor".into(), "symbolic link (not followed)".into())),
        "{skipped:?}"
    );
    // README, .env, .gitignore, app.yaml (local/ is ignored, tool.bin skipped).
    assert_eq!(run["sources"]["files_scanned"], 4);
    assert_eq!(run["sources"]["key_ids_found"], 3);

    // --no-ignore finds the key in the ignored file: dave's active key.
    let all = snapaudit(&[
        "check",
        "snapshots/example-later",
        "--source",
        src,
        "--no-ignore",
        "--format",
        "json",
    ])
    .json();
    assert!(source_findings(&all)
        .iter()
        .any(|f| f.1 == "AKIAEXAMPLEDAVE00001" && f.2 == "high" && f.3 == "creds.txt:1:1"));

    // The secret is in no output.
    for format in ["human", "json", "sarif", "csv", "junit", "markdown"] {
        let out = snapaudit(&[
            "check",
            "snapshots/example-later",
            "--source",
            src,
            "--format",
            format,
        ]);
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "{format} shows the secret"
        );
    }
    let human = snapaudit(&["check", "snapshots/example-later", "--source", src]).stdout;
    assert!(
        human.contains("  secret_access_key: ****************************************"),
        "{human}"
    );
    assert!(human.contains("sources: 4 files"), "{human}");
    assert!(human.contains("(binary)"));
}

#[test]
fn without_source_the_source_rules_skip_and_a_bad_root_is_an_error() {
    let run = snapaudit(&["check", "snapshots/example", "--format", "json"]).json();
    let result = |id: &str| common::rule_result(&run, id).0;
    assert_eq!(result("source.access-key"), "skip");
    assert_eq!(result("source.secret-access-key"), "skip");
    assert!(run["sources"].is_null());

    let out = snapaudit(&["check", "snapshots/example", "--source", "no/such/dir"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`--source no/such/dir` is not a directory"),
        "{}",
        out.stderr
    );
}

/// A 40-character token on the key's own line that looks like a secret too.
const DECOY: &str = "Zx7Wv5Ut3Sr1Qp9On8Ml6Kj4Ih2Gf0EdCbA/+aab";

/// The key ID, its secret above, below or on its line, with or without a decoy token on the
/// key's line, in a `.env`: no output shows either, and the secret is paired when no decoy
/// is nearer.
#[test]
fn a_secret_above_below_or_beside_a_key_is_never_shown() {
    assert_eq!(DECOY.len(), 40);
    let key = "AKIAEXAMPLEALICE0001";
    let secret_line = format!("AWS_SECRET_ACCESS_KEY={SECRET}");
    let key_line = |decoy: bool| {
        if decoy {
            format!("AWS_ACCESS_KEY_ID={key} # build {DECOY}")
        } else {
            format!("AWS_ACCESS_KEY_ID={key}")
        }
    };
    // (name, lines of the file, where the secret-looking string nearest the key is)
    let cases = |decoy: bool| {
        vec![
            (
                "above",
                vec![
                    "# billing".to_owned(),
                    secret_line.clone(),
                    key_line(decoy),
                    "AWS_DEFAULT_REGION=eu-west-1".into(),
                ],
                if decoy { ".env:3:48" } else { ".env:2:23" },
            ),
            (
                "below",
                vec![
                    "# billing".to_owned(),
                    key_line(decoy),
                    secret_line.clone(),
                    "AWS_DEFAULT_REGION=eu-west-1".into(),
                ],
                if decoy { ".env:2:48" } else { ".env:3:23" },
            ),
            (
                "beside",
                vec![
                    "# billing".to_owned(),
                    format!("export {} {secret_line}", key_line(decoy)),
                    "AWS_DEFAULT_REGION=eu-west-1".into(),
                ],
                if decoy { ".env:2:55" } else { ".env:2:69" },
            ),
        ]
    };
    for decoy in [false, true] {
        for (name, lines, paired) in cases(decoy) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(".env"), lines.join("\n") + "\n").unwrap();
            let src = dir.path().to_str().unwrap();
            let what = format!("secret {name}, decoy: {decoy}");
            for format in ["human", "json", "sarif", "csv", "junit", "markdown"] {
                let out = snapaudit(&[
                    "check",
                    "snapshots/example",
                    "--source",
                    src,
                    "--format",
                    format,
                ]);
                assert_eq!(out.code, 1, "{what}, {format}: {}", out.stderr);
                for shown in [SECRET, DECOY] {
                    assert!(
                        !out.stdout.contains(shown) && !out.stderr.contains(shown),
                        "{what}: {format} shows {shown}:\n{}\n{}",
                        out.stdout,
                        out.stderr
                    );
                }
                if format == "human" {
                    // The secret's line is in a snippet, masked.
                    let masked = format!("AWS_SECRET_ACCESS_KEY={}", "*".repeat(40));
                    assert!(out.stdout.contains(&masked), "{what}:\n{}", out.stdout);
                }
            }
            let run = snapaudit(&[
                "check",
                "snapshots/example",
                "--source",
                src,
                "--format",
                "json",
            ])
            .json();
            let secrets: Vec<String> = source_findings(&run)
                .into_iter()
                .filter(|f| f.0 == "source.secret-access-key")
                .map(|f| f.3)
                .collect();
            assert_eq!(secrets, vec![paired.to_owned()], "{what}");
        }
    }
}

/// A minified file: one line of about 1 MB holding 2,000 key IDs among multi-byte
/// characters, then a short second line. Every ID is found, at its line and its column in
/// characters, as a rule sees them (`snapshot.source_hits()`).
#[test]
fn every_key_of_a_one_megabyte_line_is_found_at_its_column() {
    let mut text = String::new();
    let mut chars = 0;
    let mut want = Vec::new();
    let mut push = |text: &mut String, piece: &str| {
        text.push_str(piece);
        chars += piece.chars().count();
        chars
    };
    let mut i = 0;
    while text.len() < 1_000_000 {
        push(&mut text, "{\"note\":\"");
        push(&mut text, &"é".repeat(i % 7));
        let before = push(&mut text, "\",\"id\":\"");
        let id = format!("AKIA{i:016}");
        want.push(format!("{id} 1:{}", before + 1));
        push(&mut text, &id);
        push(&mut text, "\",\"pad\":\"");
        push(&mut text, &"-".repeat(440));
        push(&mut text, "\"},");
        i += 1;
    }
    text.push_str("\nAKIAZZZZZZZZZZZZZZZZ\n");
    want.push("AKIAZZZZZZZZZZZZZZZZ 2:1".into());
    assert!(want.len() > 1_900, "{}", want.len());

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("repo");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("bundle.min.js"), &text).unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(
        policies.join("positions.rhai"),
        r#"//! id = "test.positions"
//! title = "Where each key ID was found"
//! severity = "info"

let hits = snapshot.source_hits();
let all = "";
for h in hits { all += `${h.key_id} ${h.line}:${h.column}|`; }
if hits.len() > 0 { report(hits[0].key_id, "positions", all); }
"#,
    )
    .unwrap();
    let run = snapaudit(&[
        "check",
        "snapshots/example",
        "--no-default-pack",
        "--policies",
        policies.to_str().unwrap(),
        "--source",
        src.to_str().unwrap(),
        "--format",
        "json",
    ])
    .json();
    assert_eq!(run["sources"]["key_ids_found"], want.len());
    let findings = common::findings_of(&run, "test.positions");
    assert_eq!(findings.len(), 1, "{run}");
    let got: Vec<&str> = findings[0]["message"]
        .as_str()
        .unwrap()
        .trim_end_matches('|')
        .split('|')
        .collect();
    assert_eq!(got, want);
}
