//! `snapaudit diff` output: human (miette labels into NEW, or OLD for resolved findings)
//! and versioned JSON (docs/diff.md). In the human output, text from the snapshots goes
//! through [`safe::terminal`] (the findings through [`human::render_finding`], which does).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::resources::{Change, Kind, ResourceDiff};
use super::{DiffRun, FindingChange, NotCompared, Status};
use crate::report::human::{self, Style};
use crate::report::{json, pretty_json, safe, RenderError};
use crate::rules::Severity;
use crate::snapshot::Snapshot;

pub const SCHEMA_VERSION: u32 = 1;

impl DiffRun {
    /// Nothing moved: no finding changes and no resource changes.
    pub fn is_empty(&self) -> bool {
        self.findings.count(Status::New) == 0
            && self.findings.count(Status::Resolved) == 0
            && self.findings.count(Status::Changed) == 0
            && self.findings.not_compared.is_empty()
            && self.resources.is_empty()
    }

    fn shown(&self) -> impl Iterator<Item = &FindingChange> {
        self.findings
            .changes
            .iter()
            .filter(|c| self.all || c.status != Status::Unchanged)
    }
}

fn service(rule_id: &str) -> &str {
    rule_id.split('.').next().unwrap_or(rule_id)
}

fn value_text(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => {
            let text = other.to_string();
            if text.chars().count() > 120 {
                let cut: String = text.chars().take(117).collect();
                format!("{cut}...")
            } else {
                text
            }
        }
    }
}

/// A security group rule as people say it: `tcp/22 from 0.0.0.0/0`.
fn permission_text(v: &serde_json::Value) -> Option<String> {
    let proto = v.get("IpProtocol")?.as_str()?;
    let proto = if proto == "-1" { "all traffic" } else { proto };
    let ports = match (
        v.get("FromPort").and_then(|p| p.as_i64()),
        v.get("ToPort").and_then(|p| p.as_i64()),
    ) {
        (Some(a), Some(b)) if a == b => format!("/{a}"),
        (Some(a), Some(b)) => format!("/{a}-{b}"),
        _ => String::new(),
    };
    let mut sources = Vec::new();
    for (list, key) in [
        ("IpRanges", "CidrIp"),
        ("Ipv6Ranges", "CidrIpv6"),
        ("UserIdGroupPairs", "GroupId"),
        ("PrefixListIds", "PrefixListId"),
    ] {
        for r in v.get(list).and_then(|l| l.as_array()).into_iter().flatten() {
            if let Some(s) = r.get(key).and_then(|s| s.as_str()) {
                sources.push(s.to_owned());
            }
        }
    }
    Some(format!(
        "{proto}{ports} from {}",
        if sources.is_empty() {
            "nowhere".into()
        } else {
            sources.join(", ")
        }
    ))
}

/// One line for one resource change.
pub fn change_text(c: &Change) -> String {
    let what = if c.path.is_empty() {
        String::new()
    } else {
        format!(" {}", c.path)
    };
    let element = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .and_then(permission_text)
            .unwrap_or_else(|| value_text(v))
    };
    match c.kind {
        Kind::Changed => format!(
            "{}{what}: {} → {}",
            c.resource,
            value_text(&c.old),
            value_text(&c.new)
        ),
        Kind::Added if c.path.is_empty() => format!("{} added", c.resource),
        Kind::Removed if c.path.is_empty() => format!("{} removed", c.resource),
        Kind::Added => format!("{}{what} gained {}", c.resource, element(&c.new)),
        Kind::Removed => format!("{}{what} lost {}", c.resource, element(&c.old)),
    }
}

