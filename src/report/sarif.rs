//! `--format sarif`: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
//!
//! One rule entry per rule, one result per finding with its physical location in the
//! snapshot (relative to the `SNAPSHOT` base), a stable partial fingerprint (rule +
//! resource), and waivers as external, accepted suppressions.

use serde_json::{json, Map, Value};

use super::{pretty_json, RenderError};
use crate::audit::Run;
use crate::diagnostic::{Kind, Problem};
use crate::engine::{Finding, Outcome};
use crate::rules::Severity;

/// SARIF's level for a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (0–10) for a severity.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn text(t: &str) -> Value {
    json!({ "text": t })
}

fn location(f: &Finding) -> Option<Value> {
    let file = f
        .location
        .as_ref()
        .map(|l| l.file.clone())
        .or_else(|| f.call.clone())?;
    let mut physical = Map::new();
    physical.insert(
        "artifactLocation".into(),
        json!({ "uri": file, "uriBaseId": "SNAPSHOT" }),
    );
    let mut loc = Map::new();
    if let Some(l) = &f.location {
        match &l.csv {
            // A cell of the decoded credential report: the file holds the CSV as one base64
            // string, so the region is that string (`Content`), and the cell (its CSV line,
            // column and user) is named in the location's properties.
            Some(cell) => {
                if let Some(c) = &l.content {
                    physical.insert(
                        "region".into(),
                        json!({
                            "startLine": c.line,
                            "startColumn": c.column,
                            "endLine": c.end_line,
                            "endColumn": c.end_column,
                        }),
                    );
                }
                loc.insert("properties".into(), json!({ "csv": cell }));
            }
            None => {
                physical.insert(
                    "region".into(),
                    json!({
                        "startLine": l.line,
                        "startColumn": l.column,
                        "endLine": l.end_line,
                        "endColumn": l.end_column,
                    }),
                );
            }
        }
    }
    loc.insert("physicalLocation".into(), Value::Object(physical));
    loc.insert(
        "logicalLocations".into(),
        json!([{ "fullyQualifiedName": f.resource.id, "name": f.resource.name, "kind": "resource" }]),
    );
    Some(Value::Object(loc))
}

/// The run's `tool`: snapaudit, and its rules when there are any to describe.
pub(crate) fn tool(rules: Option<Vec<Value>>) -> Value {
    let mut driver = json!({
        "name": "snapaudit",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
    });
    if let Some(rules) = rules {
        driver["rules"] = Value::Array(rules);
    }
    json!({ "driver": driver })
}

/// Renders the run as a SARIF 2.1.0 log.
pub fn render(run: &Run) -> Result<String, RenderError> {
    pretty_json("sarif", &log(run)?)
}

