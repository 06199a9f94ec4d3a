//! Helpers for CLI tests: run the real binary, copy and edit snapshots in temp dirs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            ),
        }
    }
}

/// Runs `snapaudit ARGS` from the repository root, without colour.
pub fn snapaudit(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_snapaudit"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "160")
        .output()
        .expect("run snapaudit");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A copy of `snapshots/example` in a temp dir, to break on purpose.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn example() -> Fixture {
        Fixture::of("snapshots/example")
    }

    /// A copy of the snapshot directory `rel` (relative to the repository root).
    pub fn of(rel: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = root().join(rel);
        for entry in walkdir::WalkDir::new(&src) {
            let entry = entry.expect("walk");
            let rel = entry.path().strip_prefix(&src).expect("prefix");
            let to = dir.path().join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).expect("mkdir");
            } else {
                std::fs::copy(entry.path(), &to).expect("copy");
            }
        }
        Fixture { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn arg(&self) -> String {
        self.path().display().to_string()
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path().join(rel), text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read")
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).expect("remove");
    }

    /// Edits the manifest entry of `rel` (or removes it when `f` returns None).
    pub fn edit_call(&self, rel: &str, f: impl Fn(serde_json::Value) -> Option<serde_json::Value>) {
        let mut manifest: serde_json::Value =
            serde_json::from_str(&self.read("manifest.json")).expect("manifest");
        let calls = manifest["calls"].as_array_mut().expect("calls");
        let mut out = Vec::new();
        for c in calls.drain(..) {
            if c["path"] == rel {
                if let Some(c) = f(c) {
                    out.push(c);
                }
            } else {
                out.push(c);
            }
        }
        *calls = out;
        self.write(
            "manifest.json",
            &serde_json::to_string_pretty(&manifest).expect("json"),
        );
    }

    /// Records the call of `rel` as failed with `code`, and removes its file.
    pub fn fail_call(&self, rel: &str, code: &str) {
        self.edit_call(rel, |mut c| {
            c["status"] = "error".into();
            c.as_object_mut().map(|o| o.remove("sha256"));
            c["error"] = serde_json::json!({"code": code, "message": format!("{code} for test")});
            Some(c)
        });
        self.remove(rel);
    }
}

/// The result of rule `id` in a JSON run: (result, reason).
pub fn rule_result(run: &serde_json::Value, id: &str) -> (String, String) {
    let rule = run["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("no rule {id} in output"));
    (
        rule["result"].as_str().unwrap_or("").to_owned(),
        rule["reason"].as_str().unwrap_or("").to_owned(),
    )
}

/// Findings of rule `id`.
pub fn findings_of<'a>(run: &'a serde_json::Value, id: &str) -> Vec<&'a serde_json::Value> {
    run["findings"]
        .as_array()
        .map(|fs| fs.iter().filter(|f| f["rule_id"] == id).collect())
        .unwrap_or_default()
}

/// Whether rule `id` could not judge some data because it is unusable: the rule ended with
/// `error`, or it failed on the rest with an error gap (a partial answer). Returns the
/// error or the gaps' reasons.
pub fn unusable_for(run: &serde_json::Value, id: &str) -> Option<String> {
    let rule = run["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("no rule {id} in output"));
    match rule["result"].as_str() {
        Some("error") => rule["reason"].as_str().map(str::to_owned),
        Some("fail") => {
            let reasons: Vec<&str> = rule["gaps"]
                .as_array()
                .map(|gs| {
                    gs.iter()
                        .filter(|g| g["status"] == "error" || g["status"] == "malformed")
                        .filter_map(|g| g["reason"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            (!reasons.is_empty()).then(|| reasons.join("; "))
        }
        _ => None,
    }
}

/// How many findings `check snapshots/example` gives with the bundled pack: the planted
/// problems of docs/example-account.md (tests/check_example.rs lists each one).
pub const EXAMPLE_FINDINGS: u64 = 89;
