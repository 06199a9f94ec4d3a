//! `--format csv`: one row per finding for spreadsheets, then one row per gap of a rule
//! that could not see everything (`row` tells them apart), RFC 4180 quoting
//! (docs/output.md).
//! Every cell goes through [`safe::csv_cell`]: no formula, no control character.

use super::{safe, RenderError};
use crate::audit::Run;

pub const COLUMNS: [&str; 19] = [
    "rule_id",
    "severity",
    "title",
    "resource_id",
    "resource_name",
    "message",
    "file",
    "line",
    "column",
    "pointer",
    "report_user",
    "report_column",
    "cis",
    "remediation",
    "waived",
    "waiver_reason",
    "waiver_owner",
    "waiver_expires",
    "row",
];

/// Renders the findings as CSV with a header row.
pub fn render(run: &Run) -> Result<String, RenderError> {
    write(&COLUMNS, &rows(run))
}

/// The rows of a run, without the header: its findings, then its rules' gaps.
pub(crate) fn rows(run: &Run) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(run.findings.len());
    for f in &run.findings {
        let loc = f.location.as_ref();
        let csv_cell = loc.and_then(|l| l.csv.as_ref());
        rows.push(vec![
            f.rule.id.clone(),
            f.severity.to_string(),
            f.rule.title.clone(),
            f.resource.id.clone(),
            f.resource.name.clone(),
            f.message.clone(),
            loc.map(|l| l.file.clone())
                .or_else(|| f.call.clone())
                .unwrap_or_default(),
            loc.map(|l| l.line.to_string()).unwrap_or_default(),
            loc.map(|l| l.column.to_string()).unwrap_or_default(),
            loc.and_then(|l| l.pointer.clone()).unwrap_or_default(),
            csv_cell.map(|c| c.user.clone()).unwrap_or_default(),
            csv_cell.and_then(|c| c.column.clone()).unwrap_or_default(),
            f.rule.cis.join(" "),
            f.rule.remediation.clone(),
            f.waiver.is_some().to_string(),
            f.waiver
                .as_ref()
                .map(|w| w.reason.clone())
                .unwrap_or_default(),
            f.waiver
                .as_ref()
                .map(|w| w.owner.clone())
                .unwrap_or_default(),
            f.waiver
                .as_ref()
                .map(|w| w.expires.clone())
                .unwrap_or_default(),
            "finding".to_owned(),
        ]);
    }
    // What rules could not see: one row per gap, with the rule, the file and the reason.
    for r in &run.results {
        for g in &r.gaps {
            let mut row = vec![String::new(); COLUMNS.len()];
            row[0] = r.meta.id.clone();
            row[1] = r.meta.severity.to_string();
            row[2] = r.meta.title.clone();
            row[5] = g.reason.clone();
            row[6] = g.file.clone().unwrap_or_default();
            row[COLUMNS.len() - 1] = "gap".to_owned();
            rows.push(row);
        }
    }
    rows
}

/// A CSV document: the header, then the rows, every cell made safe.
pub(crate) fn write(header: &[&str], rows: &[Vec<String>]) -> Result<String, RenderError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let error = |e: &dyn std::fmt::Display| RenderError::new("csv", e);
    w.write_record(header).map_err(|e| error(&e))?;
    for row in rows {
        w.write_record(row.iter().map(|cell| safe::csv_cell(cell).into_owned()))
            .map_err(|e| error(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| error(&e))?;
    String::from_utf8(bytes).map_err(|e| error(&e))
}
