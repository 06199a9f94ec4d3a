//! Problems with input (snapshot files, rules, config) that do not stop the run: each one
//! is a miette diagnostic with its file and span, and is counted into the exit code.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

/// A file's text, shared by every label that points into it.
#[derive(Clone)]
pub struct SourceFile {
    /// The name shown to the user (the path as given on the command line, joined).
    pub name: String,
    pub text: Arc<str>,
    named: NamedSource<Arc<str>>,
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
        let named = NamedSource::new(&name, text.clone());
        SourceFile {
            name,
            text,
            named,
            lines: Arc::new(std::sync::OnceLock::new()),
        }
    }

    pub fn named_source(&self) -> &NamedSource<Arc<str>> {
        &self.named
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = &*self.text;
        let starts = self.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(
                    text.bytes()
                        .enumerate()
                        .filter(|(_, b)| *b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .collect()
        });
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = starts.partition_point(|&s| s <= offset);
        let line_start = starts.get(line.saturating_sub(1)).copied().unwrap_or(0);
        let column = text[line_start..offset].chars().count() + 1;
        (line, column)
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
        self.source
            .as_ref()
            .map(|s| s.named_source() as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, len) = self.span?;
        let span = SourceSpan::from((offset, len));
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            self.label.clone(),
            span,
        ))))
    }
}
