//! Diagnostics about input (snapshot files, rules, config, waivers, test cases, the command
//! line): each one is a [`Problem`] of a typed [`Kind`], from which its code, its severity
//! (and so the exit status) and its general help follow, located in a [`SourceFile`] when it
//! has a place. Every layer reports through these types; none classifies an error by text.

use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use crate::report::safe::{self, Snippet};

/// A file's text, shared by every label that points into it.
///
/// miette is handed the file as a [`Snippet`]: control characters in the file (or in its
/// name) are shown as `\u{…}`, never written raw. Offsets into [`SourceFile::text`] (kept
/// as read, for locating and for `line_col`) become offsets into the snippet in
/// [`SourceFile::label_span`], the one way spans are given to miette, and back in
/// [`SourceCode::read_span`]; a file without control characters is its own snippet.
#[derive(Clone)]
pub struct SourceFile {
    /// The name shown to the user (the path as given on the command line, joined).
    pub name: String,
    pub text: Arc<str>,
    /// Byte offsets where lines start, built on the first `line_col` (so that locating
    /// many findings in one large file stays linear).
    lines: Arc<std::sync::OnceLock<Vec<usize>>>,
    /// Every [`CHECKPOINT`] bytes: (byte offset, character column there), so that the
    /// column of a place on a long line is counted from a near checkpoint, not from the
    /// line's start (many findings on one minified line stay linear).
    columns: Arc<std::sync::OnceLock<Vec<(usize, usize)>>>,
    /// The text as miette shows it, built on the first label; `None` when it is the text.
    snippet: Arc<std::sync::OnceLock<Option<Snippet>>>,
}

