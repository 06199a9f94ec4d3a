//! Source trees → access key IDs found in them (`check --source DIR`, docs/sources.md).
//!
//! The checklist: list the account's access key IDs and look for them in your code. The
//! scan walks each tree (honouring `.gitignore` unless told not to, following no symlink),
//! skips binary and oversized files (and says so), and finds access key IDs as whole
//! tokens, each with the nearest 40-character secret-looking string within two lines
//! before or after it. Rules match the IDs against the snapshot's keys
//! (`snapshot.source_hits()`). A secret is never shown: every text handed to a report has
//! every secret-looking string replaced by `*`, whether paired with a key or not.

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
    /// The nearest 40-character secret-looking string around the ID (see [`find`]).
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

/// Length of a secret access key.
const SECRET_LEN: usize = 40;

/// How far from a key ID its secret is looked for: the ID's line and this many lines
/// before and after it (not past a blank line)...
const SECRET_LINES: usize = 2;

/// ...and no further than this many bytes from the ID, so that a file that is one long
/// line costs the same per ID as any other.
const SECRET_BYTES: usize = 256;

fn is_secret_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

/// The secret-looking strings wholly inside `bytes[from..to]`, as (start, end): runs of
/// exactly 40 characters `A–Z a–z 0–9 / +` (not part of a longer run, not followed by `=`
/// base64 padding) with both upper- and lower-case letters (so a hex digest is not one).
/// Both the pairing with a key and the masking use this one definition.
fn secret_tokens(
    bytes: &[u8],
    from: usize,
    to: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let to = to.min(bytes.len());
    // Where the next run may start: `from`, or just after a byte that is not in one.
    let mut i = from.min(to);
    std::iter::from_fn(move || {
        while i + SECRET_LEN <= to {
            // A run of 40 that starts in `i..=last` holds `last`: when `last` is not in a
            // run, none does, and the search jumps past it.
            let last = i + SECRET_LEN - 1;
            if !is_secret_char(bytes[last]) {
                i = last + 1;
                continue;
            }
            let mut start = last;
            while start > i && is_secret_char(bytes[start - 1]) {
                start -= 1;
            }
            let mut end = last + 1;
            while end < to && is_secret_char(bytes[end]) {
                end += 1;
            }
            i = end;
            // The run must be whole in the file, not only in the window.
            let token = &bytes[start..end];
            if token.len() == SECRET_LEN
                && (start == 0 || !is_secret_char(bytes[start - 1]))
                && bytes
                    .get(end)
                    .is_none_or(|b| !is_secret_char(*b) && *b != b'=')
                && token.iter().any(u8::is_ascii_lowercase)
                && token.iter().any(u8::is_ascii_uppercase)
            {
                return Some((start, end));
            }
        }
        None
    })
}

/// A line holding nothing but blanks.
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// The bytes searched for the secret of the key ID at `start..end`: its line and up to
/// [`SECRET_LINES`] lines before and after it, stopping at a blank line, and never more
/// than [`SECRET_BYTES`] either side of the ID.
fn secret_window(bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
    let lo = start.saturating_sub(SECRET_BYTES);
    let hi = end.saturating_add(SECRET_BYTES).min(bytes.len());
    let line_start = |to: usize| {
        bytes[lo..to]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(lo, |p| lo + p + 1)
    };
    let line_end = |from: usize| {
        bytes[from..hi]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(hi, |p| from + p)
    };
    let mut from = line_start(start);
    for _ in 0..SECRET_LINES {
        // `from - 1` is the newline that ends the line before.
        if from <= lo {
            break;
        }
        let before = line_start(from - 1);
        if is_blank(&bytes[before..from - 1]) {
            break;
        }
        from = before;
    }
    let mut to = line_end(end);
    for _ in 0..SECRET_LINES {
        // `to` is the newline that ends the line.
        if to >= hi {
            break;
        }
        let after = line_end(to + 1);
        if is_blank(&bytes[to + 1..after]) {
            break;
        }
        to = after;
    }
    (from, to)
}