/// The run as a SARIF 2.1.0 log, before it is written.
pub(crate) fn log(run: &Run) -> Result<Value, RenderError> {
    let mut rule_index = std::collections::BTreeMap::new();
    let mut rules = Vec::new();
    for r in &run.results {
        if rule_index.contains_key(&r.meta.id) {
            continue;
        }
        rule_index.insert(r.meta.id.clone(), rules.len());
        let m = &r.meta;
        let mut tags = vec![Value::from("security")];
        tags.extend(m.cis.iter().map(|c| Value::from(format!("CIS {c}"))));
        let help = if m.remediation.is_empty() {
            m.title.clone()
        } else {
            m.remediation.clone()
        };
        rules.push(json!({
            "id": m.id,
            "name": m.id,
            "shortDescription": text(&m.title),
            "fullDescription": text(if m.description.is_empty() { &m.title } else { &m.description }),
            "help": { "text": help, "markdown": format!("**Remediation:** {help}") },
            "helpUri": m.references.iter().find(|u| u.starts_with("https://")),
            "defaultConfiguration": { "level": level(m.severity) },
            "properties": {
                "tags": tags,
                "security-severity": security_severity(m.severity),
                "severity": m.severity,
                "cis": m.cis,
            },
        }));
        if m.references.iter().all(|u| !u.starts_with("https://")) {
            if let Some(last) = rules.last_mut().and_then(Value::as_object_mut) {
                last.remove("helpUri");
            }
        }
    }
    let results: Vec<Value> = run
        .findings
        .iter()
        .zip(super::occurrences(&run.findings))
        .map(|(f, n)| {
            let fingerprint = if n == 1 {
                format!("{}|{}", f.rule.id, f.resource.id)
            } else {
                format!("{}|{}|{n}", f.rule.id, f.resource.id)
            };
            let mut result = Map::new();
            result.insert("ruleId".into(), f.rule.id.clone().into());
            if let Some(i) = rule_index.get(&f.rule.id) {
                result.insert("ruleIndex".into(), (*i).into());
            }
            result.insert("level".into(), level(f.severity).into());
            result.insert("message".into(), text(&f.message));
            if let Some(loc) = location(f) {
                result.insert("locations".into(), json!([loc]));
            }
            result.insert(
                "partialFingerprints".into(),
                json!({ "snapauditFinding/v1": fingerprint }),
            );
            result.insert(
                "properties".into(),
                json!({ "severity": f.severity, "resource": f.resource, "label": f.label }),
            );
            if let Some(w) = &f.waiver {
                result.insert(
                    "suppressions".into(),
                    json!([{
                        "kind": "external",
                        "status": "accepted",
                        "justification": w.reason,
                        "location": {
                            "physicalLocation": {
                                "artifactLocation": { "uri": w.file },
                                "region": { "startLine": w.line },
                            }
                        },
                        "properties": { "owner": w.owner, "expires": w.expires },
                    }]),
                );
            }
            Value::Object(result)
        })
        .collect();
    let snapshot = run.snapshot();
    let base = base_uri(&snapshot.dir, "snapshot")?;
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": tool(Some(rules)),
            "originalUriBaseIds": {
                "SNAPSHOT": { "uri": base, "description": text("the snapshot directory") }
            },
            "automationDetails": { "id": format!("snapaudit/{}/", snapshot.account_id) },
            "invocations": [invocation(run, &rule_index)],
            "results": results,
            "properties": {
                "account_id": snapshot.account_id,
                "evaluated_at": snapshot.now.map(|t| crate::time::format_time(&t)),
            },
        }]
    });
    Ok(log)
}

/// The run's invocation: whether it succeeded (no error diagnostic), and as tool execution
/// notifications every input diagnostic, every rule that skipped or errored, and every gap
/// of a rule's answer — so that code scanning never reads missing data as "fixed".
fn invocation(run: &Run, rule_index: &std::collections::BTreeMap<String, usize>) -> Value {
    let mut notes: Vec<Value> = run.input_diagnostics().map(notification).collect();
    for r in &run.results {
        let rule = |level: &str, id: &str, text: String| {
            let mut n = json!({
                "descriptor": { "id": id },
                "associatedRule": { "id": r.meta.id },
                "level": level,
                "message": { "text": text },
            });
            if let Some(i) = rule_index.get(&r.meta.id) {
                n["associatedRule"]["index"] = (*i).into();
            }
            n
        };
        match &r.outcome {
            Outcome::Skip(reason) => notes.push(rule(
                "note",
                "snapaudit/rule-skipped",
                format!("rule `{}` skipped: {reason}", r.meta.id),
            )),
            Outcome::Error(p) => {
                let mut n = notification(p);
                n["associatedRule"] = json!({ "id": r.meta.id });
                if let Some(i) = rule_index.get(&r.meta.id) {
                    n["associatedRule"]["index"] = (*i).into();
                }
                notes.push(n);
            }
            _ => {}
        }
        if matches!(r.outcome, Outcome::Fail | Outcome::Pass) {
            for g in &r.gaps {
                let mut n = rule(
                    if g.is_error() { "error" } else { "warning" },
                    "snapaudit/rule-gap",
                    format!(
                        "rule `{}` could not see part of its data: {}",
                        r.meta.id, g.reason
                    ),
                );
                if let Some(file) = &g.file {
                    n["locations"] = json!([{ "physicalLocation": {
                        "artifactLocation": { "uri": file, "uriBaseId": "SNAPSHOT" }
                    } }]);
                }
                notes.push(n);
            }
        }
    }
    let mut inv = Map::new();
    inv.insert("executionSuccessful".into(), (!run.has_errors()).into());
    if !notes.is_empty() {
        inv.insert("toolExecutionNotifications".into(), Value::Array(notes));
    }
    Value::Object(inv)
}

