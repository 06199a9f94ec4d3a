//! Renderers of an audit run: human (miette), JSON, SARIF, CSV, JUnit, Markdown, OCSF, and the
//! compliance view of a framework (human, JSON, CSV, Markdown). Each
//! takes the [`Run`](crate::audit::Run) the pipeline produced and gives the document's text;
//! text that comes from input goes through [`safe`] on its way (docs/output.md, "Hostile
//! text").

pub mod compliance;
pub mod csv;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod ocsf;
pub mod org;
pub mod safe;
pub mod sarif;

/// Each finding's number among the findings of its rule on its resource (1, 2, …), in the
/// run's order: findings are sorted, so the n-th finding on one resource keeps its number,
/// and `rule|resource|n` identifies it across runs (SARIF fingerprints, OCSF uids).
pub fn occurrences(findings: &[crate::engine::Finding]) -> Vec<usize> {
    let mut seen: std::collections::BTreeMap<(&str, &str), usize> =
        std::collections::BTreeMap::new();
    findings
        .iter()
        .map(|f| {
            let n = seen
                .entry((f.rule.id.as_str(), f.resource.id.as_str()))
                .or_default();
            *n += 1;
            *n
        })
        .collect()
}

/// Where a finding's evidence is, as plain text (each format neutralises it its own way):
/// `file:line:column`, the credential report's row and cell, or the call that left no file.
pub fn evidence_text(f: &crate::engine::Finding) -> String {
    match (&f.location, &f.call) {
        (Some(l), _) => match &l.csv {
            Some(c) => format!(
                "{} (decoded credential report) line {}, user {}{}",
                l.file,
                c.line,
                c.user,
                c.column
                    .as_ref()
                    .map(|col| format!(", column {col}"))
                    .unwrap_or_default()
            ),
            None => format!("{}:{}:{}", l.file, l.line, l.column),
        },
        (None, Some(call)) => format!("{call} (no response file)"),
        (None, None) => "no location".into(),
    }
}

/// A document that could not be written (serialization failed): the run is not reported as
/// if it were empty.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write the {format} report: {message}")]
#[diagnostic(code(report::serialize))]
pub struct RenderError {
    pub format: &'static str,
    pub message: String,
}

impl RenderError {
    pub fn new(format: &'static str, e: impl std::fmt::Display) -> Self {
        RenderError {
            format,
            message: e.to_string(),
        }
    }
}

/// Pretty JSON with a final newline, or the error that stopped it.
pub fn pretty_json<T: serde::Serialize>(
    format: &'static str,
    value: &T,
) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| RenderError::new(format, e))?;
    text.push('\n');
    Ok(text)
}
