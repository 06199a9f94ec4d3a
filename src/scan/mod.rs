//! Source trees → access key IDs found in them (`check --source DIR`, docs/sources.md).
//!
//! The checklist: list the account's access key IDs and look for them in your code. The
//! scan walks each tree (honouring `.gitignore` unless told not to, following no symlink),
//! skips binary and oversized files (and says so), and finds access key IDs as whole
//! tokens, with any 40-character secret-looking string on the same or the next line.
//! Rules match the IDs against the snapshot's keys (`snapshot.source_hits()`). A secret is
//! never shown: every text handed to a report has it replaced by `*`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::diagnostic::SourceFile;

/// Prefixes of access key IDs (AWS IAM identifiers): long-term keys, temporary (STS)
/// keys, service bearer tokens and context-specific credentials.
pub const KEY_PREFIXES: [&str; 4] = ["AKIA", "ASIA", "ABIA", "ACCA"];

/// Files larger than this are skipped (and reported) unless `--max-file-size` says otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Options {
    /// Scan files that .gitignore, .ignore and .git/info/exclude leave out.
    pub no_ignore: bool,
    pub max_file_size: u64,
    /// Show files by their path under their root (`config/app.yaml`) instead of with the
    /// root in front (rule test cases scan a temporary directory).
    pub relative_paths: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            no_ignore: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            relative_paths: false,
        }
    }
}

/// A span in a scanned file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    pub line: usize,
    pub column: usize,
}

/// One access key ID found in a file.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Index into [`SourceScan::files`].
    pub file: usize,
    pub key_id: String,
    pub at: Span,
    /// A documented example key (`AKIAIOSFODNN7EXAMPLE` and kin): never a finding.
    pub example: bool,
    /// A 40-character secret-looking string on the same or the next line.
    pub secret: Option<Span>,
}

impl Hit {
    /// `access-key` (AKIA), `temporary-access-key` (ASIA), or the prefix's kind.
    pub fn kind(&self) -> &'static str {
        match &self.key_id[..4] {
            "AKIA" => "access-key",
            "ASIA" => "temporary-access-key",
            "ABIA" => "service-bearer-token",
            _ => "context-credential",
        }
    }
}

#[derive(Debug)]
pub struct ScannedFile {
    /// The path as shown: the root as the user named it, joined with the relative path.
    pub display: String,
    pub path: PathBuf,
    masked: OnceLock<Option<SourceFile>>,
}

/// A file that was not scanned, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Everything the scan found.
#[derive(Debug, Default)]
pub struct SourceScan {
    pub roots: Vec<String>,
    /// Files with hits (the others are only counted).
    pub files: Vec<ScannedFile>,
    pub hits: Vec<Hit>,
    pub skipped: Vec<Skipped>,
    pub files_scanned: usize,
    pub bytes_scanned: u64,
}

fn key_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}").ok())
        .as_ref()
}

fn secret_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[A-Za-z0-9/+]{40}").ok())
        .as_ref()
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The documented example credentials of the AWS docs.
pub fn is_example_key(id: &str) -> bool {
    id.ends_with("EXAMPLE")
}

fn is_example_secret(s: &[u8]) -> bool {
    s.windows(7).any(|w| w == b"EXAMPLE")
}

/// 1-based line and column (in characters) of `offset`.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

fn span(bytes: &[u8], offset: usize, len: usize) -> Span {
    let (line, column) = line_col(bytes, offset);
    Span {
        offset,
        len,
        line,
        column,
    }
}

/// The byte range of the line holding `offset` and of the line after it.
fn this_and_next_line(bytes: &[u8], offset: usize) -> (usize, usize) {
    let start = bytes[..offset]
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    let mut end = offset;
    let mut newlines = 0;
    while end < bytes.len() {
        if bytes[end] == b'\n' {
            newlines += 1;
            if newlines == 2 {
                break;
            }
        }
        end += 1;
    }
    (start, end)
}

/// Access key IDs (whole tokens) and their nearby secrets in one file's bytes.
pub fn find(bytes: &[u8]) -> Vec<(String, Span, Option<Span>)> {
    let mut out = Vec::new();
    let (Some(keys), Some(secrets)) = (key_regex(), secret_regex()) else {
        return out;
    };
    for m in keys.find_iter(bytes) {
        let (s, e) = (m.start(), m.end());
        if (s > 0 && is_word(bytes[s - 1])) || (e < bytes.len() && is_word(bytes[e])) {
            continue;
        }
        let id = String::from_utf8_lossy(m.as_bytes()).into_owned();
        let (ls, le) = this_and_next_line(bytes, s);
        let secret = secrets
            .find_iter(&bytes[ls..le])
            .map(|c| (ls + c.start(), ls + c.end()))
            .find(|&(cs, ce)| {
                let token = &bytes[cs..ce];
                let edge = |i: usize| {
                    bytes.get(i).is_some_and(|b| {
                        b.is_ascii_alphanumeric() || *b == b'/' || *b == b'+' || *b == b'='
                    })
                };
                !(edge(ce) || cs > 0 && edge(cs - 1))
                    && token.iter().any(u8::is_ascii_lowercase)
                    && token.iter().any(u8::is_ascii_uppercase)
                    && !is_example_secret(token)
            })
            .map(|(cs, ce)| span(bytes, cs, ce - cs));
        out.push((id, span(bytes, s, e - s), secret));
    }
    out
}

