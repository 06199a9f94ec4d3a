//! Located findings: each raw finding of a rule with the place of its evidence in the
//! snapshot file (or the cell of the decoded credential report, or the scanned source file).

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostic::{Problem, SourceFile};
use crate::engine::RuleResult;
use crate::rules::context::{Evidence, Resource};
use crate::rules::{Inputs, RuleMeta, Severity};
use crate::snapshot::locate::{self, Span};
use crate::snapshot::path::{JsonPath, Step};
use crate::snapshot::Snapshot;

/// Where a finding's evidence is.
#[derive(Debug, Clone)]
pub struct Location {
    /// Snapshot-relative path of the file (`iam/get-credential-report.json` for report cells).
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub offset: usize,
    pub length: usize,
    /// JSON pointer of the value, for JSON evidence.
    pub pointer: Option<String>,
    /// The cell, for credential report evidence.
    pub csv: Option<CsvCell>,
    /// For a cell of the credential report: where the base64 `Content` string that holds
    /// the CSV is in the JSON file (the cell's own place is in the decoded CSV).
    pub content: Option<TextRegion>,
    /// The text the span points into (the file, or the decoded CSV).
    pub source: SourceFile,
}

/// A stretch of a file's text: 1-based lines, character columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRegion {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CsvCell {
    /// 1-based line of the decoded CSV (the header is line 1).
    pub line: usize,
    /// Column name, `None` when the whole row is the evidence.
    pub column: Option<String>,
    pub user: String,
}

/// A finding with its rule and location.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: Arc<RuleMeta>,
    pub severity: Severity,
    pub resource: Resource,
    pub message: String,
    pub label: Option<String>,
    /// The benchmark controls the finding is about (the report option `controls`); empty:
    /// every control that names the rule.
    pub controls: Vec<String>,
    pub location: Option<Location>,
    /// Snapshot-relative path of the call, when the evidence is a call with no file.
    pub call: Option<String>,
    /// The waiver that accepts this finding's risk, when one matches and has not expired.
    /// A waived finding is shown as waived and does not count toward the exit code.
    pub waiver: Option<Waived>,
}

/// An accepted risk, as a finding shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Waived {
    pub reason: String,
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub expires: String,
    /// The waivers file and the line of the waiver's `[[waiver]]` entry.
    pub file: String,
    pub line: usize,
}

/// The findings of `results` with their places in the files, sorted by rule, file and
/// position; each file with findings is read once. `keep_text`: keep each file's text for
/// showing snippets (the human format); without it, files are read one at a time for their
/// places and their text is let go at once.
/// A file that can no longer be read (removed or changed after loading) is a problem, and
/// its findings have no location.
pub fn locate_findings(
    inputs: &Inputs,
    results: &[RuleResult],
    keep_text: bool,
) -> (Vec<Finding>, Vec<Problem>) {
    let snapshot = &*inputs.snapshot;
    // Group JSON paths by file so that every file is read and parsed once.
    let mut wanted: BTreeMap<String, Vec<JsonPath>> = BTreeMap::new();
    let manifest_path = |i: usize| JsonPath::root().key("calls").index(i);
    for r in results {
        for f in &r.findings {
            match &f.evidence {
                Evidence::Json { file, path } => wanted
                    .entry(file.path.clone())
                    .or_default()
                    .push(path.clone()),
                Evidence::Call { file } => {
                    if let Some(i) = file.manifest_call {
                        wanted
                            .entry(crate::snapshot::load::MANIFEST.to_owned())
                            .or_default()
                            .push(manifest_path(i));
                    }
                }
                _ => {}
            }
        }
    }
    // Files in parallel, each read once; one tokenizer pass finds all its wanted paths.
    type Places = BTreeMap<String, Location>;
    let read: Vec<Result<(String, Places), Box<Problem>>> = wanted
        .into_par_iter()
        .map(|(rel, paths)| {
            let source = snapshot.source(&rel)?;
            let steps: Vec<Vec<Step>> = paths.iter().map(JsonPath::steps).collect();
            let found = locate::locate_all(&source.text, &steps);
            let kept = if keep_text {
                source.clone()
            } else {
                SourceFile::new(source.name.clone(), "")
            };
            let by_pointer = paths
                .iter()
                .zip(found)
                .filter_map(|(p, span)| {
                    let span: Span = span?;
                    let pointer = p.pointer();
                    let mut loc = location(&source, &rel, span.offset, span.len);
                    loc.source = kept.clone();
                    loc.pointer = Some(pointer.clone());
                    Some((pointer, loc))
                })
                .collect();
            Ok((rel, by_pointer))
        })
        .collect();
    let mut problems = Vec::new();
    let mut spans: BTreeMap<String, Places> = BTreeMap::new();
    for r in read {
        match r {
            Ok((rel, by_pointer)) => {
                spans.insert(rel, by_pointer);
            }
            Err(p) => problems.push(*p),
        }
    }

    // The credential report's `Content` in its JSON file, found once when first needed.
    let mut content_cache: Option<Option<TextRegion>> = None;
    let mut content = |problems: &mut Vec<Problem>| -> Option<TextRegion> {
        *content_cache.get_or_insert_with(|| match content_region(snapshot) {
            Ok(r) => r,
            Err(p) => {
                problems.push(*p);
                None
            }
        })
    };
    let mut findings = Vec::new();
    for r in results {
        for f in &r.findings {
            let mut call = None;
            let location = match &f.evidence {
                Evidence::None => None,
                Evidence::Json { file, path } => json_location(&spans, &file.path, &path.pointer()),
                Evidence::Call { file } => {
                    call = Some(file.path.clone());
                    file.manifest_call.and_then(|i| {
                        json_location(
                            &spans,
                            crate::snapshot::load::MANIFEST,
                            &manifest_path(i).pointer(),
                        )
                    })
                }
                Evidence::ReportRow { row } => {
                    cell_location(snapshot, *row, None, content(&mut problems))
                }
                Evidence::ReportCell { row, column } => {
                    cell_location(snapshot, *row, Some(*column), content(&mut problems))
                }
                Evidence::Source { hit, secret } => source_location(inputs, *hit, *secret),
            };
            findings.push(Finding {
                rule: r.meta.clone(),
                severity: f.severity,
                resource: f.resource.clone(),
                message: f.message.clone(),
                label: f.label.clone(),
                controls: f.controls.clone(),
                location,
                call,
                waiver: None,
            });
        }
    }
    findings.sort_by(|a, b| {
        a.rule
            .id
            .cmp(&b.rule.id)
            .then_with(|| loc_key(a).cmp(&loc_key(b)))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.message.cmp(&b.message))
    });
    (findings, problems)
}