/// Human output: findings by status, severity and service, then resource changes per file.
pub fn render_human(style: Style, run: &DiffRun) -> String {
    let t = safe::terminal;
    let handler = human::handler(style);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "OLD {} (captured {})\nNEW {} (captured {})\n",
        t(&run.old.snapshot().display_dir),
        t(&captured(run.old.snapshot())),
        t(&run.new.snapshot().display_dir),
        t(&captured(run.new.snapshot()))
    );
    for status in [
        Status::New,
        Status::Changed,
        Status::Resolved,
        Status::Unchanged,
    ] {
        let mut group: Vec<&FindingChange> = run.shown().filter(|c| c.status == status).collect();
        if group.is_empty() {
            continue;
        }
        group.sort_by_key(|c| {
            let f = c.current();
            (
                std::cmp::Reverse(f.map(|f| f.severity).unwrap_or(Severity::Info)),
                f.map(|f| service(&f.rule.id).to_owned()),
            )
        });
        let _ = writeln!(
            out,
            "── {} findings ({}) ──\n",
            status.as_str(),
            group.len()
        );
        for c in group {
            let prefix = format!("{} ", status.as_str().to_uppercase());
            if let Some(f) = c.current() {
                out.push_str(&human::render_finding(&handler, f, &prefix));
            }
            if status == Status::Changed {
                if let (Some(a), Some(b)) = (&c.old, &c.new) {
                    if a.severity != b.severity {
                        let _ = writeln!(out, "  severity: {} → {}", a.severity, b.severity);
                    }
                    if a.message != b.message {
                        let _ = writeln!(out, "  was: {}", t(&a.message));
                    }
                }
            }
            out.push('\n');
        }
    }
    if !run.findings.not_compared.is_empty() {
        let _ = writeln!(
            out,
            "── rules not compared ({}) ──",
            run.findings.not_compared.len()
        );
        for n in &run.findings.not_compared {
            let _ = writeln!(
                out,
                "  {}: {} in OLD, {} in NEW ({})",
                t(&n.rule_id),
                n.old,
                n.new,
                t(&n.reason)
            );
        }
        out.push('\n');
    }

    let r = &run.resources;
    if !r.is_empty() {
        let _ = writeln!(out, "── resource changes ──");
        let mut by_file: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for c in &r.changes {
            by_file.entry(c.file.as_str()).or_default().push(c);
        }
        for (file, changes) in by_file {
            let _ = writeln!(out, "{}", t(file));
            for c in changes {
                let mark = match c.kind {
                    Kind::Added => '+',
                    Kind::Removed => '-',
                    Kind::Changed => '~',
                };
                let _ = writeln!(out, "  {mark} {}", t(&change_text(c)));
            }
        }
        for (label, list) in [
            ("files only in NEW", &r.files_added),
            ("files only in OLD", &r.files_removed),
            ("regions added", &r.regions_added),
            ("regions removed", &r.regions_removed),
        ] {
            if !list.is_empty() {
                let _ = writeln!(out, "{label}: {}", t(&list.join(", ")));
            }
        }
        for s in &r.status_changed {
            let _ = writeln!(out, "call {}: {} → {}", t(&s.file), t(&s.old), t(&s.new));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "findings: {} new, {} resolved, {} changed, {} unchanged, {} rules not compared",
        run.findings.count(Status::New),
        run.findings.count(Status::Resolved),
        run.findings.count(Status::Changed),
        run.findings.count(Status::Unchanged),
        run.findings.not_compared.len()
    );
    let _ = writeln!(
        out,
        "resources: {} changes in {} files, {} files added, {} removed{}",
        r.changes.len(),
        r.changes
            .iter()
            .map(|c| &c.file)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        r.files_added.len(),
        r.files_removed.len(),
        if r.volatile_hidden > 0 {
            format!(
                ", {} volatile values hidden (--include-volatile shows them)",
                r.volatile_hidden
            )
        } else {
            String::new()
        }
    );
    out
}

fn captured(s: &Snapshot) -> String {
    s.manifest
        .as_ref()
        .map(|m| m.started_at.clone())
        .unwrap_or_else(|| "unknown".into())
}

#[derive(Serialize)]
struct ChangeOut<'a> {
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<json::FindingOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<json::FindingOut<'a>>,
}

#[derive(Serialize)]
pub(crate) struct Output<'a> {
    schema_version: u32,
    old: json::SnapshotInfo<'a>,
    new: json::SnapshotInfo<'a>,
    summary: BTreeMap<&'static str, usize>,
    findings: Vec<ChangeOut<'a>>,
    not_compared: &'a [NotCompared],
    resources: &'a ResourceDiff,
    diagnostics: Vec<json::DiagnosticOut>,
}

/// JSON output; the same inputs give the same bytes.
pub fn render_json(run: &DiffRun) -> Result<String, RenderError> {
    pretty_json("json", &document(run))
}

/// The JSON document of a diff, before it is written.
pub(crate) fn document(run: &DiffRun) -> Output<'_> {
    let findings = run
        .shown()
        .map(|c| ChangeOut {
            status: c.status,
            old: c.old.as_ref().map(json::finding),
            new: c.new.as_ref().map(json::finding),
        })
        .collect();
    let mut summary = BTreeMap::new();
    for s in [
        Status::New,
        Status::Resolved,
        Status::Changed,
        Status::Unchanged,
    ] {
        summary.insert(s.as_str(), run.findings.count(s));
    }
    summary.insert("not_compared", run.findings.not_compared.len());
    summary.insert("resource_changes", run.resources.changes.len());
    Output {
        schema_version: SCHEMA_VERSION,
        old: json::snapshot_info(run.old.snapshot()),
        new: json::snapshot_info(run.new.snapshot()),
        summary,
        findings,
        not_compared: &run.findings.not_compared,
        resources: &run.resources,
        diagnostics: run.diagnostics.iter().map(json::diagnostic).collect(),
    }
}
