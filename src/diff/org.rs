//! Two organisation directories across time: accounts added and removed, accounts whose
//! outcome changed, then each account in both compared with [`super::diff`] (in parallel,
//! with the rules compiled once). Output: human and versioned JSON (docs/organizations.md).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{output, DiffRun, Options, Status};
use crate::audit::Setup;
use crate::diagnostic::{Kind, Problem};
use crate::org::{OrgAccount, OrgDir};
use crate::report::human::Style;
use crate::report::{json, pretty_json, safe, RenderError};

pub const SCHEMA_VERSION: u32 = 1;

/// An account in both directories whose collection ended differently.
pub struct OutcomeChange {
    pub old: OrgAccount,
    pub new: OrgAccount,
}

/// One account compared.
pub struct AccountDiff {
    pub account: OrgAccount,
    pub diff: DiffRun,
}

/// An account in both directories that could not be compared, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotCompared {
    pub id: String,
    pub reason: String,
}

/// Everything a diff of two organisations found.
pub struct OrgDiff {
    pub old: OrgDir,
    pub new: OrgDir,
    pub added: Vec<OrgAccount>,
    pub removed: Vec<OrgAccount>,
    pub outcome_changed: Vec<OutcomeChange>,
    /// In account ID order.
    pub accounts: Vec<AccountDiff>,
    pub not_compared: Vec<NotCompared>,
    /// With the account each is about (`None`: the records of OLD or NEW).
    pub diagnostics: Vec<(Option<String>, Problem)>,
}

impl OrgDiff {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|(_, p)| p.is_error())
    }

    /// Whether any account has a new finding, or a finding grown more severe, at or above
    /// `threshold`.
    pub fn worse_at(&self, threshold: crate::rules::Severity) -> bool {
        self.accounts.iter().any(|a| {
            a.diff
                .findings
                .changes
                .iter()
                .any(|c| match (c.status, &c.old, &c.new) {
                    (Status::New, _, Some(f)) => f.severity >= threshold,
                    (Status::Changed, Some(x), Some(y)) => {
                        y.severity >= threshold && y.severity > x.severity
                    }
                    _ => false,
                })
        })
    }

    /// Ends the diff without freeing it (see [`crate::audit::Run::leak`]).
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

/// Compares the organisation directories `old` and `new`.
pub fn diff(
    setup: &Setup,
    old: &Path,
    new: &Path,
    options: &Options,
) -> Result<OrgDiff, Box<Problem>> {
    let old = OrgDir::load(old)?;
    let new = OrgDir::load(new)?;
    let mut diagnostics: Vec<(Option<String>, Problem)> = old
        .problems
        .iter()
        .chain(&new.problems)
        .map(|p| (None, p.clone()))
        .collect();
    let find = |dir: &OrgDir, id: &str| -> Option<OrgAccount> {
        dir.accounts
            .binary_search_by(|a| a.id.as_str().cmp(id))
            .ok()
            .and_then(|i| dir.accounts.get(i).cloned())
    };
    let removed: Vec<OrgAccount> = old
        .accounts
        .iter()
        .filter(|a| find(&new, &a.id).is_none())
        .cloned()
        .collect();
    let added: Vec<OrgAccount> = new
        .accounts
        .iter()
        .filter(|a| find(&old, &a.id).is_none())
        .cloned()
        .collect();
    let mut outcome_changed = Vec::new();
    let mut pairs = Vec::new();
    let mut not_compared = Vec::new();
    for b in &new.accounts {
        let Some(a) = find(&old, &b.id) else { continue };
        if a.outcome_name() != b.outcome_name() {
            outcome_changed.push(OutcomeChange {
                old: a.clone(),
                new: b.clone(),
            });
        }
        if let Some(r) = b.record.as_ref().filter(|r| r.outcome.is_failure()) {
            diagnostics.push((
                Some(b.id.clone()),
                Problem::new(
                    Kind::OrgNotCollected,
                    format!(
                        "account {} was not collected in NEW: {}{}",
                        b.id,
                        r.outcome.as_str(),
                        r.message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ),
                ),
            ));
        }
        match (&a.snapshot, &b.snapshot) {
            (Some(x), Some(y)) => pairs.push((b.clone(), x.clone(), y.clone())),
            (x, y) => not_compared.push(NotCompared {
                id: b.id.clone(),
                reason: format!(
                    "no snapshot in {} ({} in OLD, {} in NEW)",
                    match (x, y) {
                        (None, None) => "OLD and NEW",
                        (None, _) => "OLD",
                        _ => "NEW",
                    },
                    a.outcome_name(),
                    b.outcome_name()
                ),
            }),
        }
    }
    // One account in flight per thread, each keeping only what the report shows once
    // compared (as `check ORGDIR` does).
    let results: Vec<(OrgAccount, Result<DiffRun, Box<Problem>>)> =
        crate::audit::org::one_per_thread(&pairs, |(account, x, y)| {
            let d = super::diff(setup, x, y, options).map(|mut d| {
                let released = d.old.release_responses() & d.new.release_responses();
                debug_assert!(released, "nothing holds a compared snapshot");
                d
            });
            (account.clone(), d)
        });
    let mut accounts = Vec::new();
    for (account, result) in results {
        match result {
            Ok(d) => {
                diagnostics.extend(
                    d.diagnostics
                        .iter()
                        .map(|p| (Some(account.id.clone()), p.clone())),
                );
                accounts.push(AccountDiff { account, diff: d });
            }
            Err(p) => {
                not_compared.push(NotCompared {
                    id: account.id.clone(),
                    reason: p.message.clone(),
                });
                diagnostics.push((Some(account.id.clone()), *p));
            }
        }
    }
    not_compared.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(OrgDiff {
        old,
        new,
        added,
        removed,
        outcome_changed,
        accounts,
        not_compared,
        diagnostics,
    })
}

