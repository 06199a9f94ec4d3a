//! Reading a snapshot directory: every response file once, the manifest, the regions, the
//! evaluation time, and the decoded credential report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::credential_report::{self, CredentialReport};
use super::locate;
use super::manifest::{self, CallStatus, Manifest};
use super::path::Step;
use super::value::Value;
use super::{catalogue, parse, shape};
use crate::diagnostic::{Kind, Problem, SourceFile};
use crate::time::{format_time, parse_time};

pub const MANIFEST: &str = "manifest.json";

/// What snapaudit knows about one snapshot path.
#[derive(Debug, Clone, PartialEq)]
pub enum DocStatus {
    /// The file is there and parsed.
    Ok,
    /// The API answered that the thing does not exist (`NoSuchEntity`, …): data, not failure.
    Absent { code: String, message: String },
    /// The call failed (`AccessDenied`, throttling, …).
    Failed { code: String, message: String },
    /// The file is there but cannot be read as JSON (or is missing though listed).
    Malformed { message: String },
    /// Nothing was collected for this path.
    NotCollected,
}

impl DocStatus {
    pub fn name(&self) -> &'static str {
        match self {
            DocStatus::Ok => "ok",
            DocStatus::Absent { .. } => "absent",
            DocStatus::Failed { .. } => "error",
            DocStatus::Malformed { .. } => "malformed",
            DocStatus::NotCollected => "not_collected",
        }
    }

    pub fn error_code(&self) -> &str {
        match self {
            DocStatus::Absent { code, .. } | DocStatus::Failed { code, .. } => code,
            _ => "",
        }
    }
}

/// One snapshot path: its status and its parsed data.
#[derive(Debug)]
pub struct SnapFile {
    /// Snapshot-relative path with `/` separators.
    pub path: String,
    /// Index of this path's entry in the manifest's `calls`.
    pub manifest_call: Option<usize>,
    pub status: DocStatus,
    pub data: Option<Value>,
}

impl SnapFile {
    fn new(
        path: String,
        status: DocStatus,
        data: Option<Value>,
        manifest_call: Option<usize>,
    ) -> Self {
        SnapFile {
            path,
            manifest_call,
            status,
            data,
        }
    }
}

/// Where the evaluation time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    AsOf,
    Manifest,
    CredentialReport,
    Unknown,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `--as-of`: the evaluation time, overriding the capture time.
    pub as_of: Option<DateTime<Utc>>,
    /// Files larger than this are refused unread (`[limits] max_snapshot_file_mb`).
    pub max_file_bytes: u64,
}

/// The default of `[limits] max_snapshot_file_mb`, in bytes.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 512 << 20;

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            as_of: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// A loaded snapshot.
#[derive(Debug)]
pub struct Snapshot {
    /// The directory as the user named it (used in displayed paths).
    pub display_dir: String,
    pub dir: PathBuf,
    pub manifest: Option<Manifest>,
    files: BTreeMap<String, Arc<SnapFile>>,
    pub regions: Vec<String>,
    pub account_id: String,
    pub partition: String,
    pub now: Option<DateTime<Utc>>,
    pub time_source: TimeSource,
    /// The decoded credential report, or why it cannot be had.
    pub credential_report: Result<Arc<CredentialReport>, DocStatus>,
    /// Problems found while loading (malformed files, warnings).
    pub problems: Vec<Problem>,
}

struct RawFile {
    rel: String,
    bytes: Vec<u8>,
    /// The memory its values may take (`[limits] max_snapshot_file_mb`).
    max_bytes: u64,
}

/// What walking the directory gave: the regular files to read (snapshot-relative path and
/// full path), and the files refused unread (with why).
struct Tree {
    files: Vec<(String, PathBuf)>,
    refused: Vec<(String, String)>,
}