/// The secret of the key ID at `start..end`: of the secret-looking strings in its window,
/// the nearest: on the fewest lines away, after the ID rather than before at the same
/// distance, then the fewest bytes away.
fn nearest_secret(bytes: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let (from, to) = secret_window(bytes, start, end);
    let newlines = |a: usize, b: usize| bytes[a..b].iter().filter(|c| **c == b'\n').count();
    secret_tokens(bytes, from, to)
        .filter(|&(s, e)| (e <= start || s >= end) && !is_example_secret(&bytes[s..e]))
        .min_by_key(|&(s, e)| {
            if e <= start {
                (newlines(e, start), true, start - e)
            } else {
                (newlines(end, s), false, s - end)
            }
        })
}

/// Characters in `bytes` as the report's text counts them (`String::from_utf8_lossy`: each
/// invalid sequence is one character).
fn chars(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|c| c.valid().chars().count() + usize::from(!c.invalid().is_empty()))
        .sum()
}

/// 1-based line and column (in characters) of each offset of `sorted` (ascending), in one
/// pass over the bytes. Every offset is at an ASCII byte (the start of an ID or a secret),
/// where no multi-byte sequence can be cut, so the characters between two of them add up.
fn positions(bytes: &[u8], sorted: impl Iterator<Item = usize>) -> Vec<(usize, usize)> {
    let (mut at, mut line, mut column) = (0, 1, 1);
    sorted
        .map(|offset| {
            let offset = offset.max(at).min(bytes.len());
            let gap = &bytes[at..offset];
            match gap.iter().rposition(|b| *b == b'\n') {
                Some(last) => {
                    line += gap.iter().filter(|b| **b == b'\n').count();
                    column = 1 + chars(&gap[last + 1..]);
                }
                None => column += chars(gap),
            }
            at = offset;
            (line, column)
        })
        .collect()
}