/// Bytes between two column checkpoints.
const CHECKPOINT: usize = 1024;

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .finish()
    }
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let text = text.into();
        SourceFile {
            name,
            text,
            lines: Arc::new(std::sync::OnceLock::new()),
            columns: Arc::new(std::sync::OnceLock::new()),
            snippet: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// The text as miette shows it, when it differs from the text.
    fn snippet(&self) -> Option<&Snippet> {
        self.snippet
            .get_or_init(|| Snippet::of(&self.text))
            .as_ref()
    }

    /// Where byte `offset` of the text is in what miette is shown.
    fn shown_offset(&self, offset: usize) -> usize {
        self.snippet().map_or(offset, |s| s.shown_offset(offset))
    }

    /// Byte offsets where lines start.
    fn line_starts(&self) -> &[usize] {
        let text = &*self.text;
        self.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(
                    text.bytes()
                        .enumerate()
                        .filter(|(_, b)| *b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .collect()
        })
    }

    /// 0-based index of the line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts()
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// Where line `line` (0-based) ends, before its newline.
    fn line_end(&self, line: usize) -> usize {
        self.line_starts()
            .get(line + 1)
            .map(|next| next - 1)
            .unwrap_or(self.text.len())
    }

    /// Column checkpoints over the whole text (see `columns`).
    fn checkpoints(&self) -> &[(usize, usize)] {
        let text = &*self.text;
        self.columns.get_or_init(|| {
            let mut out = Vec::with_capacity(text.len() / CHECKPOINT + 1);
            let (mut next, mut column) = (CHECKPOINT, 0usize);
            for (i, c) in text.char_indices() {
                if i >= next {
                    out.push((i, column));
                    next = i + CHECKPOINT;
                }
                column = if c == '\n' { 0 } else { column + 1 };
            }
            out
        })
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_boundary(&self.text, offset);
        let line = self.line_of(offset);
        let line_start = self.line_starts().get(line).copied().unwrap_or(0);
        let (from, before) = if offset - line_start <= CHECKPOINT {
            (line_start, 0)
        } else {
            let marks = self.checkpoints();
            match marks.partition_point(|(at, _)| *at <= offset) {
                0 => (line_start, 0),
                i => match marks[i - 1] {
                    (at, col) if at >= line_start => (at, col),
                    _ => (line_start, 0),
                },
            }
        };
        let column = before + self.text[from..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// The span a label underlines, for miette: `len` bytes of the text from `offset`, as
    /// offsets into the text miette is shown (see [`SourceFile`]). On a long line (minified
    /// JSON, a file that is one huge line) it is cut to a short stretch of that line, so
    /// that a diagnostic never prints megabytes.
    pub fn label_span(&self, offset: usize, len: usize) -> SourceSpan {
        let offset = floor_boundary(&self.text, offset);
        let line = self.line_of(offset);
        let (start, end) = (self.line_starts()[line], self.line_end(line));
        let stop = if end - start <= LONG_LINE {
            offset.saturating_add(len)
        } else {
            ceil_boundary(
                &self.text,
                offset.saturating_add(len).min(end).min(offset + WINDOW),
            )
        };
        let stop = stop.max(offset);
        let shown = self.shown_offset(offset);
        // Past the end stays past the end by as much (miette says so).
        let shown_stop = if stop > self.text.len() {
            self.shown_offset(self.text.len()) + (stop - self.text.len())
        } else {
            self.shown_offset(stop)
        };
        (shown, shown_stop - shown).into()
    }
}

/// Lines longer than this (in bytes) are shown as a window around the span.
const LONG_LINE: usize = 1024;
/// How much of a long line is shown on each side of a span.
const WINDOW: usize = 160;

fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn ceil_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

/// miette reads the lines around a span through the line index (its own reader scans the
/// file from the start for every label), and long lines are cut to a window. The span is
/// in the shown text (see [`SourceFile::label_span`]); so are the lines returned, and the
/// file's name is neutralised too.
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = &*self.text;
        let snippet = self.snippet();
        let shown_text = snippet.map_or(text, |s| s.text.as_str());
        let shown_end = span.offset().saturating_add(span.len());
        if shown_end > shown_text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let (start, end) = match snippet {
            Some(s) => (
                s.original_offset(span.offset()),
                s.original_offset(shown_end),
            ),
            None => (span.offset(), shown_end),
        };
        let starts = self.line_starts();
        let first = self.line_of(start);
        let last = self.line_of(end.saturating_sub(1).max(start));
        let column_of = |offset: usize| {
            let offset = floor_boundary(text, offset);
            let line_start = starts[self.line_of(offset)];
            text[line_start..offset].chars().count()
        };
        let (from, to, line, column) = if before == 0 && after == 0 {
            (start, end, first, column_of(start))
        } else {
            let top = first.saturating_sub(before);
            let bottom = (last + after).min(starts.len() - 1);
            let long = (top..=bottom).any(|l| self.line_end(l) - starts[l] > LONG_LINE);
            if long {
                let from = floor_boundary(text, starts[first].max(start.saturating_sub(WINDOW)));
                let to = ceil_boundary(text, self.line_end(last).min(end.max(start) + WINDOW));
                (from, to, first, column_of(from))
            } else {
                let to = starts.get(bottom + 1).copied().unwrap_or(text.len());
                (starts[top], to, top, 0)
            }
        };
        let (from, to) = (self.shown_offset(from), self.shown_offset(to));
        Ok(Box::new(MietteSpanContents::new_named(
            safe::terminal(&self.name).into_owned(),
            &shown_text.as_bytes()[from..to],
            (from, to - from).into(),
            line,
            column,
            last - first + 1,
        )))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemSeverity {
    Warning,
    Error,
}

/// Declares the kinds of problem: each with its stable code, its severity and, where one
/// fits every problem of the kind, a general help line.
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident => $code:literal, $severity:ident, $help:expr;)*) => {
        /// What a problem is about. The code, the severity (and so the exit status) and the
        /// general help of a problem follow from its kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($(#[$doc])* $kind,)*
        }

        impl Kind {
            /// Every kind, in declaration order (documented in docs/output.md).
            pub const ALL: &'static [Kind] = &[$(Kind::$kind,)*];

            /// The stable code shown to users, such as `snapshot::malformed-json`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Kind::$kind => $code,)*
                }
            }

            pub fn severity(self) -> ProblemSeverity {
                match self {
                    $(Kind::$kind => ProblemSeverity::$severity,)*
                }
            }

            /// Help that fits every problem of this kind, if any; a problem may say more.
            pub fn help(self) -> Option<&'static str> {
                match self {
                    $(Kind::$kind => $help,)*
                }
            }
        }
    };
}