impl Snapshot {
    /// Loads the snapshot at `dir`. Per-file problems are collected in `problems`; only a
    /// directory that cannot be read at all is an error.
    pub fn load(dir: &Path, options: &LoadOptions) -> Result<Snapshot, Box<Problem>> {
        let display_dir = super::origin::shown(dir);
        let meta = std::fs::metadata(dir).map_err(|_| {
            Problem::new(
                Kind::SnapshotNotFound,
                format!("snapshot directory `{display_dir}` does not exist"),
            )
        })?;
        if !meta.is_dir() {
            return Err(Box::new(Problem::new(
                Kind::SnapshotNotADirectory,
                format!("`{display_dir}` is not a directory"),
            )));
        }
        let mut problems = Vec::new();
        let Tree {
            files: raw,
            refused,
        } = read_tree(dir, &display_dir, options.max_file_bytes, &mut problems)?;
        let show = |rel: &str| join_display(&display_dir, rel);
        let (manifest, responses) = split_manifest(raw, &show, &mut problems);
        let mut files = read_responses(
            responses,
            manifest.as_ref(),
            options.max_file_bytes,
            &show,
            &mut problems,
        );
        let calls = call_indices(manifest.as_ref());
        for (rel, message) in refused {
            let call = calls.get(rel.as_str()).copied();
            let status = DocStatus::Malformed { message };
            files.insert(
                rel.clone(),
                Arc::new(SnapFile::new(rel, status, None, call)),
            );
        }
        if let Some(m) = &manifest {
            add_recorded_calls(m, &mut files, &show, &mut problems);
        }

        let regions = match &manifest {
            Some(m) if !m.regions.is_empty() => {
                let set: BTreeSet<String> = m.regions.iter().cloned().collect();
                set.into_iter().collect()
            }
            _ => regions_from_folders(files.keys()),
        };

        let (credential_report, mut report_problems) =
            decode_report(dir, &display_dir, files.get(credential_report::PATH));
        problems.append(&mut report_problems);

        let (now, time_source) = evaluation_time(
            options,
            manifest.as_ref(),
            &credential_report,
            &mut problems,
        );

        let account_id = manifest
            .as_ref()
            .map(|m| m.account_id.clone())
            .filter(|a| !a.is_empty())
            .or_else(|| account_from_identity(files.get("sts/get-caller-identity.json")))
            .unwrap_or_default();
        let partition = manifest
            .as_ref()
            .map(|m| m.partition.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "aws".into());

        Ok(Snapshot {
            display_dir,
            dir: dir.to_path_buf(),
            manifest,
            files,
            regions,
            account_id,
            partition,
            now,
            time_source,
            credential_report,
            problems,
        })
    }

    /// The file at `rel`, or a not-collected placeholder.
    pub fn file(&self, rel: &str) -> Arc<SnapFile> {
        match self.files.get(rel) {
            Some(f) => f.clone(),
            None => Arc::new(SnapFile::new(
                rel.to_owned(),
                DocStatus::NotCollected,
                None,
                None,
            )),
        }
    }

    /// Snapshot paths under `prefix` that have a response file or a manifest entry, sorted.
    pub fn paths_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.files
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.as_str())
    }

    pub fn files(&self) -> impl Iterator<Item = &Arc<SnapFile>> {
        self.files.values()
    }

    /// Drops the loaded responses, keeping the snapshot's description: where it is, its
    /// account, regions, times, problems and decoded credential report. Reading a response
    /// afterwards finds nothing; only a finished audit calls this.
    pub fn release_files(&mut self) {
        self.files = BTreeMap::new();
    }

    /// The path shown to users for a snapshot-relative path.
    pub fn display_path(&self, rel: &str) -> String {
        join_display(&self.display_dir, rel)
    }

    /// Reads a file's text again, for diagnostics (only files with findings are read twice).
    pub fn source(&self, rel: &str) -> Result<SourceFile, Box<Problem>> {
        let shown = self.display_path(rel);
        match std::fs::read_to_string(self.dir.join(rel)) {
            Ok(text) => Ok(SourceFile::new(shown, text)),
            Err(e) => Err(Box::new(Problem::new(
                Kind::SnapshotIo,
                format!("cannot read `{shown}` again to locate findings in it: {e}"),
            )
            .with_help("the snapshot changed while it was audited; its findings are shown without their place")
            .with_file(rel.to_owned()))),
        }
    }
}

/// The snapshot's files by path.
type Files = BTreeMap<String, Arc<SnapFile>>;

