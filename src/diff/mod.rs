//! Two snapshots of one account across time: which findings are new, resolved or changed,
//! and what changed in the raw responses ([`resources`]).
//!
//! A finding's identity is its rule id and resource id, never a position in a file. Rules
//! that did not run to the end in both snapshots (skip or error) are not compared: their
//! findings are neither new nor resolved.

pub mod org;
pub mod output;
pub mod resources;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::audit::{self, Run, Setup};
use crate::diagnostic::{Kind, Problem};
use crate::engine::{Finding, Outcome, RuleResult};
use crate::rules::Severity;
use resources::{ResourceDiff, Volatile};

/// The volatile values left out of resource changes unless asked for (documented in
/// docs/diff.md; `[diff] volatile` in snapaudit.toml replaces the list).
pub const DEFAULT_VOLATILE: &[&str] = &[
    // CloudTrail get-trail-status: move with every delivery
    "LatestDeliveryTime",
    "LatestDeliveryAttemptTime",
    "LatestDeliveryAttemptSucceeded",
    "LatestNotificationTime",
    "LatestNotificationAttemptTime",
    "LatestNotificationAttemptSucceeded",
    "LatestDigestDeliveryTime",
    "LatestDigestDeliveryError",
    "LatestCloudWatchLogsDeliveryTime",
    "TimeLoggingStarted",
    "TimeLoggingStopped",
    // IAM: last use of passwords and keys
    "PasswordLastUsed",
    "AccessKeyLastUsed.LastUsedDate",
    "AccessKeyLastUsed.Region",
    "AccessKeyLastUsed.ServiceName",
    "RoleLastUsed.LastUsedDate",
    "RoleLastUsed.Region",
    "GeneratedTime",
    // credential report columns
    "password_last_used",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    // CloudWatch alarm state bookkeeping
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "StateReason",
    "StateReasonData",
    // Trusted Advisor
    "timestamp",
];

/// What to compare besides the two snapshots.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How each snapshot is audited (`--as-of` applies to both).
    pub audit: audit::Options,
    /// Show changes of volatile values too (`--include-volatile`).
    pub include_volatile: bool,
    pub allow_different_accounts: bool,
    /// Keep unchanged findings in the output (`--all`).
    pub all: bool,
}

/// Everything one diff found: both audits, what moved, and every diagnostic of both.
pub struct DiffRun {
    pub old: Run,
    pub new: Run,
    pub findings: FindingDiff,
    pub resources: ResourceDiff,
    /// Show unchanged findings too (`--all`).
    pub all: bool,
    /// Both runs' diagnostics, each once.
    pub diagnostics: Vec<Problem>,
}

impl DiffRun {
    pub fn has_errors(&self) -> bool {
        crate::diagnostic::any_error(&self.diagnostics)
    }

    /// Ends the diff without freeing it (see [`Run::leak`]).
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

/// Audits `old` and `new` with the same setup and compares them: findings by rule and
/// resource, raw responses by natural ids (volatile values left out unless asked for).
pub fn diff(
    setup: &Setup,
    old: &Path,
    new: &Path,
    options: &Options,
) -> Result<DiffRun, Box<Problem>> {
    let old = audit::audit(setup, old, &options.audit)?;
    let new = audit::audit(setup, new, &options.audit)?;
    let (a, b) = (old.snapshot(), new.snapshot());
    if !options.allow_different_accounts {
        if let Some(unknown) = [a, b].into_iter().find(|s| s.account_id.is_empty()) {
            return Err(Box::new(Problem::new(
                Kind::UsageDifferentAccounts,
                format!(
                    "cannot tell that the two snapshots are of one account: `{}` names no account (no manifest account_id, no sts/get-caller-identity.json)",
                    unknown.display_dir
                ),
            )));
        }
    }
    if !options.allow_different_accounts && a.account_id != b.account_id {
        return Err(Box::new(Problem::new(
            Kind::UsageDifferentAccounts,
            format!(
                "`{}` is account {} but `{}` is account {}",
                a.display_dir, a.account_id, b.display_dir, b.account_id
            ),
        )));
    }
    let findings = diff_findings(&old.results, &new.results, &old.findings, &new.findings);
    let volatile = match (&setup.config.volatile, options.include_volatile) {
        (_, true) => Volatile::none(),
        (Some(list), false) => Volatile::new(list),
        (None, false) => Volatile::new(DEFAULT_VOLATILE),
    };
    let resources = resources::diff(a, b, &volatile);
    let mut diagnostics: Vec<Problem> = Vec::new();
    for p in old.diagnostics.iter().chain(&new.diagnostics) {
        let same = |q: &Problem| {
            q.kind == p.kind
                && q.message == p.message
                && q.file == p.file
                && q.line_col() == p.line_col()
        };
        if !diagnostics.iter().any(same) {
            diagnostics.push(p.clone());
        }
    }
    Ok(DiffRun {
        old,
        new,
        findings,
        resources,
        all: options.all,
        diagnostics,
    })
}

/// How a finding moved between the snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Resolved,
    Changed,
    Unchanged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Resolved => "resolved",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// One finding's fate: `old` is set unless new, `new` unless resolved.
#[derive(Debug, Clone)]
pub struct FindingChange {
    pub status: Status,
    pub old: Option<Finding>,
    pub new: Option<Finding>,
}

impl FindingChange {
    /// The finding as it is now (or was, when resolved).
    pub fn current(&self) -> Option<&Finding> {
        self.new.as_ref().or(self.old.as_ref())
    }
}

/// A rule that did not run to the end in one of the snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct NotCompared {
    pub rule_id: String,
    pub old: &'static str,
    pub new: &'static str,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct FindingDiff {
    pub changes: Vec<FindingChange>,
    pub not_compared: Vec<NotCompared>,
}

