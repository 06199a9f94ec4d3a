//! Human output: each finding as a miette diagnostic over the snapshot file (or the decoded
//! credential report), then a summary by severity and result.

use std::fmt::{self, Write as _};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::audit::Run;
use crate::diagnostic::Problem;
use crate::engine::Finding;
use crate::engine::Outcome;
use crate::rules::Severity;

/// How to draw.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

pub fn handler(style: Style) -> GraphicalReportHandler {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
}

struct FindingDiagnostic<'a>(&'a Finding, &'a str);

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let finding = self.0;
        write!(
            f,
            "{}{} [{}] {}: {}",
            self.1, finding.rule.id, finding.severity, finding.resource.name, finding.message
        )
    }
}

/// One finding as a diagnostic; `prefix` starts its title (`NEW `, `RESOLVED `).
pub fn render_finding(handler: &GraphicalReportHandler, finding: &Finding, prefix: &str) -> String {
    render(handler, &FindingDiagnostic(finding, prefix))
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.0.severity {
            Severity::Critical | Severity::High => miette::Severity::Error,
            Severity::Medium | Severity::Low => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let r = &self.0.rule.remediation;
        (!r.is_empty()).then(|| Box::new(r.as_str()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0
            .location
            .as_ref()
            .map(|l| &l.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let loc = self.0.location.as_ref()?;
        let text = self
            .0
            .label
            .clone()
            .unwrap_or_else(|| self.0.severity.to_string());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(text),
            loc.source.label_span(loc.offset, loc.length),
        ))))
    }
}

/// Renders one diagnostic.
pub fn render(handler: &GraphicalReportHandler, diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    if handler.render_report(&mut out, diagnostic).is_err() {
        out = format!("{diagnostic}\n");
    }
    out
}

/// Renders problems (input and rule errors, warnings), for standard error: errors first,
/// each kind in the order given.
pub fn render_problems<'a>(
    style: Style,
    problems: impl IntoIterator<Item = &'a Problem>,
) -> String {
    let handler = handler(style);
    let mut shown: Vec<&Problem> = problems.into_iter().collect();
    shown.sort_by_key(|p| std::cmp::Reverse(p.is_error()));
    shown.iter().map(|p| render(&handler, *p)).collect()
}

/// Renders the findings and the summary, for standard output.
pub fn render_run(style: Style, run: &Run) -> String {
    let handler = handler(style);
    let mut order: Vec<&Finding> = run.open_findings().collect();
    order.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut out = String::new();
    for finding in order {
        out.push_str(&render_finding(&handler, finding, ""));
        if finding.location.is_none() {
            if let Some(call) = &finding.call {
                let _ = writeln!(
                    out,
                    "  (evidence: `{}`: no response file)",
                    run.snapshot().display_path(call)
                );
            }
        }
        out.push('\n');
    }
    let waived: Vec<&Finding> = run.findings.iter().filter(|f| f.waiver.is_some()).collect();
    if !waived.is_empty() {
        let _ = writeln!(out, "waived (accepted risks, not counted):");
        for f in waived {
            if let Some(w) = &f.waiver {
                let _ = writeln!(
                    out,
                    "  {} [{}] {}: {}\n    waived until {}{}: {} ({}:{})",
                    f.rule.id,
                    f.severity,
                    f.resource.name,
                    f.message,
                    w.expires,
                    if w.owner.is_empty() {
                        String::new()
                    } else {
                        format!(" by {}", w.owner)
                    },
                    w.reason,
                    w.file,
                    w.line
                );
            }
        }
        out.push('\n');
    }
    out.push_str(&summary(run));
    out
}

/// The closing summary: results by outcome, findings by severity, skipped and errored rules.
pub fn summary(run: &Run) -> String {
    let mut out = String::new();
    let outcomes = run.outcomes();
    let counts = run.counts();
    let _ = writeln!(
        out,
        "{} rules: {} fail, {} pass, {} skip, {} error",
        run.results.len(),
        outcomes["fail"],
        outcomes["pass"],
        outcomes["skip"],
        outcomes["error"]
    );
    let by_sev: Vec<String> = Severity::ALL
        .iter()
        .map(|s| format!("{} {}", counts[s], s))
        .collect();
    let open = run.open_findings().count();
    let waived = run.findings.len() - open;
    let _ = writeln!(
        out,
        "{} findings: {}{}",
        open,
        by_sev.join(", "),
        if waived > 0 {
            format!(" (+{waived} waived)")
        } else {
            String::new()
        }
    );
    for r in &run.results {
        match &r.outcome {
            Outcome::Skip(reason) => {
                let _ = writeln!(out, "  skip   {}: {}", r.meta.id, reason);
            }
            Outcome::Error(p) => {
                let _ = writeln!(out, "  error  {}: {}", r.meta.id, p.message);
            }
            // A partial answer: its findings stand, and what it could not see is said.
            Outcome::Fail | Outcome::Pass if !r.gaps.is_empty() => {
                for g in &r.gaps {
                    let _ = writeln!(out, "  gap    {}: could not see {}", r.meta.id, g.reason);
                }
            }
            _ => {}
        }
    }
    if let Some(scan) = run.sources() {
        let _ = writeln!(
            out,
            "sources: {} files ({} bytes) scanned under {}; {} access key IDs found",
            scan.files_scanned,
            scan.bytes_scanned,
            scan.roots.join(", "),
            scan.hits.len()
        );
        if !scan.skipped.is_empty() {
            let _ = writeln!(out, "  skipped {} files:", scan.skipped.len());
            for sk in scan.skipped.iter().take(20) {
                let _ = writeln!(out, "    {} ({})", sk.path, sk.reason);
            }
            if scan.skipped.len() > 20 {
                let _ = writeln!(
                    out,
                    "    … {} more (all in --format json)",
                    scan.skipped.len() - 20
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "evaluated at {} ({})",
        run.snapshot()
            .now
            .map(|t| crate::time::format_time(&t))
            .unwrap_or_else(|| "unknown".into()),
        match run.snapshot().time_source {
            crate::snapshot::TimeSource::AsOf => "--as-of",
            crate::snapshot::TimeSource::Manifest => "capture time from the manifest",
            crate::snapshot::TimeSource::CredentialReport => "credential report GeneratedTime",
            crate::snapshot::TimeSource::Unknown => "no time known",
        }
    );
    out
}
