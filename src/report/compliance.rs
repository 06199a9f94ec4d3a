//! `check --compliance ID`: every control of a framework with its status, decided by the
//! results of the rules the framework names for it (docs/compliance.md). Human (a table),
//! JSON, CSV and Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{json, pretty_json, safe, RenderError};
use crate::audit::Run;
use crate::engine::{Finding, Outcome, RuleResult};
use crate::rules::framework::{Assessment, Control, Framework};

/// Bumped on any breaking change of the compliance JSON.
pub const SCHEMA_VERSION: u32 = 1;

/// A control's status. In order of precedence when a control has several rules: one rule
/// with an open finding fails the control, whatever the others say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A rule found an open (not waived) problem.
    Fail,
    /// A rule could not run, or a call or file it needed failed.
    Error,
    /// A rule skipped: the snapshot does not hold its data.
    NotCollected,
    /// A rule the framework names is not loaded, or (for an automated control) no rule
    /// decides it.
    NotChecked,
    /// Its only findings are waived (accepted risks).
    Waived,
    /// Every rule passed.
    Pass,
    /// No rule decides it: CIS leaves it to a person.
    Manual,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Pass,
        Status::Fail,
        Status::Waived,
        Status::Error,
        Status::NotCollected,
        Status::NotChecked,
        Status::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Error => "error",
            Status::NotCollected => "not-collected",
            Status::NotChecked => "not-checked",
            Status::Waived => "waived",
            Status::Pass => "pass",
            Status::Manual => "manual",
        }
    }
}

/// One rule of a control, as it ended.
#[derive(Debug, Serialize)]
pub struct RuleStatus<'a> {
    pub id: &'a str,
    /// `pass`, `fail`, `skip`, `error`, or `not-loaded`.
    pub result: &'static str,
    pub reason: Option<String>,
}

/// One control and what decided it.
#[derive(Debug)]
pub struct ControlStatus<'a> {
    pub control: &'a Control,
    pub status: Status,
    pub rules: Vec<RuleStatus<'a>>,
    /// The findings of its rules (waived ones too, marked so).
    pub findings: Vec<&'a Finding>,
}

/// Decides every control of `framework` from the run's rule results.
pub fn assess<'a>(run: &'a Run, framework: &'a Framework) -> Vec<ControlStatus<'a>> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &run.findings {
        by_rule.entry(f.rule.id.as_str()).or_default().push(f);
    }
    framework
        .controls
        .iter()
        .map(|control| {
            let mut rules = Vec::new();
            let mut findings = Vec::new();
            let mut status = match control.assessment {
                _ if !control.rules.is_empty() => Status::Pass,
                Assessment::Manual => Status::Manual,
                Assessment::Automated => Status::NotChecked,
            };
            for id in control.rule_ids() {
                let result = run.results.iter().find(|r| r.meta.id == id);
                // A finding that names its controls is only about those.
                let of_rule: Vec<&Finding> = by_rule
                    .get(id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .filter(|f| is_about(f, control.id()))
                    .collect();
                findings.extend(of_rule.iter().copied());
                let (name, reason, this) = rule_status(result, &of_rule);
                status = status.min(this);
                rules.push(RuleStatus {
                    id,
                    result: name,
                    reason,
                });
            }
            ControlStatus {
                control,
                status,
                rules,
                findings,
            }
        })
        .collect()
}

