//! Rule unit tests: `*.test.yaml` files beside the rules, each a list of cases (a small
//! snapshot, optional config and time, and the expected result per rule).
//!
//! A case's snapshot is written to a temporary directory in the documented format and
//! audited by the same pipeline as `check` ([`crate::audit`]), so a case sees exactly what
//! `check` would see.

pub mod cases;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;

use crate::audit::{self, Setup};
use crate::config::Config;
use crate::diagnostic::{Kind, Problem};
use crate::engine::{Finding, Outcome, RuleResult};
use crate::report::safe;
use crate::rules::{self, RuleSet};
use crate::snapshot::credential_report;
use crate::snapshot::load::MANIFEST;
use crate::snapshot::manifest::{Call, CallError, CallStatus, Manifest, SCHEMA_VERSION};
use cases::{Case, Detail, Expected};

/// How one case ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    /// The case itself could not run (bad fixture, unknown rule id, bad time).
    Error,
}

/// One rule's expected and actual result within a case.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCheck {
    pub id: String,
    pub expected: &'static str,
    pub got: &'static str,
    /// What differs; empty when the rule behaved as expected.
    pub mismatches: Vec<String>,
    /// What the rule did: findings as `resource at file:line:column: message`, the skip
    /// reason, or the error.
    pub details: Vec<String>,
    /// Where its findings are, as a case's `locations` writes them (`file:line:column`).
    pub locations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub status: Status,
    pub rules: Vec<RuleCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FileResult {
    pub file: String,
    pub cases: Vec<CaseResult>,
}

/// Everything a `snapaudit test` run found.
#[derive(Debug, Default, Serialize)]
pub struct TestRun {
    pub files: Vec<FileResult>,
    /// Problems of the rule set and of test files that could not be read.
    #[serde(skip)]
    pub diagnostics: Vec<Problem>,
    /// Loaded rules no case mentions.
    pub untested: Vec<String>,
}

impl TestRun {
    pub fn count(&self, status: fn(&Status) -> bool) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.cases)
            .filter(|c| status(&c.status))
            .count()
    }

    /// 0 when every case passed, 1 when one failed, 2 when a file or case could not run.
    pub fn exit_code(&self) -> u8 {
        if crate::diagnostic::any_error(&self.diagnostics)
            || self.count(|s| matches!(s, Status::Error)) > 0
        {
            2
        } else if self.count(|s| matches!(s, Status::Failed)) > 0 {
            1
        } else {
            0
        }
    }
}

/// Every `*.test.yaml` (or `.test.yml`) under `dirs`, sorted.
pub fn test_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy();
            if entry.file_type().is_file()
                && (name.ends_with(".test.yaml") || name.ends_with(".test.yml"))
            {
                files.push(entry.into_path());
            }
        }
    }
    files
}

