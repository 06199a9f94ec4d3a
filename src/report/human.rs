//! Human output: each finding as a miette diagnostic over the snapshot file (or the decoded
//! credential report), then a summary by severity and result. Text from input is shown
//! through [`safe::terminal`]: every diagnostic in [`render`] (whatever it is), the rest
//! where it is written; the quoted lines of files by
//! [`SourceFile`](crate::diagnostic::SourceFile) itself.

use std::fmt::{self, Write as _};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use super::safe;
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

/// Renders one diagnostic, with its texts [neutralised](Shown).
pub fn render(handler: &GraphicalReportHandler, diagnostic: &dyn Diagnostic) -> String {
    let shown = Shown::new(diagnostic, 0);
    let mut out = String::new();
    if handler.render_report(&mut out, &shown).is_err() {
        out = format!("{shown}\n");
    }
    out
}

/// How deep related diagnostics and causes are followed.
const MAX_DEPTH: usize = 16;

/// A diagnostic as it is drawn: a copy of every text it holds (message, code, help, URL,
/// label texts, related diagnostics and causes, at any depth) passed through
/// [`safe::terminal`]; spans and the source are the original's (a
/// [`SourceFile`](crate::diagnostic::SourceFile) neutralises the lines it hands to miette).
/// Whatever a problem, a finding or a rule puts in a diagnostic reaches the terminal only
/// this way.
struct Shown<'a> {
    message: String,
    code: Option<String>,
    severity: Option<miette::Severity>,
    help: Option<String>,
    url: Option<String>,
    source_code: Option<&'a dyn SourceCode>,
    labels: Option<Vec<LabeledSpan>>,
    related: Option<Vec<Shown<'a>>>,
    diagnostic_source: Option<Box<Shown<'a>>>,
    cause: Option<Box<Cause>>,
}

fn shown_text(text: impl fmt::Display) -> String {
    safe::terminal(&text.to_string()).into_owned()
}

