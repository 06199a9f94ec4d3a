//! Renderers of an audit run: human (miette), JSON, SARIF, CSV, JUnit, Markdown, OCSF. Each
//! takes the [`Run`](crate::audit::Run) the pipeline produced and gives the document's text;
//! text that comes from input goes through [`safe`] on its way (docs/output.md, "Hostile
//! text").

pub mod csv;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod ocsf;
pub mod safe;
pub mod sarif;

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