/// Each manifest call's index, by its path.
fn call_indices(manifest: Option<&Manifest>) -> HashMap<&str, usize> {
    manifest.map_or_else(HashMap::new, |m| {
        m.calls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.path.as_str(), i))
            .collect()
    })
}

/// The manifest (read first: it says how every call ended) and the response files beside
/// it.
fn split_manifest(
    raw: Vec<(String, PathBuf)>,
    show: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) -> (Option<Manifest>, Vec<(String, PathBuf)>) {
    let mut manifest = None;
    let mut responses = Vec::with_capacity(raw.len());
    for (rel, path) in raw {
        if rel == MANIFEST {
            match std::fs::read(&path) {
                Ok(bytes) => manifest = parse_manifest(&bytes, &show(MANIFEST), problems),
                Err(e) => problems.push(read_problem(&show(MANIFEST), MANIFEST, &e)),
            }
        } else if rel.ends_with(".json") {
            responses.push((rel, path));
        }
    }
    (manifest, responses)
}

/// Each response file read, checked against the manifest and parsed in one task, its bytes
/// dropped as soon as it is parsed: the whole snapshot's text is never in memory at once.
fn read_responses(
    responses: Vec<(String, PathBuf)>,
    manifest: Option<&Manifest>,
    max_bytes: u64,
    show: &(dyn Fn(&str) -> String + Sync),
    problems: &mut Vec<Problem>,
) -> Files {
    let calls = call_indices(manifest);
    let parsed: Vec<(SnapFile, Vec<Problem>)> = responses
        .into_par_iter()
        .map(|(rel, path)| {
            let call = calls.get(rel.as_str()).copied();
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    let problem = read_problem(&show(&rel), &rel, &e);
                    let status = DocStatus::Malformed {
                        message: format!("cannot be read: {e}"),
                    };
                    return (SnapFile::new(rel, status, None, call), vec![problem]);
                }
            };
            let entry = call.and_then(|i| manifest.map(|m| &m.calls[i]));
            let expected_sha = entry.and_then(|c| c.sha256.as_deref());
            let unsigned = entry.is_some_and(|c| c.status == CallStatus::Ok && c.sha256.is_none());
            let (file, mut problems) =
                parse_response(RawFile { rel, bytes, max_bytes }, call, expected_sha, show);
            if unsigned {
                problems.push(
                    Problem::new(
                        Kind::SnapshotUnsigned,
                        format!(
                            "the manifest lists `{}` without its sha256: an edit of the file could not be told",
                            show(&file.path)
                        ),
                    )
                    .with_file(MANIFEST),
                );
            }
            (file, problems)
        })
        .collect();
    let mut files = BTreeMap::new();
    for (file, mut found) in parsed {
        problems.append(&mut found);
        if manifest.is_some() && file.manifest_call.is_none() {
            problems.push(
                Problem::new(
                    Kind::SnapshotUnlistedFile,
                    format!(
                        "`{}` is not in the manifest: it was not part of the capture",
                        show(&file.path)
                    ),
                )
                .with_file(file.path.clone()),
            );
        }
        files.insert(file.path.clone(), Arc::new(file));
    }
    files
}

/// The calls the manifest records that have no file: failures, absences, or lost files.
fn add_recorded_calls(
    m: &Manifest,
    files: &mut Files,
    show: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) {
    for (i, call) in m.calls.iter().enumerate() {
        let rel = call.path.clone();
        if !is_safe_path(&rel) {
            problems.push(
                Problem::new(Kind::SnapshotUnsafePath,
                    format!("the manifest lists `{rel}`, which is not a path inside the snapshot; it is refused"),
                )
                .with_file(MANIFEST),
            );
            continue;
        }
        let in_tree = files.contains_key(&rel);
        match call.status {
            CallStatus::Error => {
                let (code, message) = call
                    .error
                    .as_ref()
                    .map(|e| (e.code.clone(), e.message.clone()))
                    .unwrap_or_else(|| ("Unknown".into(), String::new()));
                if in_tree {
                    problems.push(
                        Problem::new(Kind::SnapshotUnexpectedFile,
                            format!("`{}` exists but the manifest records its call as failed ({code}); the file is ignored", show(&rel)),
                        )
                        .with_file(rel.clone()),
                    );
                }
                let status = if catalogue::catalogue().is_absent(&rel, &code) {
                    DocStatus::Absent { code, message }
                } else {
                    DocStatus::Failed { code, message }
                };
                files.insert(
                    rel.clone(),
                    Arc::new(SnapFile::new(rel, status, None, Some(i))),
                );
            }
            CallStatus::Ok if !in_tree => {
                problems.push(
                    Problem::new(
                        Kind::SnapshotMissingFile,
                        format!(
                            "the manifest lists `{}` but the file is missing",
                            show(&rel)
                        ),
                    )
                    .with_file(rel.clone()),
                );
                let status = DocStatus::Malformed {
                    message: "listed in the manifest but missing".into(),
                };
                files.insert(
                    rel.clone(),
                    Arc::new(SnapFile::new(rel, status, None, Some(i))),
                );
            }
            CallStatus::Ok => {}
        }
    }
}