/// How one rule of a control ended, for this control (`of_rule`: its findings about the
/// control): the result's name, why (for skip, error, or gaps), and the control status.
fn rule_status(
    result: Option<&RuleResult>,
    of_rule: &[&Finding],
) -> (&'static str, Option<String>, Status) {
    let Some(r) = result else {
        return ("not-loaded", None, Status::NotChecked);
    };
    match &r.outcome {
        Outcome::Pass => ("pass", None, Status::Pass),
        // The rule failed only for other controls: for this one it passed, or (with gaps)
        // could not see everything, as a rule without findings.
        Outcome::Fail if of_rule.is_empty() && r.gaps.is_empty() => ("fail", None, Status::Pass),
        Outcome::Fail if of_rule.is_empty() => {
            let why = r
                .gaps
                .iter()
                .map(|g| g.reason.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let this = if r.gaps.iter().any(|g| g.is_error()) {
                Status::Error
            } else {
                Status::NotCollected
            };
            (
                "fail",
                Some(format!("no finding for this control, but {why}")),
                this,
            )
        }
        Outcome::Fail if of_rule.iter().all(|f| f.waiver.is_some()) => {
            ("fail", None, Status::Waived)
        }
        Outcome::Fail => ("fail", None, Status::Fail),
        Outcome::Skip(why) => ("skip", Some(why.clone()), Status::NotCollected),
        Outcome::Error(p) => ("error", Some(p.message.clone()), Status::Error),
    }
}

/// A finding is about a control when its rule named no controls for it, or named this one.
fn is_about(f: &Finding, control: &str) -> bool {
    f.controls.is_empty() || f.controls.iter().any(|c| c == control)
}

/// Controls per status (every status present, counted from zero).
pub fn counts(statuses: &[ControlStatus]) -> BTreeMap<Status, usize> {
    let mut counts: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
    for s in statuses {
        *counts.entry(s.status).or_default() += 1;
    }
    counts
}

/// What a control's status rests on, in a few words: the rules that did not pass and why,
/// or the reviewer's note.
fn basis(s: &ControlStatus) -> String {
    if s.rules.is_empty() {
        return s.control.review.clone();
    }
    s.rules
        .iter()
        .map(|r| match &r.reason {
            Some(why) => format!("{} {}: {why}", r.id, r.result),
            None => format!("{} {}", r.id, r.result),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn summary_line(statuses: &[ControlStatus]) -> String {
    let counts = counts(statuses);
    let parts: Vec<String> = Status::ALL
        .iter()
        .map(|s| format!("{} {}", counts[s], s.as_str()))
        .collect();
    format!("{} controls: {}", statuses.len(), parts.join(", "))
}

/// The human table: one line per control, the findings under each failing control, then
/// the counts.
pub fn render_human(run: &Run, framework: &Framework) -> String {
    let t = safe::terminal;
    let statuses = assess(run, framework);
    let s = run.snapshot();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — account {}, evaluated at {}\n",
        t(&framework.title),
        if s.account_id.is_empty() {
            "unknown".into()
        } else {
            t(&s.account_id)
        },
        s.now
            .map(|n| crate::time::format_time(&n))
            .unwrap_or_else(|| "an unknown time".into())
    );
    let width = statuses
        .iter()
        .map(|c| t(c.control.id()).chars().count())
        .max()
        .unwrap_or(0)
        .max("CONTROL".len());
    let _ = writeln!(
        out,
        "{:width$}  {:13}  {:9}  TITLE",
        "CONTROL", "STATUS", "A/M"
    );
    for c in &statuses {
        let _ = writeln!(
            out,
            "{:width$}  {:13}  {:9}  {}",
            t(c.control.id()),
            c.status.as_str(),
            c.control.assessment.as_str(),
            t(&c.control.title)
        );
        let pad = " ".repeat(width + 2);
        match c.status {
            Status::Fail | Status::Waived => {
                for f in &c.findings {
                    let _ = writeln!(
                        out,
                        "{pad}{}{} {}: {} — {}",
                        if f.waiver.is_some() { "waived " } else { "" },
                        t(&f.rule.id),
                        t(&f.resource.name),
                        t(&f.message),
                        t(&super::evidence_text(f))
                    );
                }
            }
            Status::Pass => {}
            _ => {
                let why = basis(c);
                if !why.is_empty() {
                    let _ = writeln!(out, "{pad}{}", t(&why));
                }
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(&statuses));
    out
}

#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    framework: FrameworkOut<'a>,
    snapshot: json::SnapshotInfo<'a>,
    summary: BTreeMap<Status, usize>,
    controls: Vec<ControlOut<'a>>,
    diagnostics: Vec<json::DiagnosticOut>,
}

#[derive(Serialize)]
struct FrameworkOut<'a> {
    id: &'a str,
    title: &'a str,
    file: &'a str,
}

#[derive(Serialize)]
struct ControlOut<'a> {
    id: &'a str,
    title: &'a str,
    section: &'a str,
    assessment: Assessment,
    status: Status,
    rules: &'a [RuleStatus<'a>],
    findings: Vec<json::FindingOut<'a>>,
    review: Option<&'a str>,
}

/// The JSON document (schema in docs/compliance.md).
pub fn render_json(run: &Run, framework: &Framework) -> Result<String, RenderError> {
    let statuses = assess(run, framework);
    let controls = statuses
        .iter()
        .map(|c| ControlOut {
            id: c.control.id(),
            title: &c.control.title,
            section: &c.control.section,
            assessment: c.control.assessment,
            status: c.status,
            rules: &c.rules,
            findings: c.findings.iter().map(|f| json::finding(f)).collect(),
            review: Some(c.control.review.as_str()).filter(|r| !r.is_empty()),
        })
        .collect();
    pretty_json(
        "compliance json",
        &Output {
            schema_version: SCHEMA_VERSION,
            framework: FrameworkOut {
                id: &framework.id,
                title: &framework.title,
                file: &framework.file,
            },
            snapshot: json::snapshot_info(run.snapshot()),
            summary: counts(&statuses),
            controls,
            diagnostics: run.diagnostics.iter().map(json::diagnostic).collect(),
        },
    )
}

/// The CSV columns: one row per control.
pub const COLUMNS: [&str; 10] = [
    "framework",
    "control",
    "title",
    "section",
    "assessment",
    "status",
    "rules",
    "open_findings",
    "evidence",
    "notes",
];

/// One row per control; `evidence` lists the open findings' places, `notes` the rules that
/// did not pass (and why) or the reviewer's note.
pub fn render_csv(run: &Run, framework: &Framework) -> Result<String, RenderError> {
    let statuses = assess(run, framework);
    let error = |e: &dyn std::fmt::Display| RenderError::new("compliance csv", e);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(|e| error(&e))?;
    for c in &statuses {
        let open: Vec<&&Finding> = c.findings.iter().filter(|f| f.waiver.is_none()).collect();
        let row = [
            framework.id.clone(),
            c.control.id().to_owned(),
            c.control.title.clone(),
            c.control.section.clone(),
            c.control.assessment.as_str().to_owned(),
            c.status.as_str().to_owned(),
            c.rules.iter().map(|r| r.id).collect::<Vec<_>>().join(" "),
            open.len().to_string(),
            open.iter()
                .map(|f| super::evidence_text(f))
                .collect::<Vec<_>>()
                .join("; "),
            if c.status == Status::Pass {
                String::new()
            } else {
                basis(c)
            },
        ];
        w.write_record(row.iter().map(|cell| safe::csv_cell(cell).into_owned()))
            .map_err(|e| error(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| error(&e))?;
    String::from_utf8(bytes).map_err(|e| error(&e))
}

/// A Markdown table of the controls, with the counts above it.
pub fn render_markdown(run: &Run, framework: &Framework) -> String {
    let statuses = assess(run, framework);
    let cell = |text: &str| safe::markdown_text(text);
    let code = |text: &str| safe::markdown_code(text, true);
    let s = run.snapshot();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {}: account {}\n\n{}.\n",
        cell(&framework.title),
        if s.account_id.is_empty() {
            "unknown".into()
        } else {
            cell(&s.account_id)
        },
        cell(&summary_line(&statuses))
    );
    out.push_str("| Control | Status | Assessment | Title | Evidence |\n|---|---|---|---|---|\n");
    for c in &statuses {
        let evidence = match c.status {
            Status::Pass => String::new(),
            Status::Fail | Status::Waived => c
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "{}{} {}: {}",
                        if f.waiver.is_some() { "waived " } else { "" },
                        code(&f.rule.id),
                        cell(&f.message),
                        code(&super::evidence_text(f))
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>"),
            _ => cell(&basis(c)),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(c.control.id()),
            if c.status == Status::Fail {
                "**fail**"
            } else {
                c.status.as_str()
            },
            c.control.assessment.as_str(),
            cell(&c.control.title),
            evidence
        );
    }
    out
}