impl FindingDiff {
    pub fn count(&self, status: Status) -> usize {
        self.changes.iter().filter(|c| c.status == status).count()
    }
}

/// A message with its numbers masked: ages and counts that move with time alone (`120 days
/// ago` → `148 days ago`) do not make a finding changed.
fn shape(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_number = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

fn outcome_reason(r: &RuleResult) -> Option<String> {
    match &r.outcome {
        Outcome::Skip(reason) => Some(reason.clone()),
        Outcome::Error(p) => Some(p.message.clone()),
        _ => None,
    }
}

/// Matches the findings of two runs of the same rules by rule id and resource id. Rules
/// that did not run to the end in both runs are not compared.
pub fn diff_findings(
    old_results: &[RuleResult],
    new_results: &[RuleResult],
    old: &[Finding],
    new: &[Finding],
) -> FindingDiff {
    let by_id = |rs: &[RuleResult]| -> BTreeMap<String, RuleResult> {
        rs.iter().map(|r| (r.meta.id.clone(), r.clone())).collect()
    };
    let (oa, ob) = (by_id(old_results), by_id(new_results));
    let finished = |m: &BTreeMap<String, RuleResult>, id: &str| {
        m.get(id)
            .is_some_and(|r| matches!(r.outcome, Outcome::Pass | Outcome::Fail))
    };
    let comparable = |id: &str| finished(&oa, id) && finished(&ob, id);
    let group = |fs: &[Finding]| -> BTreeMap<PairKey, Vec<Finding>> {
        let mut m: BTreeMap<PairKey, Vec<Finding>> = BTreeMap::new();
        for f in fs.iter().filter(|f| comparable(&f.rule.id)) {
            m.entry((f.rule.id.clone(), f.resource.id.clone()))
                .or_default()
                .push(f.clone());
        }
        m
    };
    let mut changes = pair(group(old), group(new));
    changes.sort_by(|a, b| {
        let key = |c: &FindingChange| {
            let f = c.current();
            (
                c.status,
                std::cmp::Reverse(f.map(|f| f.severity).unwrap_or(Severity::Info)),
                f.map(|f| f.rule.id.clone()),
                f.map(|f| f.resource.id.clone()),
                f.map(|f| f.message.clone()),
            )
        };
        key(a).cmp(&key(b))
    });
    FindingDiff {
        changes,
        not_compared: not_compared(&oa, &ob, &comparable),
    }
}

/// The rules that did not run to the end in one of the runs, with why.
fn not_compared(
    oa: &BTreeMap<String, RuleResult>,
    ob: &BTreeMap<String, RuleResult>,
    comparable: &dyn Fn(&str) -> bool,
) -> Vec<NotCompared> {
    let mut out = Vec::new();
    let ids: std::collections::BTreeSet<&String> = oa.keys().chain(ob.keys()).collect();
    for id in ids {
        if comparable(id) {
            continue;
        }
        let (a, b) = (oa.get(id), ob.get(id));
        // Skipped in both for the same reason (a `source.*` rule without --source): nothing
        // changed and nothing could be compared; not worth a line every time.
        if let (Some(x), Some(y)) = (a, b) {
            if let (Outcome::Skip(r1), Outcome::Skip(r2)) = (&x.outcome, &y.outcome) {
                if r1 == r2 {
                    continue;
                }
            }
        }
        let reason = b
            .and_then(outcome_reason)
            .map(|r| format!("in NEW: {r}"))
            .or_else(|| a.and_then(outcome_reason).map(|r| format!("in OLD: {r}")))
            .unwrap_or_else(|| "the rule is in only one of the runs".into());
        out.push(NotCompared {
            rule_id: id.clone(),
            old: a.map(|r| r.outcome.name()).unwrap_or("missing"),
            new: b.map(|r| r.outcome.name()).unwrap_or("missing"),
            reason,
        });
    }
    out
}

/// A finding's identity across the runs: rule id and resource id.
type PairKey = (String, String);

/// Pairs the findings of each rule and resource: the same severity and message shape are
/// unchanged; what is left pairs up as changed; the rest is new or resolved.
fn pair(
    mut old: BTreeMap<PairKey, Vec<Finding>>,
    mut new: BTreeMap<PairKey, Vec<Finding>>,
) -> Vec<FindingChange> {
    let keys: std::collections::BTreeSet<PairKey> = old.keys().chain(new.keys()).cloned().collect();
    let mut out = Vec::new();
    for key in keys {
        // Every key comes from one of the two groups; the other may not have it.
        let mut left = old.remove(&key).unwrap_or_default();
        let mut right = new.remove(&key).unwrap_or_default();
        let mut i = 0;
        while i < right.len() {
            let b = &right[i];
            if let Some(j) = left
                .iter()
                .position(|a| a.severity == b.severity && shape(&a.message) == shape(&b.message))
            {
                let a = left.remove(j);
                let b = right.remove(i);
                out.push(FindingChange {
                    status: Status::Unchanged,
                    old: Some(a),
                    new: Some(b),
                });
            } else {
                i += 1;
            }
        }
        let mut left = left.into_iter();
        for b in right {
            out.push(match left.next() {
                Some(a) => FindingChange {
                    status: Status::Changed,
                    old: Some(a),
                    new: Some(b),
                },
                None => FindingChange {
                    status: Status::New,
                    old: None,
                    new: Some(b),
                },
            });
        }
        for a in left {
            out.push(FindingChange {
                status: Status::Resolved,
                old: Some(a),
                new: None,
            });
        }
    }
    out
}