fn join_display(dir: &str, rel: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{rel}")
    } else {
        format!("{dir}/{rel}")
    }
}

/// Whether a manifest path names a place inside the snapshot: relative, `/`-separated, no
/// empty, `.` or `..` parts, no backslash or NUL.
pub fn is_safe_path(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains(['\\', '\0'])
        && rel
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

fn read_tree(
    dir: &Path,
    display_dir: &str,
    max_bytes: u64,
    problems: &mut Vec<Problem>,
) -> Result<Tree, Box<Problem>> {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                if e.depth() == 0 {
                    return Err(Box::new(Problem::new(
                        Kind::SnapshotIo,
                        format!("cannot read snapshot directory `{display_dir}`: {e}"),
                    )));
                }
                problems.push(Problem::new(
                    Kind::SnapshotIo,
                    format!("cannot read part of the snapshot: {e}"),
                ));
                continue;
            }
        };
        let Ok(under) = entry.path().strip_prefix(dir) else {
            continue;
        };
        // A name that is not UTF-8 cannot be a snapshot path (and two of them could read
        // as one): it is refused, with the folder below it.
        let parts: Option<Vec<&str>> = under.components().map(|c| c.as_os_str().to_str()).collect();
        let Some(parts) = parts else {
            problems.push(
                Problem::new(
                    Kind::SnapshotBadName,
                    format!(
                        "`{}` is not a UTF-8 name; it is not read",
                        join_display(display_dir, &under.to_string_lossy())
                    ),
                )
                .with_help("snapshot paths are UTF-8 (the aws CLI's names, the manifest's paths): rename or remove the file"),
            );
            continue;
        };
        let rel = parts.join("/");
        if entry.file_type().is_symlink() {
            problems.push(
                Problem::new(
                    Kind::SnapshotSymlink,
                    format!(
                        "`{}` is a symbolic link; snapaudit does not follow links in a snapshot",
                        join_display(display_dir, &rel)
                    ),
                )
                .with_file(rel),
            );
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if size > max_bytes && rel.ends_with(".json") {
            problems.push(
                Problem::new(Kind::SnapshotFileTooLarge,
                    format!(
                        "`{}` is {} MiB, more than the {} MiB a snapshot file may have; it was not read",
                        join_display(display_dir, &rel),
                        size >> 20,
                        max_bytes >> 20
                    ),
                )
                .with_file(rel.clone()),
            );
            refused.push((
                rel,
                format!("not read: larger than {} MiB", max_bytes >> 20),
            ));
            continue;
        }
        out.push((rel, entry.path().to_path_buf()));
    }
    Ok(Tree {
        files: out,
        refused,
    })
}

fn read_problem(shown: &str, rel: &str, e: &std::io::Error) -> Problem {
    Problem::new(Kind::SnapshotIo, format!("cannot read `{shown}`: {e}")).with_file(rel.to_owned())
}

