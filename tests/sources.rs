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