kinds! {
    /// The snapshot directory does not exist.
    SnapshotNotFound => "snapshot::not-found", Error,
        Some("name a directory made by `snapaudit collect` or by hand with the aws CLI");
    SnapshotNotADirectory => "snapshot::not-a-directory", Error,
        Some("name a directory made by `snapaudit collect` or by hand with the aws CLI");
    SnapshotIo => "snapshot::io", Error, None;
    SnapshotManifest => "snapshot::manifest", Error, None;
    SnapshotMalformedJson => "snapshot::malformed-json", Error,
        Some("the file must be the aws CLI's `--output json` for this call; rules that read it report `error`");
    SnapshotDuplicateKey => "snapshot::duplicate-key", Error,
        Some("readers disagree on which of the two values counts, and the aws CLI never writes a name twice: the file was edited or not made by the CLI; rules that read it report `error`");
    SnapshotNotUtf8 => "snapshot::not-utf8", Error,
        Some("the aws CLI writes UTF-8 JSON; the file is damaged or not a response");
    SnapshotWrongShape => "snapshot::wrong-shape", Error,
        Some("the file was edited, or holds another call's output; rules that read it report `error`");
    SnapshotSha256Mismatch => "snapshot::sha256-mismatch", Error, None;
    /// A manifest entry of a collected file without its digest.
    SnapshotUnsigned => "snapshot::no-sha256", Error,
        Some("every file the manifest lists as collected carries its sha256; the manifest was edited: collect again");
    SnapshotMissingFile => "snapshot::missing-file", Error,
        Some("the snapshot is incomplete: collect it again or restore the file");
    SnapshotUnexpectedFile => "snapshot::unexpected-file", Warning, None;
    SnapshotUnlistedFile => "snapshot::unlisted-file", Warning,
        Some("it is audited as it is; if it was added by hand, check where it came from");
    SnapshotUnsafePath => "snapshot::unsafe-path", Error,
        Some("manifest paths are relative, with `/` and no `.`, `..` or empty parts; the manifest was edited or damaged");
    SnapshotSymlink => "snapshot::symlink", Warning, None;
    /// A file or folder name in the snapshot that is not UTF-8.
    SnapshotBadName => "snapshot::bad-name", Error, None;
    SnapshotFileTooLarge => "snapshot::file-too-large", Error,
        Some("if the file is a genuine response, raise `max_snapshot_file_mb` under [limits] in snapaudit.toml");
    SnapshotCredentialReport => "snapshot::credential-report", Error, None;
    SnapshotNoTime => "snapshot::no-time", Warning,
        Some("pass `--as-of DATE`, or include manifest.json or iam/get-credential-report.json");
    SnapshotTimeFromReport => "snapshot::time-from-report", Warning,
        Some("pass `--as-of DATE` to choose the evaluation time");
    /// The two snapshots of `diff` belong to different accounts.
    UsageDifferentAccounts => "usage::different-accounts", Error,
        Some("diff compares one account across time; pass --allow-different-accounts to compare two accounts anyway");

    /// No rule passed or failed: the audit decided nothing (an empty snapshot, no rules).
    AuditNothingDecided => "audit::nothing-decided", Error,
        Some("check that the snapshot holds the responses the rules read (docs/snapshot-format.md) and that rules were loaded (`snapaudit rules`)");

    /// An organisation record (organization.json, shards/I-of-N.json) that cannot be used.
    OrgRecord => "org::record", Error,
        Some("records are written by `snapaudit collect --org`; the format is in docs/organizations.md");
    /// Two records of one organisation directory that disagree.
    OrgConflict => "org::conflict", Error,
        Some("each account is recorded once, by one run of one organisation: remove the records of other runs");
    /// Shard records of a `--shard I/N` run without all N of them.
    OrgIncompleteShards => "org::incomplete-shards", Error,
        Some("run the missing shards (`snapaudit collect --org --shard I/N`) into the same directory");
    /// A member account that the collector could not snapshot.
    OrgNotCollected => "org::not-collected", Error,
        Some("the organisation's audit is incomplete: fix the access and collect the account again");
    /// A snapshot in an account's folder whose manifest names another account.
    OrgAccountMismatch => "org::account-mismatch", Error,
        Some("each account's snapshot is in the folder named by its account ID");
    /// An account folder that no record names.
    OrgUnrecordedAccount => "org::unrecorded-account", Warning,
        Some("it is audited, without a name or OU; the records may come from another run");
    /// A recorded, collected account without its folder.
    OrgMissingSnapshot => "org::missing-snapshot", Warning,
        Some("the account is not audited: restore its folder or collect it again");
    /// Something in the organisation directory that is neither a record nor an account.
    OrgStrayEntry => "org::stray-entry", Warning,
        Some("an organisation directory holds organization.json, shards/ and one folder per account, named by its 12-digit ID");

    /// An `s3://` argument that is not a bucket and key prefix.
    StoreLocation => "store::location", Error,
        Some("write S3 locations as s3://bucket/prefix (a bucket name, then a key prefix without empty, `.` or `..` parts)");
    /// An S3 prefix that could not be read (credentials, access, no snapshot there).
    StoreFetch => "store::fetch", Error,
        Some("check the credentials (AWS_PROFILE, environment, instance or task role), s3:ListBucket and s3:GetObject on the prefix, and the location");
    /// An object key under the prefix that is not a plain relative path (`../x`, `a//b`).
    StoreUnsafeKey => "store::unsafe-key", Error,
        Some("nothing was fetched or audited: snapshots hold plain relative keys, so someone else wrote into the prefix; remove the object or name another prefix");
    /// An `s3://` location given to a build without S3 support.
    StoreNoS3 => "store::no-s3", Error, None;

    RuleDirectory => "rule::directory", Error, None;
    RuleIo => "rule::io", Error, None;
    RuleMetadata => "rule::metadata", Error, None;
    RuleSyntax => "rule::syntax", Error, Some("fix the rule; the other rules still run");
    RuleDuplicateId => "rule::duplicate-id", Error,
        Some("rule ids must be unique across the policy directories; a rule with the id of a bundled rule replaces it");
    RuleRuntime => "rule::runtime", Error, Some("fix the rule; the other rules still ran");
    RuleData => "rule::data", Error,
        Some("the data this rule needs is not usable; see the snapshot's manifest");
    RuleLimit => "rule::limit", Error, None;
    RuleSandbox => "rule::sandbox", Error,
        Some("rules are self-contained: put shared logic in the rule file itself");

    /// A framework file (policies/frameworks/*.toml) that cannot be used.
    FrameworkInvalid => "framework::invalid", Error,
        Some("a framework file is TOML: id, title, and [[control]] entries with id, title, section, assessment (automated|manual), rules, review (docs/compliance.md)");
    /// A framework's control names a rule that is not loaded.
    FrameworkUnknownRule => "framework::unknown-rule", Warning,
        Some("the control shows as not checked; load the rule (--policies) or fix its id in the framework file");

    ConfigIo => "config::io", Error, None;
    ConfigInvalid => "config::invalid", Error, None;
    ConfigWrongType => "config::wrong-type", Error,
        Some("see docs/config.md for every setting and its type");
    ConfigUnknownSetting => "config::unknown-setting", Error, None;

    WaiverIo => "waiver::io", Error, None;
    WaiverInvalid => "waiver::invalid", Error, None;
    WaiverExpired => "waiver::expired", Warning, None;
    WaiverNoTime => "waiver::no-time", Warning, None;
    WaiverUnused => "waiver::unused", Warning, None;

    TestIo => "test::io", Error, None;
    TestInvalid => "test::invalid", Error, None;

    UsageAsOf => "usage::as-of", Error,
        Some("use RFC 3339 (2026-11-02T09:00:00Z) or a date (2026-11-02)");
    UsageOutput => "usage::output", Error, None;
    UsageCompliance => "usage::compliance", Error, None;
    /// `diff` of an organisation directory and a single snapshot.
    UsageMixedInputs => "usage::mixed-inputs", Error,
        Some("diff compares two organisation directories, or two snapshots of one account");
    UsageSource => "usage::source", Error,
        Some("name a directory of source code to search for the account's keys");
}