/// Runs every case of every test file under `dirs` against `set`. Rules that come from
/// `dirs` and no case names are listed as untested.
pub fn run(set: &RuleSet, dirs: &[PathBuf], filter: Option<&str>) -> TestRun {
    let mut out = TestRun {
        diagnostics: set.problems.clone(),
        ..TestRun::default()
    };
    let mut mentioned = BTreeSet::new();
    for path in test_files(dirs) {
        let (file, _source) = match cases::read(&path) {
            Ok(f) => f,
            Err(p) => {
                out.diagnostics.push(*p);
                continue;
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let mut results = Vec::new();
        for case in &file.cases {
            mentioned.extend(case.expect.keys().cloned());
            if filter.is_some_and(|f| !case.name.contains(f)) {
                continue;
            }
            results.push(run_case(set, case, base));
        }
        out.files.push(FileResult {
            file: path.display().to_string(),
            cases: results,
        });
    }
    out.untested = set
        .rules
        .iter()
        .filter(|r| matches!(&r.origin, rules::Origin::Dir(d) if dirs.contains(d)))
        .map(|r| r.meta.id.clone())
        .filter(|id| !mentioned.contains(id))
        .collect();
    out
}

fn run_case(set: &RuleSet, case: &Case, base: &Path) -> CaseResult {
    match try_case(set, case, base) {
        Ok(rules) => CaseResult {
            name: case.name.clone(),
            status: if rules.iter().all(|r| r.mismatches.is_empty()) {
                Status::Ok
            } else {
                Status::Failed
            },
            rules,
            error: None,
        },
        Err(message) => CaseResult {
            name: case.name.clone(),
            status: Status::Error,
            rules: Vec::new(),
            error: Some(message),
        },
    }
}

fn try_case(set: &RuleSet, case: &Case, base: &Path) -> Result<Vec<RuleCheck>, String> {
    let config = match &case.config {
        Some(text) => Config::from_text(text, "config of the case").map_err(|p| p.message)?,
        None => Config::defaults(),
    };
    let as_of = match &case.as_of {
        Some(t) => Some(
            crate::time::parse_time(t)
                .ok_or_else(|| format!("`as_of: {t}` is not an RFC 3339 time or a date"))?,
        ),
        None => None,
    };
    // Only the rules the case names run, so a case is about its rules alone.
    let mut subset = RuleSet::default();
    for id in case.expect.keys() {
        if let Some(rule) = set.rules.iter().find(|r| &r.meta.id == id) {
            subset.rules.push(rule.clone());
        } else if let Some(b) = set
            .broken
            .iter()
            .find(|b| b.id.as_ref().is_some_and(|m| &m.id == id))
        {
            subset.broken.push(b.clone());
        } else {
            let ids = set.rules.iter().map(|r| &r.meta.id);
            let hint = crate::config::closest(id, ids)
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            return Err(format!("no loaded rule has the id `{id}`{hint}"));
        }
    }

    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    materialize(case, base, dir.path())?;
    let src = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    for (rel, text) in &case.sources {
        write(src.path(), rel, text.as_bytes())?;
    }
    let setup = Setup {
        engine: rules::sandbox::engine(&config.limits),
        config,
        rules: subset,
        waivers: None,
    };
    let options = audit::Options {
        as_of,
        sources: if case.sources.is_empty() {
            Vec::new()
        } else {
            vec![src.path().to_path_buf()]
        },
        scan: crate::scan::Options {
            relative_paths: true,
            ..crate::scan::Options::default()
        },
        keep_text: true,
    };
    let run = audit::audit(&setup, dir.path(), &options).map_err(|p| p.message)?;
    Ok(case
        .expect
        .iter()
        .map(|(id, expect)| {
            let result = run.results.iter().find(|r| &r.meta.id == id);
            let mine: Vec<&Finding> = run.findings.iter().filter(|f| &f.rule.id == id).collect();
            compare(id, &expect.detail(), result, &mine)
        })
        .collect())
}

fn location_text(f: &Finding) -> String {
    match (&f.location, &f.call) {
        (Some(l), _) => format!("{}:{}:{}", l.file, l.line, l.column),
        (None, Some(call)) => call.clone(),
        (None, None) => "-".into(),
    }
}

fn compare(
    id: &str,
    want: &Detail,
    result: Option<&RuleResult>,
    findings: &[&Finding],
) -> RuleCheck {
    let got = result.map(|r| r.outcome.name()).unwrap_or("missing");
    let mut mismatches = Vec::new();
    let mut details = Vec::new();
    let mut said = String::new();
    match result.map(|r| &r.outcome) {
        Some(Outcome::Skip(reason)) => {
            details.push(format!("skipped: {reason}"));
            said = reason.clone();
        }
        Some(Outcome::Error(p)) => {
            // Where in the rule it happened, as `check` shows it.
            let at = match (&p.file, p.line_col()) {
                (Some(f), Some((l, c))) => format!(" at {f}:{l}:{c}"),
                _ => String::new(),
            };
            details.push(format!("error{at}: {}", p.message));
            said = p.message.clone();
        }
        _ => {}
    }
    for f in findings {
        details.push(format!(
            "finding on `{}` at {}: {}",
            f.resource.id,
            location_text(f),
            f.message
        ));
    }
    let gaps = result.map_or(&[][..], |r| r.gaps.as_slice());
    for g in gaps {
        details.push(format!("gap: {}", g.reason));
    }
    if let Some(want) = &want.gaps {
        let matches = |w: &String, g: &crate::rules::context::Gap| {
            g.file.as_deref() == Some(w.as_str()) || g.reason.contains(w.as_str())
        };
        let missing: Vec<&String> = want
            .iter()
            .filter(|w| !gaps.iter().any(|g| matches(w, g)))
            .collect();
        let extra: Vec<&str> = gaps
            .iter()
            .filter(|g| !want.iter().any(|w| matches(w, g)))
            .map(|g| g.file.as_deref().unwrap_or(g.reason.as_str()))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            mismatches.push(format!(
                "expected gaps [{}], got [{}]",
                want.iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                gaps.iter()
                    .map(|g| g.file.as_deref().unwrap_or(g.reason.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if got != want.result.as_str() {
        mismatches.push(format!("expected {}, got {got}", want.result.as_str()));
    } else if want.result == Expected::Fail {
        if let Some(n) = want.count {
            if n != findings.len() {
                mismatches.push(format!("expected {n} findings, got {}", findings.len()));
            }
        }
        if let Some(resources) = &want.resources {
            let mut want_r: Vec<&str> = resources.iter().map(String::as_str).collect();
            let mut got_r: Vec<&str> = findings.iter().map(|f| f.resource.id.as_str()).collect();
            want_r.sort_unstable();
            got_r.sort_unstable();
            if want_r != got_r {
                mismatches.push(format!(
                    "expected findings on [{}], got [{}]",
                    want_r.join(", "),
                    got_r.join(", ")
                ));
            }
        }
        if let Some(locations) = &want.locations {
            let mut want_l: Vec<String> = locations.clone();
            let mut got_l: Vec<String> = findings.iter().map(|f| location_text(f)).collect();
            want_l.sort_unstable();
            got_l.sort_unstable();
            if want_l != got_l {
                mismatches.push(format!(
                    "expected findings at [{}], got [{}]",
                    want_l.join(", "),
                    got_l.join(", ")
                ));
            }
        }
        if let Some(sev) = want.severity {
            for f in findings.iter().filter(|f| f.severity != sev) {
                mismatches.push(format!(
                    "expected severity {sev}, got {} for `{}`",
                    f.severity, f.resource.id
                ));
            }
        }
    }
    if got == want.result.as_str() {
        for text in &want.messages {
            let found = if want.result == Expected::Fail {
                findings.iter().any(|f| f.message.contains(text.as_str()))
            } else {
                said.contains(text.as_str())
            };
            if !found {
                mismatches.push(format!("expected a message containing {text:?}"));
            }
        }
    }
    let mut locations: Vec<String> = findings.iter().map(|f| location_text(f)).collect();
    locations.sort_unstable();
    RuleCheck {
        id: id.to_owned(),
        expected: want.result.as_str(),
        got,
        mismatches,
        details,
        locations,
    }
}

/// `snapaudit test --update`: writes the observed locations of every failing rule whose
/// case expects `fail` into that case's `locations`, in the test file's own text (comments
/// and layout kept). Returns how many expectations were written.
pub fn update_locations(run: &TestRun) -> Result<usize, Box<Problem>> {
    let mut written = 0;
    for file in &run.files {
        let path = std::path::Path::new(&file.file);
        let mut text = std::fs::read_to_string(path).map_err(|e| {
            Box::new(Problem::new(
                Kind::TestIo,
                format!("cannot read `{}` to update it: {e}", file.file),
            ))
        })?;
        let mut changed = false;
        for case in &file.cases {
            for rule in case
                .rules
                .iter()
                .filter(|r| r.got == "fail" && r.expected == "fail")
            {
                if let Some(updated) = set_locations(&text, &case.name, &rule.id, &rule.locations) {
                    if updated != text {
                        text = updated;
                        changed = true;
                        written += 1;
                    }
                }
            }
        }
        if changed {
            std::fs::write(path, text).map_err(|e| {
                Box::new(Problem::new(
                    Kind::TestIo,
                    format!("cannot write `{}`: {e}", file.file),
                ))
            })?;
        }
    }
    Ok(written)
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// A YAML scalar key or value as written: plain, or in single or double quotes.
fn unquoted(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(s)
}

/// The text with `locations` of `rule` in case `case` set to `locations`; `None` when the
/// case or its expectation of the rule is not found.
fn set_locations(text: &str, case: &str, rule: &str, locations: &[String]) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let flow = format!(
        "[{}]",
        locations
            .iter()
            .map(|l| serde_json::Value::String(l.clone()).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The case: its `- name:` line, to the next item at its indentation.
    let start = lines.iter().position(|l| {
        l.trim_start()
            .strip_prefix("- name:")
            .is_some_and(|n| unquoted(n) == case)
    })?;
    let item_indent = indent_of(lines[start]);
    let end = (start + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            !l.trim().is_empty() && indent_of(l) <= item_indent
        })
        .unwrap_or(lines.len());
    let expect = (start..end).find(|&i| lines[i].trim() == "expect:")?;
    let key_at = (expect + 1..end).find(|&i| {
        lines[i]
            .trim()
            .split_once(':')
            .is_some_and(|(k, _)| unquoted(k) == rule)
    })?;
    let key_indent = indent_of(lines[key_at]);
    let inner = " ".repeat(key_indent + 2);
    let block_end = (key_at + 1..end)
        .find(|&i| {
            let l = lines[i];
            !l.trim().is_empty() && indent_of(l) <= key_indent
        })
        .unwrap_or(end);
    let mut out: Vec<String> = lines[..key_at].iter().map(|l| (*l).to_owned()).collect();
    let (key, value) = lines[key_at].split_once(':')?;
    if !value.trim().is_empty() {
        // `rule: fail` becomes a mapping.
        out.push(format!("{key}:"));
        out.push(format!("{inner}result: {}", value.trim()));
        out.push(format!("{inner}locations: {flow}"));
    } else {
        out.push(lines[key_at].to_owned());
        let mut i = key_at + 1;
        let mut done = false;
        while i < block_end {
            let l = lines[i];
            if l.trim_start().starts_with("locations:") && indent_of(l) == key_indent + 2 {
                out.push(format!("{inner}locations: {flow}"));
                done = true;
                i += 1;
                // A block list under it goes with it.
                while i < block_end && indent_of(lines[i]) > key_indent + 2 {
                    i += 1;
                }
                continue;
            }
            out.push(l.to_owned());
            i += 1;
        }
        if !done {
            out.push(format!("{inner}locations: {flow}"));
        }
    }
    out.extend(lines[block_end..].iter().map(|l| (*l).to_owned()));
    let mut result = out.join("\n");
    if text.ends_with('\n') {
        result.push('\n');
    }
    Some(result)
}

/// A snapshot-relative path from a case: relative, no `..`.
fn safe_rel(rel: &str) -> Result<&Path, String> {
    let path = Path::new(rel);
    if rel.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!(
            "`{rel}` is not a snapshot-relative path (no leading `/`, no `..`)"
        ));
    }
    Ok(path)
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join(safe_rel(rel)?);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot write `{rel}`: {e}"))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write `{rel}`: {e}"))
}

/// JSON as the aws CLI prints it: four-space indent, a final newline.
fn cli_json(value: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    // Serializing a Value into memory cannot fail.
    let _ = serde::Serialize::serialize(value, &mut ser);
    out.push(b'\n');
    out
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    if !from.is_dir() {
        return Err(format!("fixture `{}` is not a directory", from.display()));
    }
    for entry in walkdir::WalkDir::new(from).follow_links(false) {
        let entry = entry.map_err(|e| format!("cannot read fixture: {e}"))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(|e| format!("cannot read fixture: {e}"))?;
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot copy fixture: {e}"))?;
        }
        std::fs::copy(entry.path(), &target).map_err(|e| format!("cannot copy fixture: {e}"))?;
    }
    Ok(())
}

/// Writes a case's snapshot into `dir`.
fn materialize(case: &Case, base: &Path, dir: &Path) -> Result<(), String> {
    if let Some(fixture) = &case.fixture {
        copy_tree(&base.join(fixture), dir)?;
    }
    let mut written: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (rel, value) in &case.files {
        let bytes = match value {
            serde_json::Value::String(raw) => raw.clone().into_bytes(),
            other => cli_json(other),
        };
        written.insert(rel.clone(), bytes);
    }
    if let Some(csv) = &case.credential_report {
        let mut report = serde_json::Map::new();
        report.insert(
            "Content".into(),
            base64::engine::general_purpose::STANDARD
                .encode(csv.as_bytes())
                .into(),
        );
        report.insert("ReportFormat".into(), "text/csv".into());
        if let Some(t) = case.captured_at.as_ref().or(case.as_of.as_ref()) {
            report.insert("GeneratedTime".into(), t.clone().into());
        }
        written.insert(
            credential_report::PATH.to_owned(),
            cli_json(&serde_json::Value::Object(report)),
        );
    }
    for (rel, bytes) in &written {
        write(dir, rel, bytes)?;
    }

    let manifest_path = dir.join(MANIFEST);
    let mut manifest = if manifest_path.is_file() {
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| format!("cannot read the fixture's manifest: {e}"))?;
        serde_json::from_str::<Manifest>(&text)
            .map_err(|e| format!("the fixture's manifest is not valid: {e}"))?
    } else if !case.errors.is_empty()
        || case.captured_at.is_some()
        || case.account_id.is_some()
        || case.regions.is_some()
    {
        let started_at = case.captured_at.clone().or(case.as_of.clone()).ok_or(
            "a case with `errors`, `account_id` or `regions` needs `captured_at` (the capture time)",
        )?;
        Manifest {
            schema_version: SCHEMA_VERSION,
            tool: None,
            account_id: String::new(),
            caller_arn: String::new(),
            partition: "aws".into(),
            regions: Vec::new(),
            started_at,
            finished_at: None,
            calls: Vec::new(),
        }
    } else {
        return Ok(());
    };
    if let Some(t) = &case.captured_at {
        manifest.started_at = t.clone();
    }
    if let Some(a) = &case.account_id {
        manifest.account_id = a.clone();
    }
    if let Some(r) = &case.regions {
        manifest.regions = r.clone();
    }
    let fresh = !manifest_path.is_file();
    let mut set_call =
        |rel: &str, status: CallStatus, sha: Option<String>, error: Option<CallError>| {
            let index = match manifest.calls.iter().position(|c| c.path == rel) {
                Some(i) => i,
                None => {
                    manifest.calls.push(new_call(rel));
                    manifest.calls.len() - 1
                }
            };
            let call = &mut manifest.calls[index];
            call.status = status;
            call.sha256 = sha;
            call.error = error;
        };
    if fresh {
        // A new manifest lists every file of the tree, as `collect` would.
        for entry in walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(dir) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            let bytes =
                std::fs::read(entry.path()).map_err(|e| format!("cannot read `{rel}`: {e}"))?;
            set_call(
                &rel,
                CallStatus::Ok,
                Some(crate::snapshot::manifest::sha256_hex(&bytes)),
                None,
            );
        }
    } else {
        for (rel, bytes) in &written {
            set_call(
                rel,
                CallStatus::Ok,
                Some(crate::snapshot::manifest::sha256_hex(bytes)),
                None,
            );
        }
    }
    for (rel, spec) in &case.errors {
        safe_rel(rel)?;
        let _ = std::fs::remove_file(dir.join(rel));
        set_call(
            rel,
            CallStatus::Error,
            None,
            Some(CallError {
                code: spec.code().to_owned(),
                message: spec.message().to_owned(),
            }),
        );
    }
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    std::fs::write(&manifest_path, text).map_err(|e| format!("cannot write the manifest: {e}"))
}

/// The manifest entry of a case's file: its call in the catalogue (service, operation,
/// region, the input its path names), as `collect` would record it.
fn new_call(rel: &str) -> Call {
    let catalogue = crate::snapshot::catalogue::catalogue();
    let (service, operation, region, parameters, redacted) = match catalogue.find(rel) {
        Some((call, place)) => {
            let mut input = call.input_json();
            input.extend(
                place
                    .values
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v))),
            );
            (
                call.service.clone(),
                call.operation.clone(),
                place.region,
                input,
                call.redact.clone(),
            )
        }
        // A file of the user's own: its first folder names the service.
        None => (
            rel.split('/').next().unwrap_or(rel).to_owned(),
            String::new(),
            None,
            serde_json::Map::new(),
            Vec::new(),
        ),
    };
    Call {
        path: rel.to_owned(),
        service,
        operation,
        region,
        parameters: serde_json::Value::Object(parameters),
        status: CallStatus::Ok,
        sha256: None,
        error: None,
        redacted,
    }
}