/// A diagnostic as a SARIF notification, with its file and place when it has them.
pub(crate) fn notification(p: &Problem) -> Value {
    let mut n = Map::new();
    n.insert("descriptor".into(), json!({ "id": p.code() }));
    n.insert(
        "level".into(),
        if p.is_error() { "error" } else { "warning" }.into(),
    );
    let message = match &p.help {
        Some(help) => format!("{}\nhelp: {help}", p.message),
        None => p.message.clone(),
    };
    n.insert("message".into(), text(&message));
    if let Some(file) = &p.file {
        let mut physical = Map::new();
        let artifact = if p.kind.is_about_a_snapshot_file() {
            json!({ "uri": file, "uriBaseId": "SNAPSHOT" })
        } else {
            json!({ "uri": file })
        };
        physical.insert("artifactLocation".into(), artifact);
        // A problem inside the decoded credential report has its place in the CSV, not in
        // the file: it is in the message.
        if let Some((line, column)) = p
            .line_col()
            .filter(|_| p.kind != Kind::SnapshotCredentialReport)
        {
            physical.insert(
                "region".into(),
                json!({ "startLine": line, "startColumn": column }),
            );
        }
        n.insert(
            "locations".into(),
            json!([{ "physicalLocation": Value::Object(physical) }]),
        );
    }
    Value::Object(n)
}

/// A SARIF log for an audit that could not run: no results, the diagnostics that stopped
/// it as notifications.
pub fn render_failure(diagnostics: &[Problem]) -> Result<String, RenderError> {
    let mut inv = Map::new();
    inv.insert(
        "executionSuccessful".into(),
        (!crate::diagnostic::any_error(diagnostics)).into(),
    );
    inv.insert(
        "toolExecutionNotifications".into(),
        diagnostics.iter().map(notification).collect(),
    );
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": tool(None),
            "invocations": [Value::Object(inv)],
            "results": [],
        }]
    });
    pretty_json("sarif", &log)
}

/// A directory as SARIF wants a base: an absolute `file://` URI (`what` names it in the
/// error).
pub fn base_uri(dir: &std::path::Path, what: &str) -> Result<String, RenderError> {
    // A snapshot fetched from S3 is named by its location, not its temporary copy.
    if let Some(location) = crate::snapshot::origin::remote_of(dir) {
        return remote_uri(&location);
    }
    let absolute = dir
        .canonicalize()
        .or_else(|_| std::path::absolute(dir))
        .map_err(|e| {
            RenderError::new(
                "sarif",
                format!("the {what} directory has no absolute path: {e}"),
            )
        })?;
    url::Url::from_directory_path(&absolute)
        .map(|u| u.to_string())
        .map_err(|()| {
            RenderError::new(
                "sarif",
                format!("`{}` cannot be a file:// URI", absolute.display()),
            )
        })
}

/// `scheme://host/` of a fetched snapshot's location, with each part of the path
/// percent-encoded (a key with a space or `#`), ending in `/` as a base URI does.
fn remote_uri(location: &str) -> Result<String, RenderError> {
    let bad = |e: String| RenderError::new("sarif", format!("`{location}` cannot be a URI: {e}"));
    let (scheme, rest) = location
        .split_once("://")
        .ok_or_else(|| bad("no scheme".into()))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut uri =
        url::Url::parse(&format!("{scheme}://{host}/")).map_err(|e| bad(e.to_string()))?;
    uri.path_segments_mut()
        .map_err(|()| bad("no path".into()))?
        .pop_if_empty()
        .extend(path.split('/').filter(|p| !p.is_empty()))
        .push("");
    Ok(uri.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn remote_base_uris_are_percent_encoded() {
        assert_eq!(
            super::remote_uri("s3://audit-snapshots/org/2026 12#1/111122223333").ok(),
            Some("s3://audit-snapshots/org/2026%2012%231/111122223333/".to_owned())
        );
        assert_eq!(
            super::remote_uri("s3://audit-snapshots").ok(),
            Some("s3://audit-snapshots/".to_owned())
        );
    }
}
