//! An organisation's audit ([`OrgRun`]) in every format of `check`: a summary table of the
//! accounts (ID, name, OU path, outcome, rule results, open findings by severity), and the
//! findings, each carrying its account (docs/organizations.md). Accounts come in ID order;
//! within an account everything is as in the single-snapshot formats, so the same inputs
//! give the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};

use super::human::{self, Style};
use super::{json as json_out, pretty_json, safe, RenderError};
use crate::audit::org::{AccountRun, OrgRun};
use crate::diagnostic::Problem;
use crate::org::AccountRecord;
use crate::rules::Severity;

/// One row of the accounts table.
struct Row<'a> {
    id: &'a str,
    name: &'a str,
    ou: String,
    outcome: &'static str,
    /// pass, fail, skip, error; `None` when the account was not audited.
    rules: Option<BTreeMap<&'static str, usize>>,
    findings: Option<BTreeMap<Severity, usize>>,
}

fn row(a: &AccountRun) -> Row<'_> {
    Row {
        id: &a.account.id,
        name: a.account.name(),
        ou: a.account.ou_text(),
        outcome: a.account.outcome_name(),
        rules: a.run.as_ref().map(|r| r.outcomes()),
        findings: a.run.as_ref().map(|r| r.counts()),
    }
}

/// The severities most severe first, as the tables show them.
fn severities() -> impl Iterator<Item = Severity> {
    Severity::ALL.iter().copied()
}

/// The accounts table as plain text columns (for the human output).
pub fn accounts_table(run: &OrgRun) -> String {
    let t = |s: &str| safe::terminal(s).into_owned();
    let mut header: Vec<String> = [
        "account", "name", "ou", "outcome", "pass", "fail", "skip", "error",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    header.extend(severities().map(|s| s.to_string()));
    let mut lines: Vec<Vec<String>> = vec![header];
    for a in &run.accounts {
        let r = row(a);
        let mut cells = vec![
            r.id.to_owned(),
            if r.name.is_empty() {
                "-".into()
            } else {
                t(r.name)
            },
            if r.ou.is_empty() {
                "-".into()
            } else {
                t(&r.ou)
            },
            r.outcome.to_owned(),
        ];
        match &r.rules {
            Some(rules) => cells.extend(
                ["pass", "fail", "skip", "error"]
                    .iter()
                    .map(|k| rules.get(k).copied().unwrap_or(0).to_string()),
            ),
            None => cells.extend(std::iter::repeat_n("-".to_owned(), 4)),
        }
        match &r.findings {
            Some(f) => {
                cells.extend(severities().map(|s| f.get(&s).copied().unwrap_or(0).to_string()))
            }
            None => cells.extend(severities().map(|_| "-".to_owned())),
        }
        lines.push(cells);
    }
    let columns = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            lines
                .iter()
                .map(|l| l.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let mut line = String::new();
        for (i, cell) in l.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == l.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The closing lines: accounts per outcome, open findings per severity over all accounts.
pub fn summary(run: &OrgRun) -> String {
    let outcomes: Vec<String> = run
        .outcomes()
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let counts = run.counts();
    let total: usize = counts.values().sum();
    let by_sev: Vec<String> = severities()
        .map(|s| format!("{} {s}", counts.get(&s).copied().unwrap_or(0)))
        .collect();
    format!(
        "{} accounts: {}\n{total} findings: {}\n",
        run.accounts.len(),
        outcomes.join(", "),
        by_sev.join(", ")
    )
}

/// Human output: each audited account's findings and summary under a heading, then the
/// accounts table and the organisation's totals.
pub fn render_human(style: Style, run: &OrgRun) -> String {
    let t = safe::terminal;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "organisation {} ({}), {} accounts\n",
        t(run.org.organization_id.as_deref().unwrap_or("unknown")),
        t(&run.org.display_dir),
        run.accounts.len()
    );
    for a in &run.accounts {
        let Some(r) = &a.run else { continue };
        let name = a.account.name();
        let _ = writeln!(
            out,
            "══ account {}{} ══\n",
            t(&a.account.id),
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({})", t(name))
            }
        );
        out.push_str(&human::render_run(style, r));
        out.push('\n');
    }
    out.push_str("══ organisation ══\n\n");
    out.push_str(&accounts_table(run));
    out.push('\n');
    out.push_str(&summary(run));
    out
}

#[derive(Serialize)]
struct OrganizationOut<'a> {
    path: &'a str,
    organization_id: Option<&'a str>,
    management_account_id: Option<&'a str>,
    captured_at: Option<&'a str>,
}