impl Kind {
    /// Whether the problem's `file` is a path inside the snapshot (else a rule file, a
    /// config or waivers file, a test file, or none).
    pub fn is_about_a_snapshot_file(self) -> bool {
        matches!(
            self,
            Kind::SnapshotIo
                | Kind::SnapshotManifest
                | Kind::SnapshotMalformedJson
                | Kind::SnapshotDuplicateKey
                | Kind::SnapshotNotUtf8
                | Kind::SnapshotWrongShape
                | Kind::SnapshotSha256Mismatch
                | Kind::SnapshotUnsigned
                | Kind::SnapshotMissingFile
                | Kind::SnapshotUnexpectedFile
                | Kind::SnapshotUnlistedFile
                | Kind::SnapshotUnsafePath
                | Kind::SnapshotSymlink
                | Kind::SnapshotBadName
                | Kind::SnapshotFileTooLarge
                | Kind::SnapshotCredentialReport
        )
    }
}

/// A located diagnostic about input.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: Kind,
    pub message: String,
    /// What to do about it: the problem's own help, else its kind's.
    pub help: Option<String>,
    pub source: Option<SourceFile>,
    /// Snapshot-relative or rule path the problem is about, for machine output.
    pub file: Option<String>,
    pub span: Option<(usize, usize)>,
    pub label: Option<String>,
}