fn account_line(a: &OrgAccount) -> String {
    let t = safe::terminal;
    let name = a.name();
    let ou = a.ou_text();
    format!(
        "{}{}{} {}",
        a.id,
        if name.is_empty() {
            String::new()
        } else {
            format!(" ({})", t(name))
        },
        if ou.is_empty() {
            String::new()
        } else {
            format!(" [{}]", t(&ou))
        },
        a.outcome_name()
    )
}

fn org_line(dir: &OrgDir) -> String {
    let t = safe::terminal;
    format!(
        "{} {} (captured {})",
        t(&dir.display_dir),
        t(dir
            .organization_id
            .as_deref()
            .unwrap_or("unknown organisation")),
        t(dir.captured_at.as_deref().unwrap_or("unknown"))
    )
}

/// Human output: the accounts that came, went or changed outcome, then each compared
/// account's diff under a heading, then the totals.
pub fn render_human(style: Style, run: &OrgDiff) -> String {
    let t = safe::terminal;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "OLD {}\nNEW {}\n",
        org_line(&run.old),
        org_line(&run.new)
    );
    for (label, list) in [
        ("accounts added", &run.added),
        ("accounts removed", &run.removed),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "── {label} ({}) ──", list.len());
            for a in list {
                let _ = writeln!(out, "  {}", account_line(a));
            }
            out.push('\n');
        }
    }
    if !run.outcome_changed.is_empty() {
        let _ = writeln!(
            out,
            "── accounts whose outcome changed ({}) ──",
            run.outcome_changed.len()
        );
        for c in &run.outcome_changed {
            let _ = writeln!(
                out,
                "  {}: {} → {}",
                c.new.id,
                c.old.outcome_name(),
                c.new.outcome_name()
            );
        }
        out.push('\n');
    }
    if !run.not_compared.is_empty() {
        let _ = writeln!(
            out,
            "── accounts not compared ({}) ──",
            run.not_compared.len()
        );
        for n in &run.not_compared {
            let _ = writeln!(out, "  {}: {}", n.id, t(&n.reason));
        }
        out.push('\n');
    }
    for a in &run.accounts {
        let name = a.account.name();
        let _ = writeln!(
            out,
            "══ account {}{} ══\n",
            a.account.id,
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({})", t(name))
            }
        );
        out.push_str(&output::render_human(style, &a.diff));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "accounts: {} added, {} removed, {} outcome changed, {} compared, {} not compared",
        run.added.len(),
        run.removed.len(),
        run.outcome_changed.len(),
        run.accounts.len(),
        run.not_compared.len()
    );
    out
}

#[derive(Serialize)]
struct OrgOut<'a> {
    path: &'a str,
    organization_id: Option<&'a str>,
    captured_at: Option<&'a str>,
}

fn org_out(dir: &OrgDir) -> OrgOut<'_> {
    OrgOut {
        path: &dir.display_dir,
        organization_id: dir.organization_id.as_deref(),
        captured_at: dir.captured_at.as_deref(),
    }
}

#[derive(Serialize)]
struct AccountOut<'a> {
    id: &'a str,
    name: &'a str,
    ou_path: &'a [String],
    outcome: &'static str,
}

fn account_out(a: &OrgAccount) -> AccountOut<'_> {
    AccountOut {
        id: &a.id,
        name: a.name(),
        ou_path: a.ou_path(),
        outcome: a.outcome_name(),
    }
}

#[derive(Serialize)]
struct ChangeOut<'a> {
    id: &'a str,
    name: &'a str,
    old: &'static str,
    new: &'static str,
}

#[derive(Serialize)]
struct AccountsOut<'a> {
    added: Vec<AccountOut<'a>>,
    removed: Vec<AccountOut<'a>>,
    outcome_changed: Vec<ChangeOut<'a>>,
    not_compared: &'a [NotCompared],
}

#[derive(Serialize)]
struct PerAccount<'a> {
    account: AccountOut<'a>,
    diff: output::Output<'a>,
}

#[derive(Serialize)]
struct DiagnosticOut {
    account: Option<String>,
    #[serde(flatten)]
    diagnostic: json::DiagnosticOut,
}

#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    old: OrgOut<'a>,
    new: OrgOut<'a>,
    accounts: AccountsOut<'a>,
    per_account: Vec<PerAccount<'a>>,
    diagnostics: Vec<DiagnosticOut>,
}

/// JSON output; the same inputs give the same bytes.
pub fn render_json(run: &OrgDiff) -> Result<String, RenderError> {
    let out = Output {
        schema_version: SCHEMA_VERSION,
        old: org_out(&run.old),
        new: org_out(&run.new),
        accounts: AccountsOut {
            added: run.added.iter().map(account_out).collect(),
            removed: run.removed.iter().map(account_out).collect(),
            outcome_changed: run
                .outcome_changed
                .iter()
                .map(|c| ChangeOut {
                    id: &c.new.id,
                    name: c.new.name(),
                    old: c.old.outcome_name(),
                    new: c.new.outcome_name(),
                })
                .collect(),
            not_compared: &run.not_compared,
        },
        per_account: run
            .accounts
            .iter()
            .map(|a| PerAccount {
                account: account_out(&a.account),
                diff: output::document(&a.diff),
            })
            .collect(),
        diagnostics: run
            .diagnostics
            .iter()
            .map(|(account, p)| DiagnosticOut {
                account: account.clone(),
                diagnostic: json::diagnostic(p),
            })
            .collect(),
    };
    pretty_json("json", &out)
}