/// Access key IDs (whole tokens) and their nearby secrets in one file's bytes. Linear in
/// the file's length: each ID costs a bounded window, and positions are counted in one pass.
pub fn find(bytes: &[u8]) -> Vec<(String, Span, Option<Span>)> {
    let Some(keys) = key_regex() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for m in keys.find_iter(bytes) {
        let (s, e) = (m.start(), m.end());
        if (s > 0 && is_word(bytes[s - 1])) || (e < bytes.len() && is_word(bytes[e])) {
            continue;
        }
        found.push(((s, e), nearest_secret(bytes, s, e)));
    }
    // Every ID (slot 2i) and secret (slot 2i + 1) located in one pass, in offset order.
    let mut wanted: Vec<(usize, usize)> = Vec::with_capacity(2 * found.len());
    for (i, (key, secret)) in found.iter().enumerate() {
        wanted.push((key.0, 2 * i));
        if let Some(secret) = secret {
            wanted.push((secret.0, 2 * i + 1));
        }
    }
    wanted.sort_unstable();
    let mut places = vec![(0, 0); 2 * found.len()];
    for (&(_, slot), place) in wanted
        .iter()
        .zip(positions(bytes, wanted.iter().map(|w| w.0)))
    {
        places[slot] = place;
    }
    let span = |(offset, end): (usize, usize), (line, column): (usize, usize)| Span {
        offset,
        len: end - offset,
        line,
        column,
    };
    found
        .into_iter()
        .enumerate()
        .map(|(i, (key, secret))| {
            (
                String::from_utf8_lossy(&bytes[key.0..key.1]).into_owned(),
                span(key, places[2 * i]),
                secret.map(|secret| span(secret, places[2 * i + 1])),
            )
        })
        .collect()
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
    /// The file's text for a report, with every secret-looking string (paired with a key or
    /// not) replaced by `*` of the same length, so spans stay right. `None` if the file
    /// cannot be read again.
    pub fn masked_source(&self, file: usize) -> Option<SourceFile> {
        let f = self.files.get(file)?;
        f.masked
            .get_or_init(|| {
                let mut bytes = std::fs::read(&f.path).ok()?;
                // Every secret-looking string of the file, paired with a key or not: a
                // snippet shows the lines around a finding, whatever they hold.
                let tokens: Vec<(usize, usize)> = secret_tokens(&bytes, 0, bytes.len()).collect();
                for (start, end) in tokens {
                    bytes[start..end].fill(b'*');
                }
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
        // Two lines below the secret, with no blank line between: paired with it too.
        assert_eq!(hits[1].2, Some(s));
    }

    const S1: &str = "abcdEFGHijklMNOPqrstUVWXyz0123456789/+AB";
    const S2: &str = "ZYXWvutsRQPOnmlkJIHGfedcBA9876543210+/zy";

    /// The secret paired with the one key ID of `text`, as (line, column).
    fn paired(text: &str) -> Option<(usize, usize)> {
        let hits = find(text.as_bytes());
        assert_eq!(hits.len(), 1, "{text}");
        hits[0].2.map(|s| (s.line, s.column))
    }

    #[test]
    fn the_secret_is_looked_for_both_ways_and_the_nearest_wins() {
        let key = "AKIAABCDEFGHIJKLMNOP";
        // Above, below, or two lines away; not three, nor past a blank line.
        assert_eq!(paired(&format!("S={S1}\nK={key}\n")), Some((1, 3)));
        assert_eq!(paired(&format!("K={key}\nS={S1}\n")), Some((2, 3)));
        assert_eq!(paired(&format!("S={S1}\nx\nK={key}\n")), Some((1, 3)));
        assert_eq!(paired(&format!("K={key}\nx\nS={S1}\n")), Some((3, 3)));
        assert_eq!(paired(&format!("S={S1}\nx\ny\nK={key}\n")), None);
        assert_eq!(paired(&format!("K={key}\nx\ny\nS={S1}\n")), None);
        assert_eq!(paired(&format!("S={S1}\n \t\r\nK={key}\n")), None);
        assert_eq!(paired(&format!("K={key}\n\nS={S1}\n")), None);
        // The ID's own line first; at as many lines away, after the ID (even further in
        // bytes) rather than before; then the fewest bytes.
        assert_eq!(paired(&format!("S={S1}\nK={key} {S2}\n")), Some((2, 24)));
        assert_eq!(paired(&format!("{S1}\nK={key}\n{S2}\n")), Some((3, 1)));
        assert_eq!(paired(&format!("{S1}\nx\nK={key}\n\n")), Some((1, 1)));
        assert_eq!(paired(&format!("{S1} {key} {S2}\n")), Some((1, 63)));
        assert_eq!(
            paired(&format!("{S1} {key} {}{S2}\n", " ".repeat(9))),
            Some((1, 72))
        );
        // No further than 256 bytes from the ID, even on its line.
        let far = |gap: usize| paired(&format!("{key}{}{S1}", " ".repeat(gap)));
        assert_eq!(far(216), Some((1, 237)));
        assert_eq!(far(217), None);
        let far = |gap: usize| paired(&format!("{S1}{}{key}", " ".repeat(gap)));
        assert_eq!(far(216), Some((1, 1)));
        assert_eq!(far(217), None);
    }

    #[test]
    fn what_looks_like_a_secret() {
        fn tokens(text: &str) -> Vec<String> {
            secret_tokens(text.as_bytes(), 0, text.len())
                .map(|(s, e)| text[s..e].to_owned())
                .collect()
        }
        // After `=`, `:`, a quote or a space; not followed by `=` padding or more characters.
        assert_eq!(tokens(&format!("K={S1}\n")), vec![S1]);
        assert_eq!(tokens(&format!("k: \"{S1}\", {S2}")), vec![S1, S2]);
        assert!(tokens(&format!("{S1}=")).is_empty());
        assert!(tokens(&format!("{S1}a {S1}/ +{S1}")).is_empty());
        // Both cases: not a hex digest, not an ID run.
        assert!(tokens("0123456789abcdef0123456789abcdef01234567").is_empty());
        assert!(tokens("AKIAABCDEFGHIJKLMNOPAKIAABCDEFGHIJKLMNOP").is_empty());
        // A run cut by the window is not one.
        let text = format!("xx{S1}");
        assert!(secret_tokens(text.as_bytes(), 1, text.len())
            .next()
            .is_none());
        assert_eq!(secret_tokens(text.as_bytes(), 2, text.len()).count(), 0);
        let text = format!(" {S1} ");
        assert_eq!(secret_tokens(text.as_bytes(), 1, 41).count(), 1);
        assert_eq!(secret_tokens(text.as_bytes(), 1, 40).count(), 0);
    }

    #[test]
    fn secret_tokens_are_every_whole_run_of_forty() {
        // Against the plain definition (every maximal run, then its length), on random
        // texts of runs around 40 long, searched whole and in windows.
        let reference = |bytes: &[u8], from: usize, to: usize| {
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if !is_secret_char(bytes[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && is_secret_char(bytes[i]) {
                    i += 1;
                }
                let token = &bytes[start..i];
                if start >= from
                    && i <= to
                    && token.len() == SECRET_LEN
                    && bytes.get(i) != Some(&b'=')
                    && token.iter().any(u8::is_ascii_lowercase)
                    && token.iter().any(u8::is_ascii_uppercase)
                {
                    out.push((start, i));
                }
            }
            out
        };
        let mut seed: u64 = 7;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % n) as usize
        };
        let alphabet = b"aZ9/+=\n -";
        let mut found = 0;
        for _ in 0..2000 {
            let mut text = Vec::new();
            while text.len() < 300 {
                let run = 30 + next(20);
                for _ in 0..run {
                    text.push(b"aZ9/+"[next(5)]);
                }
                for _ in 0..1 + next(2) {
                    text.push(alphabet[next(alphabet.len() as u64)]);
                }
            }
            let (from, to) = (next(100), 150 + next(200));
            let whole = reference(&text, 0, text.len());
            found += whole.len();
            assert_eq!(
                secret_tokens(&text, 0, text.len()).collect::<Vec<_>>(),
                whole,
                "{}",
                String::from_utf8_lossy(&text)
            );
            assert_eq!(
                secret_tokens(&text, from, to).collect::<Vec<_>>(),
                reference(&text, from, to.min(text.len())),
                "{from}..{to} of {}",
                String::from_utf8_lossy(&text)
            );
        }
        assert!(found > 100, "{found} tokens in all");
    }

    /// Line and column as they were computed before: from the start of the file.
    fn naive_line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
        let before = &bytes[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        (line, column)
    }

    #[test]
    fn columns_count_characters_as_the_report_does() {
        let mut text = Vec::new();
        text.extend_from_slice(format!("é€ AKIAABCDEFGHIJKLMNOP\r\n{S1}\n").as_bytes());
        text.extend_from_slice(b"\xff\xfe\xe2\x82 AKIAABCDEFGHIJKL0002 \xf0\x9f\x98\x80 ");
        text.extend_from_slice(format!("{S2}\n\n😀 ASIAABCDEFGHIJKL0003\n").as_bytes());
        let hits = find(&text);
        assert_eq!(hits.len(), 3);
        for (id, at, secret) in &hits {
            assert_eq!(
                (at.line, at.column),
                naive_line_col(&text, at.offset),
                "{id}"
            );
            if let Some(s) = secret {
                assert_eq!((s.line, s.column), naive_line_col(&text, s.offset), "{id}");
            }
        }
        let places: Vec<_> = hits
            .iter()
            .map(|h| ((h.1.line, h.1.column), h.2.map(|s| (s.line, s.column))))
            .collect();
        assert_eq!(
            places,
            vec![
                ((1, 4), Some((2, 1))),
                ((3, 5), Some((3, 28))),
                ((5, 3), None),
            ]
        );
    }

    #[test]
    fn a_one_megabyte_line_of_ids_is_found_whole() {
        let ids: Vec<String> = (0..1_000_000 / 21)
            .map(|i| format!("AKIA{i:016}"))
            .collect();
        let text = ids.join(",") + "\n";
        assert!(text.len() >= 999_999);
        let hits = find(text.as_bytes());
        assert_eq!(hits.len(), ids.len());
        for (i, (id, at, secret)) in hits.iter().enumerate() {
            assert_eq!(id, &ids[i]);
            assert_eq!((at.offset, at.line, at.column), (21 * i, 1, 21 * i + 1));
            assert!(secret.is_none());
        }
    }
}