impl Problem {
    /// A problem of `kind`, with the kind's severity, code and help.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            message: message.into(),
            help: kind.help().map(str::to_owned),
            source: None,
            file: None,
            span: None,
            label: None,
        }
    }

    /// The kind's stable code (`snapshot::malformed-json`, `rule::runtime`, …).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn severity(&self) -> ProblemSeverity {
        self.kind.severity()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == ProblemSeverity::Error
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn at(
        mut self,
        source: SourceFile,
        offset: usize,
        len: usize,
        label: impl Into<String>,
    ) -> Self {
        let end = (offset + len).min(source.text.len());
        let offset = offset.min(end);
        self.span = Some((offset, end - offset));
        self.source = Some(source);
        self.label = Some(label.into());
        self
    }

    /// 1-based line and column of the span's start, when located.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        match (&self.source, self.span) {
            (Some(src), Some((offset, _))) => Some(src.line_col(offset)),
            _ => None,
        }
    }
}

/// True when any of `problems` is an error (exit code 2).
pub fn any_error<'a>(problems: impl IntoIterator<Item = &'a Problem>) -> bool {
    problems.into_iter().any(Problem::is_error)
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity() {
            ProblemSeverity::Warning => miette::Severity::Warning,
            ProblemSeverity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, len) = self.span?;
        let span = match &self.source {
            Some(source) => source.label_span(offset, len),
            None => SourceSpan::from((offset, len)),
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            self.label.clone(),
            span,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns from the checkpoints agree with counting from the line's start, on long
    /// lines of multi-byte text and around line breaks.
    #[test]
    fn columns_on_long_lines_agree_with_counting() {
        let mut text = String::new();
        for i in 0..4000 {
            text.push_str(if i % 7 == 0 { "é€x" } else { "ab" });
            if i % 1500 == 0 {
                text.push('\n');
            }
        }
        let file = SourceFile::new("t", text.clone());
        let slow = |offset: usize| {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            (line, text[start..offset].chars().count() + 1)
        };
        for offset in (0..text.len())
            .filter(|o| text.is_char_boundary(*o))
            .step_by(97)
        {
            assert_eq!(file.line_col(offset), slow(offset), "at {offset}");
        }
    }
}
