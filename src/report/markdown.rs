//! `--format markdown`: a summary for pull requests and tickets: counts by severity, the
//! top findings, what was skipped or errored, and what is waived. Text from input is free
//! text through [`safe::markdown_text`] or a code span from [`safe::markdown_code`].

use std::fmt::Write as _;

use super::safe;
use crate::audit::Run;
use crate::diagnostic::Problem;
use crate::engine::Finding;
use crate::engine::Outcome;
use crate::rules::Severity;

/// How many findings the "Top findings" table shows.
pub const TOP: usize = 20;

/// Free text (a table cell, a list item, the heading): nothing live, see
/// [`safe::markdown_text`] (`<root_account>` is not a tag).
fn cell(text: &str) -> String {
    safe::markdown_text(text)
}

/// A code span in a table cell.
fn code(text: &str) -> String {
    safe::markdown_code(text, true)
}

fn evidence(f: &Finding) -> String {
    match (&f.location, &f.call) {
        (Some(l), _) => match &l.csv {
            Some(c) => format!(
                "{} (credential report, user {}{})",
                code(&l.file),
                code(&c.user),
                c.column
                    .as_ref()
                    .map(|col| format!(", {}", code(col)))
                    .unwrap_or_default()
            ),
            None => code(&format!("{}:{}:{}", l.file, l.line, l.column)),
        },
        (None, Some(call)) => format!("{} (no response file)", code(call)),
        (None, None) => "-".into(),
    }
}

/// Renders the run as Markdown.
pub fn render(run: &Run) -> String {
    let s = run.snapshot();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## snapaudit: account {}\n",
        if s.account_id.is_empty() {
            "unknown".to_owned()
        } else {
            cell(&s.account_id)
        }
    );
    let _ = writeln!(
        out,
        "Snapshot {}, evaluated at {}.\n",
        safe::markdown_code(&s.display_dir, false),
        s.now
            .map(|t| crate::time::format_time(&t))
            .unwrap_or_else(|| "an unknown time".into())
    );
    let outcomes = run.outcomes();
    let counts = run.counts();
    let open: Vec<&Finding> = run.open_findings().collect();
    let waived = run.findings.len() - open.len();
    let _ = writeln!(
        out,
        "**{} findings**{} from {} rules ({} fail, {} pass, {} skip, {} error).\n",
        open.len(),
        if waived > 0 {
            format!(" (+{waived} waived)")
        } else {
            String::new()
        },
        run.results.len(),
        outcomes["fail"],
        outcomes["pass"],
        outcomes["skip"],
        outcomes["error"]
    );
    out.push_str("| Severity | Findings |\n|---|---:|\n");
    for sev in Severity::ALL {
        let _ = writeln!(out, "| {sev} | {} |", counts[&sev]);
    }

    let mut top = open.clone();
    top.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if !top.is_empty() {
        let _ = writeln!(
            out,
            "\n### Top findings{}\n",
            if top.len() > TOP {
                format!(" ({TOP} of {})", top.len())
            } else {
                String::new()
            }
        );
        out.push_str(
            "| Severity | Rule | Resource | Finding | Evidence |\n|---|---|---|---|---|\n",
        );
        for f in top.iter().take(TOP) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.severity,
                code(&f.rule.id),
                cell(&f.resource.name),
                cell(&f.message),
                evidence(f)
            );
        }
    }

    let not_run: Vec<String> = run
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Skip(reason) => Some(format!(
                "- skip {}: {}",
                safe::markdown_code(&r.meta.id, false),
                cell(reason)
            )),
            Outcome::Error(p) => Some(format!(
                "- **error** {}: {}",
                safe::markdown_code(&r.meta.id, false),
                cell(&p.message)
            )),
            Outcome::Fail | Outcome::Pass if !r.gaps.is_empty() => Some(format!(
                "- partial {}: could not see {}",
                safe::markdown_code(&r.meta.id, false),
                cell(
                    &r.gaps
                        .iter()
                        .map(|g| g.reason.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            )),
            _ => None,
        })
        .collect();
    if !not_run.is_empty() {
        let _ = writeln!(
            out,
            "\n### Rules that did not run to the end\n\n{}",
            not_run.join("\n")
        );
    }
    let mut diagnostics: Vec<&Problem> = run.input_diagnostics().collect();
    diagnostics.sort_by_key(|p| std::cmp::Reverse(p.is_error()));
    if !diagnostics.is_empty() {
        out.push_str(
            "\n### Diagnostics\n\n| Level | Code | Where | Message |\n|---|---|---|---|\n",
        );
        for p in diagnostics {
            let place = match (&p.file, p.line_col()) {
                (Some(f), Some((l, c))) => code(&format!("{f}:{l}:{c}")),
                (Some(f), None) => code(f),
                _ => "-".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                if p.is_error() { "**error**" } else { "warning" },
                code(p.code()),
                place,
                cell(&p.message)
            );
        }
    }
    let waived: Vec<&Finding> = run.findings.iter().filter(|f| f.waiver.is_some()).collect();
    if !waived.is_empty() {
        out.push_str("\n### Waived\n\n| Rule | Resource | Reason | Owner | Expires |\n|---|---|---|---|---|\n");
        for f in waived {
            if let Some(w) = &f.waiver {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    code(&f.rule.id),
                    cell(&f.resource.name),
                    cell(&w.reason),
                    cell(&w.owner),
                    cell(&w.expires)
                );
            }
        }
    }
    out
}
