//! Problems with input (snapshot files, rules, config) that do not stop the run: each one
//! is a miette diagnostic with its file and span, and is counted into the exit code.

use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

/// A file's text, shared by every label that points into it.
#[derive(Clone)]
pub struct SourceFile {
    /// The name shown to the user (the path as given on the command line, joined).
    pub name: String,
    pub text: Arc<str>,
    /// Byte offsets where lines start, built on the first `line_col` (so that locating
    /// many findings in one large file stays linear).
    lines: Arc<std::sync::OnceLock<Vec<usize>>>,
}

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
        }
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

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_boundary(&self.text, offset);
        let line = self.line_of(offset);
        let line_start = self.line_starts().get(line).copied().unwrap_or(0);
        let column = self.text[line_start..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// The span a label underlines: on a long line (minified JSON, a file that is one huge
    /// line) it is cut to a short stretch of that line, so that a diagnostic never prints
    /// megabytes.
    pub fn label_span(&self, offset: usize, len: usize) -> SourceSpan {
        let offset = floor_boundary(&self.text, offset);
        let line = self.line_of(offset);
        let (start, end) = (self.line_starts()[line], self.line_end(line));
        if end - start <= LONG_LINE {
            return (offset, len).into();
        }
        let stop = ceil_boundary(&self.text, (offset + len).min(end).min(offset + WINDOW));
        (offset, stop.max(offset) - offset).into()
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
/// file from the start for every label), and long lines are cut to a window.
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = &*self.text;
        let start = span.offset();
        let end = start + span.len();
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
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
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &text.as_bytes()[from..to],
            (from, to - from).into(),
            line,
            column,
            last - first + 1,
        )))
    }
}

/// 1-based line and 1-based character column of `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemSeverity {
    Warning,
    Error,
}

/// A located diagnostic about input.
#[derive(Debug, Clone)]
pub struct Problem {
    pub severity: ProblemSeverity,
    /// A stable code such as `snapshot::malformed-json` or `rule::runtime`.
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    pub source: Option<SourceFile>,
    /// Snapshot-relative or rule path the problem is about, for machine output.
    pub file: Option<String>,
    pub span: Option<(usize, usize)>,
    pub label: Option<String>,
}

impl Problem {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            severity: ProblemSeverity::Error,
            code,
            message: message.into(),
            help: None,
            source: None,
            file: None,
            span: None,
            label: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            severity: ProblemSeverity::Warning,
            ..Problem::error(code, message)
        }
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

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
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