fn loc_key(f: &Finding) -> (String, usize) {
    match &f.location {
        Some(l) => (l.file.clone(), l.offset),
        None => (f.call.clone().unwrap_or_default(), 0),
    }
}

fn json_location(
    spans: &BTreeMap<String, BTreeMap<String, Location>>,
    rel: &str,
    pointer: &str,
) -> Option<Location> {
    spans.get(rel)?.get(pointer).cloned()
}

fn cell_location(
    snapshot: &Snapshot,
    row: usize,
    column: Option<usize>,
    content: Option<TextRegion>,
) -> Option<Location> {
    let report = snapshot.credential_report.as_ref().ok()?;
    let r = report.rows.get(row)?;
    let (offset, len) = match column {
        Some(c) => *r.spans.get(c)?,
        None => {
            let start = r.spans.first()?.0;
            let end = r.spans.last().map(|(o, l)| o + l)?;
            (start, end - start)
        }
    };
    let mut loc = location(
        &report.source,
        crate::snapshot::credential_report::PATH,
        offset,
        len,
    );
    loc.content = content;
    loc.csv = Some(CsvCell {
        line: r.line,
        column: column.and_then(|c| report.header.get(c).cloned()),
        user: r.cells.first().cloned().unwrap_or_default(),
    });
    Some(loc)
}

/// A key (or its secret) in a scanned source file: the file as scanned, secrets masked.
fn source_location(inputs: &Inputs, hit: usize, secret: bool) -> Option<Location> {
    let scan = inputs.sources.as_ref()?;
    let h = scan.hits.get(hit)?;
    let span = if secret { h.secret? } else { h.at };
    let source = scan.masked_source(h.file)?;
    let mut loc = location(&source, &source.name, span.offset, span.len);
    loc.file = source.name.clone();
    Some(loc)
}

fn location(source: &SourceFile, rel: &str, offset: usize, length: usize) -> Location {
    let (line, column) = source.line_col(offset);
    let (end_line, end_column) = source.line_col(offset + length);
    Location {
        file: rel.to_owned(),
        line,
        column,
        end_line,
        end_column,
        offset,
        length,
        pointer: None,
        csv: None,
        content: None,
        source: source.clone(),
    }
}

/// Where the credential report's `Content` string is in its JSON file (read again once,
/// when a finding is on a cell of the report).
fn content_region(snapshot: &Snapshot) -> Result<Option<TextRegion>, Box<Problem>> {
    let rel = crate::snapshot::credential_report::PATH;
    let source = snapshot.source(rel)?;
    let steps = [Step::Key(Arc::from("Content"))];
    Ok(locate::locate(&source.text, &steps).map(|span| {
        let (line, column) = source.line_col(span.offset);
        let (end_line, end_column) = source.line_col(span.offset + span.len);
        TextRegion {
            line,
            column,
            end_line,
            end_column,
        }
    }))
}