enum FileResult {
    Hits(Vec<(String, Span, Option<Span>)>, u64),
    Skipped(String),
}

fn scan_file(path: &Path, max: u64) -> FileResult {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return FileResult::Skipped(format!("unreadable: {e}")),
    };
    if meta.len() > max {
        return FileResult::Skipped(format!("larger than {max} bytes ({} bytes)", meta.len()));
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return FileResult::Skipped(format!("unreadable: {e}")),
    };
    // Binary, as git and ripgrep judge it: a NUL byte near the start.
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return FileResult::Skipped("binary".into());
    }
    FileResult::Hits(find(&bytes), bytes.len() as u64)
}

/// Walks and scans every root. Problems with single files are recorded as skipped; a root
/// that does not exist is skipped too (the caller reports it).
pub fn scan(roots: &[PathBuf], options: &Options) -> SourceScan {
    let mut out = SourceScan {
        roots: roots.iter().map(|r| r.display().to_string()).collect(),
        ..SourceScan::default()
    };
    // Walk and scan in the same parallel pass (the walker's threads read and search each
    // file as they find it); results are sorted by path afterwards, so the output does not
    // depend on the threads.
    let (found, results) = std::sync::mpsc::channel::<(PathBuf, String, FileResult)>();
    for root in roots {
        if !root.is_dir() {
            out.skipped.push(Skipped {
                path: root.display().to_string(),
                reason: "not a directory".into(),
            });
            continue;
        }
        let walker = ignore::WalkBuilder::new(root)
            .follow_links(false)
            .hidden(false)
            .git_ignore(!options.no_ignore)
            .git_global(false)
            .git_exclude(!options.no_ignore)
            .ignore(!options.no_ignore)
            .parents(!options.no_ignore)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build_parallel();
        let root_name = root.display().to_string();
        walker.run(|| {
            let found = found.clone();
            let max = options.max_file_size;
            let root_name = root_name.clone();
            let relative = options.relative_paths;
            Box::new(move |entry| {
                let result = match entry {
                    Ok(e) => {
                        let display = match e.path().strip_prefix(root) {
                            Ok(rel) if relative => rel.display().to_string(),
                            _ => e.path().display().to_string(),
                        };
                        match e.file_type() {
                            Some(t) if t.is_symlink() => Some((
                                e.into_path(),
                                display,
                                FileResult::Skipped("symbolic link (not followed)".into()),
                            )),
                            Some(t) if t.is_file() => {
                                let r = scan_file(e.path(), max);
                                Some((e.into_path(), display, r))
                            }
                            _ => None,
                        }
                    }
                    Err(err) => Some((
                        PathBuf::new(),
                        root_name.clone(),
                        FileResult::Skipped(format!("cannot walk: {err}")),
                    )),
                };
                if let Some(r) = result {
                    // The receiver lives until every walk has ended.
                    if found.send(r).is_err() {
                        return ignore::WalkState::Quit;
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    drop(found);
    let mut results: Vec<(PathBuf, String, FileResult)> = results.into_iter().collect();
    results.sort_by(|a, b| a.1.cmp(&b.1));
    for (path, display, result) in results {
        match result {
            FileResult::Skipped(reason) => out.skipped.push(Skipped {
                path: display,
                reason,
            }),
            FileResult::Hits(hits, bytes) => {
                out.files_scanned += 1;
                out.bytes_scanned += bytes;
                if hits.is_empty() {
                    continue;
                }
                let file = out.files.len();
                out.files.push(ScannedFile {
                    display,
                    path,
                    masked: OnceLock::new(),
                });
                for (key_id, at, secret) in hits {
                    out.hits.push(Hit {
                        file,
                        example: is_example_key(&key_id),
                        key_id,
                        at,
                        secret,
                    });
                }
            }
        }
    }
    out
}

impl SourceScan {
    /// The file's text for a report, with every secret near a key replaced by `*` of the
    /// same length (so spans stay right). `None` if the file cannot be read again.
    pub fn masked_source(&self, file: usize) -> Option<SourceFile> {
        let f = self.files.get(file)?;
        f.masked
            .get_or_init(|| {
                let mut bytes = std::fs::read(&f.path).ok()?;
                for h in self.hits.iter().filter(|h| h.file == file) {
                    if let Some(sp) = h.secret {
                        for b in bytes
                            .get_mut(sp.offset..sp.offset + sp.len)
                            .into_iter()
                            .flatten()
                        {
                            *b = b'*';
                        }
                    }
                }
                Some(SourceFile::new(
                    f.display.clone(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_tokens_only_and_secrets_nearby() {
        let text = b"id: AKIAABCDEFGHIJKLMNOP\nsecret: abcdEFGHijklMNOPqrstUVWXyz0123456789/+AB\nxAKIAABCDEFGHIJKLMNOP\nAKIAIOSFODNN7EXAMPLE\n";
        let hits = find(text);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].0, "AKIAABCDEFGHIJKLMNOP");
        assert_eq!((hits[0].1.line, hits[0].1.column), (1, 5));
        let s = hits[0].2.expect("a secret on the next line");
        assert_eq!((s.line, s.column, s.len), (2, 9, 40));
        assert_eq!(hits[1].0, "AKIAIOSFODNN7EXAMPLE");
        assert!(is_example_key(&hits[1].0));
        assert!(hits[1].2.is_none());
    }
}