#[derive(Serialize)]
struct OrgSummary {
    accounts: BTreeMap<&'static str, usize>,
    accounts_audited: usize,
    rules: BTreeMap<&'static str, usize>,
    findings: BTreeMap<Severity, usize>,
    total_findings: usize,
    open_findings: usize,
    waived: usize,
}

#[derive(Serialize)]
struct AccountOut<'a> {
    id: &'a str,
    /// What the records say (`null` for a folder no record names).
    record: Option<&'a AccountRecord>,
    outcome: &'static str,
    audited: bool,
    snapshot: Option<json_out::SnapshotInfo<'a>>,
    summary: Option<json_out::Summary>,
    rules: Vec<json_out::RuleOut<'a>>,
}

#[derive(Serialize)]
struct AccountRef<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    account: AccountRef<'a>,
    #[serde(flatten)]
    finding: json_out::FindingOut<'a>,
}

#[derive(Serialize)]
struct DiagnosticOut {
    /// The account it is about; `null` for the organisation's records and the waivers.
    account: Option<String>,
    #[serde(flatten)]
    diagnostic: json_out::DiagnosticOut,
}

#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    tool: json_out::Tool,
    organization: OrganizationOut<'a>,
    summary: OrgSummary,
    accounts: Vec<AccountOut<'a>>,
    findings: Vec<FindingOut<'a>>,
    diagnostics: Vec<DiagnosticOut>,
}

/// Every diagnostic with the account it is about: the organisation's first, then each
/// account's in account order.
pub fn diagnostics(run: &OrgRun) -> Vec<(Option<&str>, &Problem)> {
    let mut out: Vec<(Option<&str>, &Problem)> =
        run.diagnostics.iter().map(|p| (None, p)).collect();
    for a in &run.accounts {
        out.extend(a.diagnostics().map(|p| (Some(a.account.id.as_str()), p)));
    }
    out
}

/// The versioned JSON document of an organisation's audit (docs/organizations.md).
pub fn render_json(run: &OrgRun) -> Result<String, RenderError> {
    let org = &run.org;
    let mut rules: BTreeMap<&'static str, usize> = ["pass", "fail", "skip", "error"]
        .into_iter()
        .map(|k| (k, 0))
        .collect();
    let (mut total, mut open) = (0, 0);
    for r in run.accounts.iter().filter_map(|a| a.run.as_ref()) {
        for (k, n) in r.outcomes() {
            *rules.entry(k).or_default() += n;
        }
        total += r.findings.len();
        open += r.open_findings().count();
    }
    let accounts = run
        .accounts
        .iter()
        .map(|a| AccountOut {
            id: &a.account.id,
            record: a.account.record.as_ref(),
            outcome: a.account.outcome_name(),
            audited: a.run.is_some(),
            snapshot: a
                .run
                .as_ref()
                .map(|r| json_out::snapshot_info(r.snapshot())),
            summary: a.run.as_ref().map(json_out::summary),
            rules: a.run.as_ref().map(json_out::rules).unwrap_or_default(),
        })
        .collect();
    let mut findings = Vec::new();
    for a in &run.accounts {
        let Some(r) = &a.run else { continue };
        findings.extend(r.findings.iter().map(|f| FindingOut {
            account: AccountRef {
                id: &a.account.id,
                name: a.account.name(),
            },
            finding: json_out::finding(f),
        }));
    }
    let out = Output {
        schema_version: json_out::SCHEMA_VERSION,
        tool: json_out::tool(),
        organization: OrganizationOut {
            path: &org.display_dir,
            organization_id: org.organization_id.as_deref(),
            management_account_id: org.management_account_id.as_deref(),
            captured_at: org.captured_at.as_deref(),
        },
        summary: OrgSummary {
            accounts: run.outcomes(),
            accounts_audited: run.accounts.iter().filter(|a| a.run.is_some()).count(),
            rules,
            findings: run.counts(),
            total_findings: total,
            open_findings: open,
            waived: total - open,
        },
        accounts,
        findings,
        diagnostics: diagnostics(run)
            .into_iter()
            .map(|(account, p)| DiagnosticOut {
                account: account.map(str::to_owned),
                diagnostic: json_out::diagnostic(p),
            })
            .collect(),
    };
    pretty_json("json", &out)
}

