//! `--format json`: the complete, versioned machine output (schema in docs/output.md).

use serde::Serialize;

use super::{pretty_json, RenderError};
use crate::audit::Run;
use crate::diagnostic::{Problem, ProblemSeverity};
use crate::engine::Outcome;
use crate::engine::{CsvCell, Finding};
use crate::rules::context::Resource;
use crate::rules::Severity;
use crate::snapshot::TimeSource;

/// Bumped on any breaking change of the JSON output.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    tool: Tool,
    snapshot: SnapshotInfo<'a>,
    summary: Summary,
    rules: Vec<RuleOut<'a>>,
    findings: Vec<FindingOut<'a>>,
    diagnostics: Vec<DiagnosticOut>,
    /// `check --source`: what was scanned; `null` without it.
    sources: Option<SourcesOut<'a>>,
}

#[derive(Serialize)]
struct SourcesOut<'a> {
    roots: &'a [String],
    files_scanned: usize,
    bytes_scanned: u64,
    key_ids_found: usize,
    skipped: &'a [crate::scan::Skipped],
}

#[derive(Serialize)]
pub(crate) struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
pub(crate) struct SnapshotInfo<'a> {
    path: &'a str,
    account_id: &'a str,
    partition: &'a str,
    regions: &'a [String],
    captured_at: Option<&'a str>,
    evaluated_at: Option<String>,
    evaluated_at_source: TimeSource,
}

#[derive(Serialize)]
pub(crate) struct Summary {
    rules: std::collections::BTreeMap<&'static str, usize>,
    findings: std::collections::BTreeMap<Severity, usize>,
    total_findings: usize,
    open_findings: usize,
    waived: usize,
}

#[derive(Serialize)]
pub(crate) struct RuleOut<'a> {
    id: &'a str,
    title: &'a str,
    severity: Severity,
    cis: &'a [String],
    file: &'a str,
    result: &'static str,
    reason: Option<String>,
    findings: usize,
    /// What the rule could not see (schema 2).
    gaps: &'a [crate::rules::context::Gap],
}

#[derive(Serialize)]
pub(crate) struct FindingOut<'a> {
    rule_id: &'a str,
    title: &'a str,
    severity: Severity,
    resource: &'a Resource,
    message: &'a str,
    label: Option<&'a str>,
    /// The controls the rule said the finding is about; left out when it named none.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    controls: &'a [String],
    remediation: &'a str,
    cis: &'a [String],
    location: Option<LocationOut<'a>>,
    call: Option<&'a str>,
    waived: Option<&'a crate::engine::Waived>,
}

#[derive(Serialize)]
struct LocationOut<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    offset: usize,
    length: usize,
    pointer: Option<&'a str>,
    csv: Option<&'a CsvCell>,
}

#[derive(Serialize)]
pub(crate) struct DiagnosticOut {
    severity: ProblemSeverity,
    code: &'static str,
    message: String,
    help: Option<String>,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

pub(crate) fn diagnostic(p: &Problem) -> DiagnosticOut {
    let lc = p.line_col();
    DiagnosticOut {
        severity: p.severity(),
        code: p.code(),
        message: p.message.clone(),
        help: p.help.clone(),
        file: p.file.clone(),
        line: lc.map(|(l, _)| l),
        column: lc.map(|(_, c)| c),
    }
}

/// The rules' results, as the JSON outputs show them.
pub(crate) fn rules(run: &Run) -> Vec<RuleOut<'_>> {
    run.results
        .iter()
        .map(|r| RuleOut {
            id: &r.meta.id,
            title: &r.meta.title,
            severity: r.meta.severity,
            cis: &r.meta.cis,
            file: &r.file,
            result: r.outcome.name(),
            reason: match &r.outcome {
                Outcome::Skip(reason) => Some(reason.clone()),
                Outcome::Error(p) => Some(p.message.clone()),
                _ => None,
            },
            findings: r.findings.len(),
            gaps: &r.gaps,
        })
        .collect()
}

/// The run's counts: results per outcome, open findings per severity, waived ones.
pub(crate) fn summary(run: &Run) -> Summary {
    Summary {
        rules: run.outcomes(),
        findings: run.counts(),
        total_findings: run.findings.len(),
        open_findings: run.open_findings().count(),
        waived: run.findings.len() - run.open_findings().count(),
    }
}

pub(crate) fn tool() -> Tool {
    Tool {
        name: "snapaudit",
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// Serializes the run. Everything is sorted, so the same inputs give the same bytes.
pub fn render(run: &Run) -> Result<String, RenderError> {
    let findings = run.findings.iter().map(finding).collect();
    let diagnostics = run.diagnostics.iter().map(diagnostic).collect();
    let out = Output {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        snapshot: snapshot_info(run.snapshot()),
        summary: summary(run),
        rules: rules(run),
        findings,
        diagnostics,
        sources: run.sources().map(|scan| SourcesOut {
            roots: &scan.roots,
            files_scanned: scan.files_scanned,
            bytes_scanned: scan.bytes_scanned,
            key_ids_found: scan.hits.len(),
            skipped: &scan.skipped,
        }),
    };
    pretty_json("json", &out)
}

/// The document of an audit that could not run: the diagnostics that stopped it.
pub fn render_failure(diagnostics: &[Problem]) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Failed {
        schema_version: u32,
        tool: Tool,
        snapshot: Option<()>,
        diagnostics: Vec<DiagnosticOut>,
    }
    pretty_json(
        "json",
        &Failed {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "snapaudit",
                version: env!("CARGO_PKG_VERSION"),
            },
            snapshot: None,
            diagnostics: diagnostics.iter().map(diagnostic).collect(),
        },
    )
}

pub(crate) fn snapshot_info(snapshot: &crate::snapshot::Snapshot) -> SnapshotInfo<'_> {
    SnapshotInfo {
        path: &snapshot.display_dir,
        account_id: &snapshot.account_id,
        partition: &snapshot.partition,
        regions: &snapshot.regions,
        captured_at: snapshot.manifest.as_ref().map(|m| m.started_at.as_str()),
        evaluated_at: snapshot.now.map(|t| crate::time::format_time(&t)),
        evaluated_at_source: snapshot.time_source,
    }
}

/// One finding as the JSON outputs show it.
pub(crate) fn finding(f: &Finding) -> FindingOut<'_> {
    FindingOut {
        rule_id: &f.rule.id,
        title: &f.rule.title,
        severity: f.severity,
        resource: &f.resource,
        message: &f.message,
        label: f.label.as_deref(),
        controls: &f.controls,
        remediation: &f.rule.remediation,
        cis: &f.rule.cis,
        location: f.location.as_ref().map(|l| LocationOut {
            file: &l.file,
            line: l.line,
            column: l.column,
            end_line: l.end_line,
            end_column: l.end_column,
            offset: l.offset,
            length: l.length,
            pointer: l.pointer.as_deref(),
            csv: l.csv.as_ref(),
        }),
        call: f.call.as_deref(),
        waived: f.waiver.as_ref(),
    }
}