fn parse_manifest(bytes: &[u8], shown: &str, problems: &mut Vec<Problem>) -> Option<Manifest> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            problems.push(
                Problem::new(
                    Kind::SnapshotManifest,
                    format!("`{shown}` is not UTF-8 (byte {})", e.valid_up_to()),
                )
                .with_file(MANIFEST),
            );
            return None;
        }
    };
    match serde_json::from_str::<Manifest>(text) {
        Ok(m) if m.schema_version > manifest::SCHEMA_VERSION => {
            problems.push(
                Problem::new(
                    Kind::SnapshotManifest,
                    format!(
                        "manifest schema_version {} is newer than this snapaudit reads ({})",
                        m.schema_version,
                        manifest::SCHEMA_VERSION
                    ),
                )
                .with_help("upgrade snapaudit")
                .with_file(MANIFEST),
            );
            None
        }
        Ok(m) => Some(m),
        Err(e) => {
            problems.push(
                json_problem(Kind::SnapshotManifest, shown, MANIFEST, text, &e)
                    .with_help("the manifest cannot be read; the files are audited without it"),
            );
            None
        }
    }
}

/// A located problem at the place serde_json stopped reading `text`.
fn json_problem(kind: Kind, shown: &str, rel: &str, text: &str, e: &serde_json::Error) -> Problem {
    let source = SourceFile::new(shown, text);
    let offset = miette::SourceOffset::from_location(text, e.line(), e.column()).offset();
    let msg = e.to_string();
    let short = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    Problem::new(kind, format!("`{shown}` is not valid JSON: {short}"))
        .with_file(rel.to_owned())
        .at(source, offset, 0, short)
}

fn parse_response(
    file: RawFile,
    call: Option<usize>,
    expected_sha: Option<&str>,
    show: &dyn Fn(&str) -> String,
) -> (SnapFile, Vec<Problem>) {
    let mut problems = Vec::new();
    let shown = show(&file.rel);
    if let Some(expected) = expected_sha {
        let actual = manifest::sha256_hex(&file.bytes);
        if !actual.eq_ignore_ascii_case(expected) {
            problems.push(
                Problem::new(Kind::SnapshotSha256Mismatch,
                    format!("`{shown}` was changed after capture: its sha256 does not match the manifest (tampering or damage)"),
                )
                .with_help(format!("the findings on this file are not evidence of what the API said; collect again, or restore the file\nmanifest: {expected}\nfile:     {actual}"))
                .with_file(file.rel.clone()),
            );
        }
    }
    let text = match String::from_utf8(file.bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let problem = Problem::new(
                Kind::SnapshotNotUtf8,
                format!("`{shown}` is not UTF-8 text"),
            )
            .with_file(file.rel.clone())
            .at(SourceFile::new(shown.clone(), lossy), at, 1, "invalid byte");
            problems.push(problem);
            let status = DocStatus::Malformed {
                message: "not UTF-8".into(),
            };
            return (SnapFile::new(file.rel, status, None, call), problems);
        }
    };
    match parse::parse_within(&text, file.max_bytes) {
        Ok(v) => {
            if let Some(wrong) = shape::check(&file.rel, &v) {
                let span = locate::locate(&text, &wrong.path.steps());
                let (offset, len) = span.map(|s| (s.offset, s.len)).unwrap_or((0, 0));
                let mut problem = Problem::new(
                    Kind::SnapshotWrongShape,
                    format!(
                        "`{shown}` is not the aws CLI's response for this call: {}",
                        wrong.message
                    ),
                )
                .with_file(file.rel.clone());
                if span.is_some() {
                    problem = problem.at(SourceFile::new(shown.clone(), text), offset, len, "here");
                }
                problems.push(problem);
                let status = DocStatus::Malformed {
                    message: format!("wrong shape: {}", wrong.message),
                };
                return (SnapFile::new(file.rel, status, None, call), problems);
            }
            (
                SnapFile::new(file.rel, DocStatus::Ok, Some(v), call),
                problems,
            )
        }
        Err(e) => {
            let (kind, status) = match &e {
                parse::ParseError::DuplicateKey { name, .. } => (
                    Kind::SnapshotDuplicateKey,
                    format!("duplicate key `{name}` in one object"),
                ),
                parse::ParseError::Syntax(_) => {
                    (Kind::SnapshotMalformedJson, format!("not valid JSON: {e}"))
                }
                parse::ParseError::TooLarge { limit, .. } => (
                    Kind::SnapshotFileTooLarge,
                    format!("its values take more than {} MiB of memory", limit >> 20),
                ),
            };
            let mut problem = json_problem(kind, &shown, &file.rel, &text, e.json_error());
            match &e {
                parse::ParseError::DuplicateKey { .. } => {
                    problem = problem.with_message(format!("`{shown}` has {}", e.message()));
                }
                parse::ParseError::TooLarge { limit, .. } => {
                    problem = problem.with_message(format!(
                        "`{shown}` holds more values than {} MiB of memory; it was not loaded",
                        limit >> 20
                    ));
                }
                parse::ParseError::Syntax(_) => {}
            }
            problems.push(problem);
            let status = DocStatus::Malformed { message: status };
            (SnapFile::new(file.rel, status, None, call), problems)
        }
    }
}

