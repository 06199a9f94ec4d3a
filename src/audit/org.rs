//! An organisation's audit: every member account's snapshot through the same pipeline, with
//! the rules compiled once ([`Setup`]), one account per thread of rayon's pool at a time,
//! giving one [`OrgRun`] in account order. Each account keeps only what the report shows
//! once it is audited, so memory holds the accounts in flight and the findings.
//!
//! Waivers are applied per account with the account's ID and OU path; their expired and
//! unused warnings are given once, for the whole organisation.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::{audit_loaded_with, scan_sources, Options, Run, Setup};
use crate::diagnostic::{Kind, Problem};
use crate::org::{OrgAccount, OrgDir};
use crate::rules::Severity;
use crate::snapshot::Snapshot;
use crate::waivers::{Scope, Usage};

/// One member account's audit.
pub struct AccountRun {
    pub account: OrgAccount,
    /// The audit, when the account has a snapshot that could be read.
    pub run: Option<Run>,
    /// Problems of this account outside its run: a snapshot that could not be read, a
    /// manifest naming another account, an account that was not collected.
    pub problems: Vec<Problem>,
}

impl AccountRun {
    pub fn has_errors(&self) -> bool {
        crate::diagnostic::any_error(&self.problems)
            || self.run.as_ref().is_some_and(Run::has_errors)
    }

    /// Every diagnostic of the account: its own, then its run's.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .chain(self.run.iter().flat_map(|r| r.diagnostics.iter()))
    }
}

/// Every account audited, and the organisation's own diagnostics.
pub struct OrgRun {
    pub org: OrgDir,
    /// In account ID order.
    pub accounts: Vec<AccountRun>,
    /// The records' and folders' problems, then the waivers' warnings.
    pub diagnostics: Vec<Problem>,
}

impl OrgRun {
    /// True when any account or the organisation has an error (exit code 2).
    pub fn has_errors(&self) -> bool {
        crate::diagnostic::any_error(&self.diagnostics)
            || self.accounts.iter().any(AccountRun::has_errors)
    }

    /// Whether any open finding is at or above `threshold`.
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.accounts
            .iter()
            .filter_map(|a| a.run.as_ref())
            .any(|r| r.open_findings().any(|f| f.severity >= threshold))
    }

    /// Open findings per severity over every account.
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for r in self.accounts.iter().filter_map(|a| a.run.as_ref()) {
            for (s, n) in r.counts() {
                *counts.entry(s).or_default() += n;
            }
        }
        counts
    }

    /// Accounts per outcome name (`unrecorded` for folders no record names).
    pub fn outcomes(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for a in &self.accounts {
            *counts.entry(a.account.outcome_name()).or_default() += 1;
        }
        counts
    }

    /// Ends the run without freeing it (see [`Run::leak`]).
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

/// Audits every account of the organisation directory `dir`. Only a directory that cannot
/// be read, or a source tree that is not a directory, stops it.
pub fn audit(setup: &Setup, dir: &Path, options: &Options) -> Result<OrgRun, Box<Problem>> {
    let org = OrgDir::load(dir)?;
    let sources = scan_sources(&options.sources, &options.scan)?;
    Ok(audit_org(setup, org, sources, options))
}

/// Audits the accounts of a loaded organisation view.
pub fn audit_org(
    setup: &Setup,
    org: OrgDir,
    sources: Option<Arc<crate::scan::SourceScan>>,
    options: &Options,
) -> OrgRun {
    let load = setup.config.limits.load_options(options.as_of);
    let usage = Mutex::new(setup.waivers.as_ref().map(|w| w.unused()));
    let audit_one = |account: &OrgAccount| -> AccountRun {
        let mut problems = Vec::new();
        if let Some(r) = account.record.as_ref().filter(|r| r.outcome.is_failure()) {
            problems.push(Problem::new(
                Kind::OrgNotCollected,
                format!(
                    "account {} ({}) was not collected: {}{}",
                    account.id,
                    if r.name.is_empty() {
                        "no name"
                    } else {
                        &r.name
                    },
                    r.outcome.as_str(),
                    r.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            ));
        }
        let Some(dir) = &account.snapshot else {
            return AccountRun {
                account: account.clone(),
                run: None,
                problems,
            };
        };
        let snapshot = match Snapshot::load(dir, &load) {
            Ok(s) => Arc::new(s),
            Err(p) => {
                problems.push(*p);
                return AccountRun {
                    account: account.clone(),
                    run: None,
                    problems,
                };
            }
        };
        if !snapshot.account_id.is_empty() && snapshot.account_id != account.id {
            problems.push(Problem::new(
                Kind::OrgAccountMismatch,
                format!(
                    "the snapshot in `{}` is of account {}, not {}",
                    org.display_account(&account.id),
                    snapshot.account_id,
                    account.id
                ),
            ));
        }
        let scope = Scope {
            account: &account.id,
            ou_path: Some(account.ou_path()),
        };
        let run = audit_loaded_with(
            setup,
            snapshot,
            sources.clone(),
            options.keep_text,
            &mut |findings, snapshot| {
                let Some(waivers) = &setup.waivers else {
                    return Vec::new();
                };
                match waivers.mark(findings, &scope, snapshot.now) {
                    Ok(used) => {
                        // Poisoned only by a panic in another account's audit, which
                        // rayon raises again here: the count is never read then.
                        let mut total = usage
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if let Some(total) = total.as_mut() {
                            total.add(&used);
                        }
                        Vec::new()
                    }
                    Err(p) => vec![*p],
                }
            },
        );
        // The report needs the findings, not the responses they were found in.
        let mut run = run;
        let released = run.release_responses();
        debug_assert!(released, "nothing holds an audited snapshot");
        AccountRun {
            account: account.clone(),
            run: Some(run),
            problems,
        }
    };
    let accounts: Vec<AccountRun> = one_per_thread(&org.accounts, audit_one);
    let mut diagnostics = org.problems.clone();
    // As for one snapshot: an audit that looked at nothing must not pass.
    if accounts.iter().all(|a| a.run.is_none()) {
        diagnostics.push(
            Problem::new(
                Kind::AuditNothingDecided,
                format!(
                    "no account of `{}` was audited: {} accounts, none with a snapshot",
                    org.display_dir,
                    accounts.len()
                ),
            )
            .with_help("an organisation directory holds one snapshot folder per collected account, named by its account ID (docs/organizations.md)"),
        );
    }
    if let Some(waivers) = &setup.waivers {
        let used: Usage = usage
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unwrap_or_else(|| waivers.unused());
        diagnostics.extend(waivers.report(&used));
    }
    OrgRun {
        org,
        accounts,
        diagnostics,
    }
}

/// `f` over `items` with at most one item in flight per thread of rayon's pool, results in
/// the items' order. Each account's loading and rules are parallel inside it; with all
/// accounts in one parallel iterator, a thread that waits inside one account's work would
/// steal the next account, so nearly all of them would be loaded at once. Here a fixed set
/// of workers takes the next item when it finishes one.
pub(crate) fn one_per_thread<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    let workers = rayon::current_num_threads().clamp(1, items.len().max(1));
    rayon::scope(|s| {
        for _ in 0..workers {
            s.spawn(|_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(item);
                // Poisoned only by a panic in another worker, which the scope raises again.
                done.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((i, result));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_per_thread_keeps_the_order_of_the_items() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled = super::one_per_thread(&items, |x| x * 2);
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(super::one_per_thread(&Vec::<u32>::new(), |x| *x).is_empty());
    }
}