impl<'a> Shown<'a> {
    fn new(d: &'a dyn Diagnostic, depth: usize) -> Shown<'a> {
        let deeper = depth < MAX_DEPTH;
        let diagnostic_source = d
            .diagnostic_source()
            .filter(|_| deeper)
            .map(|s| Box::new(Shown::new(s, depth + 1)));
        let cause = match diagnostic_source {
            Some(_) => None,
            None => d
                .source()
                .filter(|_| deeper)
                .map(|e| Box::new(Cause::new(e, depth + 1))),
        };
        Shown {
            message: shown_text(d),
            code: d.code().map(shown_text),
            severity: d.severity(),
            help: d.help().map(shown_text),
            url: d.url().map(shown_text),
            source_code: d.source_code(),
            labels: d.labels().map(|labels| {
                labels
                    .map(|l| {
                        let text = l.label().map(shown_text);
                        if l.primary() {
                            LabeledSpan::new_primary_with_span(text, *l.inner())
                        } else {
                            LabeledSpan::new_with_span(text, *l.inner())
                        }
                    })
                    .collect()
            }),
            related: d.related().filter(|_| deeper).map(|related| {
                related
                    .map(|r| Shown::new(r, depth + 1))
                    .collect::<Vec<_>>()
            }),
            diagnostic_source,
            cause,
        }
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl Diagnostic for Shown<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c.as_str()) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.severity
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.url
            .as_ref()
            .map(|u| Box::new(u.as_str()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source_code
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.labels
            .as_ref()
            .map(|l| Box::new(l.iter().cloned()) as Box<dyn Iterator<Item = LabeledSpan>>)
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        self.related.as_ref().map(|r| {
            Box::new(r.iter().map(|d| d as &dyn Diagnostic))
                as Box<dyn Iterator<Item = &'b dyn Diagnostic>>
        })
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.diagnostic_source
            .as_deref()
            .map(|d| d as &dyn Diagnostic)
    }
}

/// A plain error in a diagnostic's cause chain, as it is shown (owned, so that miette can
/// walk it as `'static` errors).
#[derive(Debug)]
struct Cause {
    message: String,
    source: Option<Box<Cause>>,
}

impl Cause {
    fn new(e: &dyn std::error::Error, depth: usize) -> Cause {
        Cause {
            message: shown_text(e),
            source: e
                .source()
                .filter(|_| depth < MAX_DEPTH)
                .map(|s| Box::new(Cause::new(s, depth + 1))),
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
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
                    safe::terminal(&run.snapshot().display_path(call))
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
                let t = safe::terminal;
                let _ = writeln!(
                    out,
                    "  {} [{}] {}: {}\n    waived until {}{}: {} ({}:{})",
                    t(&f.rule.id),
                    f.severity,
                    t(&f.resource.name),
                    t(&f.message),
                    t(&w.expires),
                    if w.owner.is_empty() {
                        String::new()
                    } else {
                        format!(" by {}", t(&w.owner))
                    },
                    t(&w.reason),
                    t(&w.file),
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
    let t = safe::terminal;
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
                let _ = writeln!(out, "  skip   {}: {}", t(&r.meta.id), t(reason));
            }
            Outcome::Error(p) => {
                let _ = writeln!(out, "  error  {}: {}", t(&r.meta.id), t(&p.message));
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
            t(&scan.roots.join(", ")),
            scan.hits.len()
        );
        if !scan.skipped.is_empty() {
            let _ = writeln!(out, "  skipped {} files:", scan.skipped.len());
            for sk in scan.skipped.iter().take(20) {
                let _ = writeln!(out, "    {} ({})", t(&sk.path), t(&sk.reason));
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

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use crate::diagnostic::{Kind, SourceFile};

    fn draw(problem: &Problem, color: bool) -> String {
        render(&handler(Style { color, width: 120 }), problem)
    }

    #[test]
    fn a_diagnostic_shows_control_characters_inertly() {
        let hostile = "x\u{1b}]52;c;cm0=\u{7}\u{9b}2J\u{202e}y";
        let text = format!("{{\n  \"a\": \"{hostile}\",\r\n  \"b\": 1\n}}\n");
        let offset = text.find('\u{1b}').expect("the text holds an escape");
        let problem = Problem::new(Kind::SnapshotMalformedJson, format!("bad {hostile}"))
            .with_help(format!("help {hostile}"))
            .at(
                SourceFile::new(format!("dir/{hostile}.json"), text),
                offset,
                1,
                format!("label {hostile}"),
            );
        let out = draw(&problem, false);
        assert!(!out.chars().any(safe::is_control), "{out:?}");
        let shown = r"x\u{1b}]52;c;cm0=\u{7}\u{9b}2J\u{202e}y";
        for part in ["bad ", "help ", "label ", "dir/", "\"a\": \""] {
            assert!(out.contains(&format!("{part}{shown}")), "{part} in\n{out}");
        }
        // The header's column is the character column in the file as it is.
        assert!(out.contains(&format!("dir/{shown}.json:2:10]")), "{out}");
        // The underline starts under the escape.
        let lines: Vec<&str> = out.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("\"a\": "))
            .expect("the snippet shows the line");
        let column = |l: &str, b: usize| l[..b].chars().count();
        let escape = lines[at].find(r"\u{1b}").expect("the escape is shown");
        let mark = lines[at + 1].find('┬').expect("the underline is drawn");
        assert!(
            column(lines[at + 1], mark) >= column(lines[at], escape)
                && column(lines[at + 1], mark) < column(lines[at], escape) + 6,
            "{out}"
        );
        // With colour, the only escapes are colour codes.
        let out = draw(&problem, true);
        assert!(
            !out.contains('\u{7}') && !out.contains("\u{1b}]"),
            "{out:?}"
        );
    }

    #[test]
    fn a_clean_diagnostic_is_drawn_as_it_is() {
        let text = "{\n  \"a\": 1\n}\n";
        let problem = Problem::new(Kind::SnapshotMalformedJson, "bad").at(
            SourceFile::new("f.json", text),
            7,
            1,
            "here",
        );
        let mut direct = String::new();
        handler(Style {
            color: false,
            width: 120,
        })
        .render_report(&mut direct, &problem)
        .expect("rendering into a String");
        assert_eq!(draw(&problem, false), direct);
    }
}