/// Human output: one line per case, what differs under a failed one, then a summary.
pub fn render_human(run: &TestRun, verbose: bool) -> String {
    let mut out = String::new();
    for file in &run.files {
        if file.cases.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}", safe::terminal(&file.file));
        for case in &file.cases {
            let tag = match case.status {
                Status::Ok => "ok",
                Status::Failed => "FAIL",
                Status::Error => "ERROR",
            };
            let _ = writeln!(out, "  {tag:<6} {}", safe::terminal(&case.name));
            if let Some(e) = &case.error {
                let _ = writeln!(out, "         {}", safe::terminal(e));
            }
            for rule in &case.rules {
                if rule.mismatches.is_empty() && !verbose {
                    continue;
                }
                for m in &rule.mismatches {
                    let _ = writeln!(out, "         {}: {}", rule.id, safe::terminal(m));
                }
                for d in &rule.details {
                    let _ = writeln!(out, "           got {}", safe::terminal(d));
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "{} cases: {} ok, {} failed, {} errors ({} test files)",
        run.count(|_| true),
        run.count(|s| matches!(s, Status::Ok)),
        run.count(|s| matches!(s, Status::Failed)),
        run.count(|s| matches!(s, Status::Error)),
        run.files.len()
            + run
                .diagnostics
                .iter()
                .filter(|p| matches!(p.kind, Kind::TestIo | Kind::TestInvalid))
                .count(),
    );
    if !run.untested.is_empty() {
        let _ = writeln!(out, "rules without cases: {}", run.untested.join(", "));
    }
    out
}

/// JSON output (documented in docs/rules.md).
pub fn render_json(run: &TestRun) -> Result<String, crate::report::RenderError> {
    let value = serde_json::json!({
        "schema_version": 2,
        "summary": {
            "cases": run.count(|_| true),
            "ok": run.count(|s| matches!(s, Status::Ok)),
            "failed": run.count(|s| matches!(s, Status::Failed)),
            "errors": run.count(|s| matches!(s, Status::Error)),
        },
        "files": run.files,
        "untested": run.untested,
        "diagnostics": run.diagnostics.iter().map(crate::report::json::diagnostic).collect::<Vec<_>>(),
    });
    crate::report::pretty_json("json", &value)
}