/// CSV: `account_id` and `account_name` before the columns of `check`, one row per finding
/// and gap of each audited account, and one `account` row per account that was not audited
/// (its outcome in `message`).
pub fn render_csv(run: &OrgRun) -> Result<String, RenderError> {
    let mut header = vec!["account_id", "account_name"];
    header.extend(super::csv::COLUMNS);
    let mut rows = Vec::new();
    for a in &run.accounts {
        let prefix = [a.account.id.clone(), a.account.name().to_owned()];
        match &a.run {
            Some(r) => {
                for mut cells in super::csv::rows(r) {
                    let mut row = prefix.to_vec();
                    row.append(&mut cells);
                    rows.push(row);
                }
            }
            None => {
                let mut row = prefix.to_vec();
                row.extend(std::iter::repeat_n(
                    String::new(),
                    super::csv::COLUMNS.len(),
                ));
                let message = a
                    .account
                    .record
                    .as_ref()
                    .and_then(|r| r.message.clone())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                // `message` is the sixth column of `check`'s, `row` the last.
                row[2 + 5] = format!("not audited: {}{message}", a.account.outcome_name());
                if let Some(last) = row.last_mut() {
                    *last = "account".to_owned();
                }
                rows.push(row);
            }
        }
    }
    super::csv::write(&header, &rows)
}