/// Regions of a hand-made snapshot: the region folders of the catalogue's regional calls.
/// Calls made in one fixed region (billing alarms in us-east-1) do not make it a region of
/// the snapshot.
fn regions_from_folders<'a>(paths: impl Iterator<Item = &'a String>) -> Vec<String> {
    let catalogue = catalogue::catalogue();
    let mut set = BTreeSet::new();
    for p in paths {
        if let Some((call, found)) = catalogue.find(p) {
            if let (catalogue::Scope::Regional, Some(region)) = (&call.scope, found.region) {
                set.insert(region);
            }
        }
    }
    set.into_iter().collect()
}

fn account_from_identity(file: Option<&Arc<SnapFile>>) -> Option<String> {
    let data = file?.data.as_ref()?;
    data.get("Account")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn decode_report(
    dir: &Path,
    display_dir: &str,
    file: Option<&Arc<SnapFile>>,
) -> (Result<Arc<CredentialReport>, DocStatus>, Vec<Problem>) {
    let Some(file) = file else {
        return (Err(DocStatus::NotCollected), Vec::new());
    };
    let Some(data) = &file.data else {
        return (Err(file.status.clone()), Vec::new());
    };
    let content = data.get("Content").and_then(Value::as_str);
    let generated = data.get("GeneratedTime").and_then(Value::as_str);
    let shown = join_display(display_dir, credential_report::PATH);
    // The file's text is read again only to locate an error.
    let at = || {
        let text = std::fs::read_to_string(dir.join(credential_report::PATH)).ok()?;
        let span = locate::locate(&text, &[Step::Key(Arc::from("Content"))])?;
        Some((SourceFile::new(shown.clone(), text), span.offset, span.len))
    };
    match credential_report::decode(content, generated, &shown, at) {
        Ok(report) => (Ok(Arc::new(report)), Vec::new()),
        Err(e) => {
            let status = DocStatus::Malformed {
                message: e.0.message.clone(),
            };
            (Err(status), vec![e.0.with_file(credential_report::PATH)])
        }
    }
}

fn evaluation_time(
    options: &LoadOptions,
    manifest: Option<&Manifest>,
    report: &Result<Arc<CredentialReport>, DocStatus>,
    problems: &mut Vec<Problem>,
) -> (Option<DateTime<Utc>>, TimeSource) {
    if let Some(t) = options.as_of {
        return (Some(t), TimeSource::AsOf);
    }
    if let Some(m) = manifest {
        if let Some(t) = parse_time(&m.started_at) {
            return (Some(t), TimeSource::Manifest);
        }
        problems.push(
            Problem::new(
                Kind::SnapshotManifest,
                format!(
                    "manifest `started_at` is not an RFC 3339 time: `{}`",
                    m.started_at
                ),
            )
            .with_file(MANIFEST),
        );
    }
    if let Ok(r) = report {
        if let Some(t) = r.generated_time.as_deref().and_then(parse_time) {
            problems.push(
                Problem::new(Kind::SnapshotTimeFromReport,
                    format!("no manifest capture time: ages are judged at the credential report's GeneratedTime, {}", format_time(&t)),
                ),
            );
            return (Some(t), TimeSource::CredentialReport);
        }
    }
    problems.push(Problem::new(
        Kind::SnapshotNoTime,
        "no capture time: rules that judge ages will report `error`",
    ));
    (None, TimeSource::Unknown)
}

/// A snapshot path with no data, for reporting why it has none.
pub fn placeholder(path: &str, status: DocStatus) -> SnapFile {
    SnapFile::new(path.to_owned(), status, None, None)
}