/// Moves a location of one account's log under the organisation's base: `uri` gains the
/// account's folder, `uriBaseId` becomes `ORGANIZATION`.
fn rebase(value: &mut Value, account: &str) {
    match value {
        Value::Object(map) => {
            if map.get("uriBaseId").and_then(Value::as_str) == Some("SNAPSHOT") {
                if let Some(Value::String(uri)) = map.get_mut("uri") {
                    *uri = format!("{account}/{uri}");
                }
                map.insert("uriBaseId".into(), "ORGANIZATION".into());
            }
            for v in map.values_mut() {
                rebase(v, account);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase(v, account)),
        _ => {}
    }
}

/// Puts the account in a result's or notification's `properties`.
fn tag(value: &mut Value, id: &str, name: &str) {
    if let Value::Object(map) = value {
        let props = map
            .entry("properties")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(p) = props {
            p.insert("account_id".into(), id.into());
            p.insert("account_name".into(), name.into());
        }
    }
}

/// SARIF: one run for the organisation; each result carries its account in `properties`,
/// and its location relative to the `ORGANIZATION` base (`<account id>/<file>`).
pub fn render_sarif(run: &OrgRun) -> Result<String, RenderError> {
    let mut tool = None;
    let mut results = Vec::new();
    let mut notes: Vec<Value> = run
        .diagnostics
        .iter()
        .map(super::sarif::notification)
        .collect();
    for a in &run.accounts {
        let (id, name) = (a.account.id.as_str(), a.account.name());
        for p in &a.problems {
            let mut n = super::sarif::notification(p);
            rebase(&mut n, id);
            tag(&mut n, id, name);
            notes.push(n);
        }
        let Some(r) = &a.run else { continue };
        let mut log = super::sarif::log(r)?;
        let Some(one) = log.get_mut("runs").and_then(|r| r.get_mut(0)) else {
            continue;
        };
        rebase(one, id);
        if tool.is_none() {
            tool = one.get("tool").cloned();
        }
        if let Some(Value::Array(rs)) = one.get_mut("results") {
            for mut result in rs.drain(..) {
                tag(&mut result, id, name);
                results.push(result);
            }
        }
        if let Some(Value::Array(ns)) = one
            .get_mut("invocations")
            .and_then(|i| i.get_mut(0))
            .and_then(|i| i.get_mut("toolExecutionNotifications"))
        {
            for mut n in ns.drain(..) {
                tag(&mut n, id, name);
                notes.push(n);
            }
        }
    }
    let base = super::sarif::base_uri(&run.org.dir, "organisation")?;
    let mut invocation = serde_json::Map::new();
    invocation.insert("executionSuccessful".into(), (!run.has_errors()).into());
    if !notes.is_empty() {
        invocation.insert("toolExecutionNotifications".into(), Value::Array(notes));
    }
    let accounts: Vec<Value> = run
        .accounts
        .iter()
        .map(|a| {
            json!({
                "account_id": a.account.id,
                "account_name": a.account.name(),
                "ou_path": a.account.ou_path(),
                "outcome": a.account.outcome_name(),
                "audited": a.run.is_some(),
            })
        })
        .collect();
    let org_id = run.org.organization_id.as_deref().unwrap_or("unknown");
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": tool.unwrap_or_else(|| super::sarif::tool(None)),
            "originalUriBaseIds": {
                "ORGANIZATION": { "uri": base, "description": { "text": "the organisation directory" } }
            },
            "automationDetails": { "id": format!("snapaudit/{org_id}/") },
            "invocations": [Value::Object(invocation)],
            "results": results,
            "properties": {
                "organization_id": run.org.organization_id,
                "accounts": accounts,
            },
        }]
    });
    pretty_json("sarif", &log)
}

/// JUnit XML: an `organization` suite with a case per account (an error for an account that
/// was not collected, skipped for one left out on purpose), then each audited account's
/// suites named `<account id>/<service>`, then the organisation's diagnostics.
pub fn render_junit(run: &OrgRun) -> String {
    let esc = safe::xml;
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    let mut org_suite = String::new();
    let (mut org_errors, mut org_skipped) = (0, 0);
    for a in &run.accounts {
        let name = a.account.name();
        let case = format!(
            "    <testcase name=\"account {}{}\" classname=\"organization\" time=\"0\"",
            esc(&a.account.id),
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({})", esc(name))
            }
        );
        let message = a
            .account
            .record
            .as_ref()
            .and_then(|r| r.message.as_deref())
            .unwrap_or("");
        match a.account.record.as_ref().map(|r| r.outcome) {
            Some(o) if o.is_failure() => {
                org_errors += 1;
                let _ = writeln!(
                    org_suite,
                    "{case}>\n      <error message=\"{}\" type=\"not-collected\">{}</error>\n    </testcase>",
                    esc(o.as_str()),
                    esc(message)
                );
            }
            Some(o) if !o.has_snapshot() => {
                org_skipped += 1;
                let _ = writeln!(
                    org_suite,
                    "{case}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                    esc(o.as_str())
                );
            }
            _ => {
                let _ = writeln!(org_suite, "{case}/>");
            }
        }
    }
    let mut body = String::new();
    let _ = writeln!(
        body,
        "  <testsuite name=\"organization\" tests=\"{}\" failures=\"0\" errors=\"{org_errors}\" skipped=\"{org_skipped}\" time=\"0\">",
        run.accounts.len()
    );
    body.push_str(&org_suite);
    body.push_str("  </testsuite>\n");
    tests += run.accounts.len();
    errors += org_errors;
    skipped += org_skipped;
    for a in &run.accounts {
        let Some(r) = &a.run else { continue };
        let b = super::junit::body(r, &format!("{}/", a.account.id));
        body.push_str(&b.text);
        tests += b.tests;
        failures += b.failures;
        errors += b.errors;
        skipped += b.skipped;
    }
    // The organisation's diagnostics, and the accounts' own (not-collected accounts are
    // the error cases above).
    let own: Vec<&Problem> = run
        .diagnostics
        .iter()
        .chain(run.accounts.iter().flat_map(|a| {
            a.problems
                .iter()
                .filter(|p| p.kind != crate::diagnostic::Kind::OrgNotCollected)
        }))
        .collect();
    let own_errors = own.iter().filter(|p| p.is_error()).count();
    body.push_str(&super::junit::diagnostics_suite(
        &own,
        "organization/diagnostics",
    ));
    tests += own_errors;
    errors += own_errors;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"snapaudit {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\">\n{body}</testsuites>\n",
        esc(&run.org.display_dir)
    )
}

/// Markdown: the accounts table, the organisation's diagnostics, then each audited
/// account's report as `check` writes it.
pub fn render_markdown(run: &OrgRun) -> String {
    let cell = safe::markdown_text;
    let code = |t: &str| safe::markdown_code(t, true);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# snapaudit: organisation {}\n",
        cell(run.org.organization_id.as_deref().unwrap_or("unknown"))
    );
    let counts = run.counts();
    let _ = writeln!(
        out,
        "{} accounts, {} audited; **{} findings** ({}).\n",
        run.accounts.len(),
        run.accounts.iter().filter(|a| a.run.is_some()).count(),
        counts.values().sum::<usize>(),
        severities()
            .map(|s| format!("{} {s}", counts.get(&s).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str("| Account | Name | OU | Outcome | Pass | Fail | Skip | Error |");
    for s in severities() {
        let _ = write!(out, " {s} |");
    }
    out.push_str("\n|---|---|---|---|---:|---:|---:|---:|");
    for _ in severities() {
        out.push_str("---:|");
    }
    out.push('\n');
    for a in &run.accounts {
        let r = row(a);
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            code(r.id),
            cell(r.name),
            cell(&r.ou),
            if a.account
                .record
                .as_ref()
                .is_some_and(|x| x.outcome.is_failure())
            {
                format!("**{}**", r.outcome)
            } else {
                r.outcome.to_owned()
            }
        );
        for k in ["pass", "fail", "skip", "error"] {
            let v = r.rules.as_ref().map_or("-".to_owned(), |m| {
                m.get(k).copied().unwrap_or(0).to_string()
            });
            let _ = write!(out, " {v} |");
        }
        for s in severities() {
            let v = r.findings.as_ref().map_or("-".to_owned(), |m| {
                m.get(&s).copied().unwrap_or(0).to_string()
            });
            let _ = write!(out, " {v} |");
        }
        out.push('\n');
    }
    let own: Vec<(Option<&str>, &Problem)> = run
        .diagnostics
        .iter()
        .map(|p| (None, p))
        .chain(
            run.accounts
                .iter()
                .flat_map(|a| a.problems.iter().map(|p| (Some(a.account.id.as_str()), p))),
        )
        .collect();
    if !own.is_empty() {
        out.push_str("\n### Organisation diagnostics\n\n| Level | Code | Account | Message |\n|---|---|---|---|\n");
        for (account, p) in own {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                if p.is_error() { "**error**" } else { "warning" },
                code(p.code()),
                account.map_or("-".to_owned(), code),
                cell(&p.message)
            );
        }
    }
    for a in &run.accounts {
        if let Some(r) = &a.run {
            out.push('\n');
            out.push_str(&super::markdown::render(r));
        }
    }
    out
}

/// OCSF: every audited account's Detection Findings in one array, each naming its account
/// (`cloud.account.uid` and `name`). Accounts that were not audited have no findings to
/// show; the exit code and the other formats say so.
pub fn render_ocsf(run: &OrgRun) -> Result<String, RenderError> {
    let mut all = Vec::new();
    for a in &run.accounts {
        if let Some(r) = &a.run {
            all.extend(super::ocsf::account_findings(r, a.account.name())?);
        }
    }
    pretty_json("ocsf", &all)
}
