//! The audit pipeline, in one place: config → load the snapshot → scan sources → run the
//! rules → locate the findings → apply the waivers, giving one [`Run`] with one list of
//! diagnostics. `check`, `diff` and `test` all call it; renderers (`report`) read the
//! [`Run`]; the command line only parses arguments, renders and picks the exit code.

pub mod org;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::diagnostic::{Kind, Problem};
use crate::engine::{self, Finding, Outcome, RuleResult};
use crate::rules::{self, Inputs, Pack, RuleSet, Severity};
use crate::scan::{self, SourceScan};
use crate::snapshot::Snapshot;
use crate::waivers::{self, Waivers};

/// The settings file read from the current directory when none is named.
pub const DEFAULT_CONFIG: &str = "snapaudit.toml";

/// Where a file of settings (or waivers) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChoice {
    /// The named file (it must exist).
    Named(PathBuf),
    /// The default file in the current directory, when it exists.
    Default,
    /// None.
    Off,
}

/// What to prepare an audit with: settings, rules and waivers.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    pub config: FileChoice,
    /// `--policies DIR`: rule directories added to the pack (after the config's own).
    pub policies: Vec<PathBuf>,
    /// `--no-default-pack`: only the user's rules.
    pub no_default_pack: bool,
    pub waivers: FileChoice,
}

/// Everything an audit needs that does not depend on the snapshot: compiled once, shared
/// by every snapshot audited with it (`diff` audits two).
pub struct Setup {
    pub config: Config,
    pub engine: rhai::Engine,
    pub rules: RuleSet,
    pub waivers: Option<Waivers>,
}

impl Setup {
    /// Reads the settings, compiles the rules and reads the waivers. A settings or waivers
    /// file that cannot be used stops here (its problems); rule files that do not compile
    /// do not: they end as `error` results of every run.
    pub fn prepare(options: &SetupOptions) -> Result<Setup, Vec<Problem>> {
        let config = match &options.config {
            FileChoice::Named(path) => Config::load(path).map_err(|p| vec![*p])?,
            FileChoice::Default if Path::new(DEFAULT_CONFIG).is_file() => {
                Config::load(Path::new(DEFAULT_CONFIG)).map_err(|p| vec![*p])?
            }
            FileChoice::Default | FileChoice::Off => Config::defaults(),
        };
        let waivers = match &options.waivers {
            FileChoice::Named(path) => Some(waivers::load(path)?),
            FileChoice::Default if Path::new(waivers::DEFAULT_FILE).is_file() => {
                Some(waivers::load(Path::new(waivers::DEFAULT_FILE))?)
            }
            FileChoice::Default | FileChoice::Off => None,
        };
        let mut dirs = config.policies.clone();
        dirs.extend(options.policies.iter().cloned());
        let pack = Pack {
            bundled: !options.no_default_pack,
            dirs,
        };
        Ok(Setup::with_config(config, &pack, waivers))
    }

    /// A setup from settings already read. A rule directory that gives no rule at all is
    /// an error: an audit must not pass because its rules were never found.
    pub fn with_config(config: Config, pack: &Pack, waivers: Option<Waivers>) -> Setup {
        let engine = rules::sandbox::engine(&config.limits);
        let mut rules = rules::load(&engine, pack);
        for dir in &pack.dirs {
            let from_here = |file: &str| Path::new(file).starts_with(dir);
            let any = rules.rules.iter().any(|r| from_here(&r.file))
                || rules.broken.iter().any(|b| from_here(&b.file));
            if dir.is_dir() && !any {
                rules.problems.push(
                    Problem::new(
                        Kind::RuleDirectory,
                        format!("policy directory `{}` holds no rule files", dir.display()),
                    )
                    .with_help("rules are `*.rhai` files, in the directory or below it; symbolic links are not followed"),
                );
            }
        }
        Setup {
            config,
            engine,
            rules,
            waivers,
        }
    }

    /// Problems of the setup itself (policy directories, rule files that did not load).
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.rules
            .problems
            .iter()
            .chain(self.rules.broken.iter().map(|b| &b.problem))
    }
}

/// What to audit besides the rules: the evaluation time, source trees, and whether the
/// findings' file texts are kept (for snippets in the human format).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--as-of`: judge ages at this time instead of the capture time.
    pub as_of: Option<DateTime<Utc>>,
    /// `--source DIR`: trees to search for the account's access keys.
    pub sources: Vec<PathBuf>,
    pub scan: scan::Options,
    pub keep_text: bool,
}

/// One audited snapshot: what the rules found, where, and every diagnostic of the way.
pub struct Run {
    pub inputs: Arc<Inputs>,
    pub results: Vec<RuleResult>,
    pub findings: Vec<Finding>,
    /// In order: the snapshot's, the rule set's, the located findings', the waivers', then
    /// each rule error.
    pub diagnostics: Vec<Problem>,
}

/// Audits the snapshot at `dir`. Only a snapshot that cannot be read at all (no such
/// directory) or a source tree that is not a directory stops the run; every other problem
/// is a diagnostic of the run.
pub fn audit(setup: &Setup, dir: &Path, options: &Options) -> Result<Run, Box<Problem>> {
    let load = setup.config.limits.load_options(options.as_of);
    let snapshot = Arc::new(Snapshot::load(dir, &load)?);
    let sources = scan_sources(&options.sources, &options.scan)?;
    Ok(audit_loaded(setup, snapshot, sources, options.keep_text))
}

/// Searches the source trees, when there are any.
pub fn scan_sources(
    roots: &[PathBuf],
    options: &scan::Options,
) -> Result<Option<Arc<SourceScan>>, Box<Problem>> {
    if roots.is_empty() {
        return Ok(None);
    }
    if let Some(root) = roots.iter().find(|r| !r.is_dir()) {
        return Err(Box::new(Problem::new(
            Kind::UsageSource,
            format!("`--source {}` is not a directory", root.display()),
        )));
    }
    Ok(Some(Arc::new(scan::scan(roots, options))))
}

/// The rest of the pipeline, over a loaded snapshot: rules, findings, waivers.
pub fn audit_loaded(
    setup: &Setup,
    snapshot: Arc<Snapshot>,
    sources: Option<Arc<SourceScan>>,
    keep_text: bool,
) -> Run {
    let waivers = setup.waivers.as_ref();
    audit_loaded_with(
        setup,
        snapshot,
        sources,
        keep_text,
        &mut |findings, snapshot| match waivers {
            Some(w) => w.apply(findings, &snapshot.account_id, snapshot.now),
            None => Vec::new(),
        },
    )
}

/// Marks waived findings and gives the waivers' diagnostics for one snapshot.
pub type Waive<'a> = dyn FnMut(&mut [Finding], &Snapshot) -> Vec<Problem> + 'a;

/// [`audit_loaded`] with the waivers applied by `waive` (an organisation applies them per
/// account, with the account's OU, and reports their use once for all accounts).
pub fn audit_loaded_with(
    setup: &Setup,
    snapshot: Arc<Snapshot>,
    sources: Option<Arc<SourceScan>>,
    keep_text: bool,
    waive: &mut Waive,
) -> Run {
    let inputs = Arc::new(Inputs { snapshot, sources });
    let results = engine::evaluate(&setup.engine, &setup.rules, &inputs, &setup.config);
    let (mut findings, located) = engine::locate_findings(&inputs, &results, keep_text);
    let mut diagnostics = inputs.snapshot.problems.clone();
    diagnostics.extend(setup.rules.problems.iter().cloned());
    diagnostics.extend(located);
    diagnostics.extend(waive(&mut findings, &inputs.snapshot));
    for r in &results {
        match &r.outcome {
            Outcome::Error(p) => diagnostics.push((**p).clone()),
            // A partial answer because a call failed or a file is malformed: the findings
            // stand, but the audit is not complete.
            Outcome::Fail if r.gaps.iter().any(|g| g.is_error()) => {
                let reasons: Vec<&str> = r
                    .gaps
                    .iter()
                    .filter(|g| g.is_error())
                    .map(|g| g.reason.as_str())
                    .collect();
                diagnostics.push(
                    Problem::new(
                        Kind::RuleData,
                        format!(
                            "rule `{}` is partial: it could not read {}",
                            r.meta.id,
                            reasons.join("; ")
                        ),
                    )
                    .with_file(r.file.clone()),
                );
            }
            _ => {}
        }
    }
    if !results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Pass | Outcome::Fail))
    {
        diagnostics.push(Problem::new(
            Kind::AuditNothingDecided,
            format!(
                "no rule could decide anything about `{}`: {} rules, none passed or failed",
                inputs.snapshot.display_dir,
                results.len()
            ),
        ));
    }
    Run {
        inputs,
        results,
        findings,
        diagnostics,
    }
}

impl Run {
    pub fn snapshot(&self) -> &Snapshot {
        &self.inputs.snapshot
    }

    /// Lets go of the loaded responses and of the rules' evidence into them, keeping what
    /// a report of the run shows: results, located findings (with their text when kept),
    /// diagnostics and the snapshot's description. An organisation's audit does this as
    /// each account is audited, so its memory holds the accounts in flight, not all of
    /// them. Returns whether the responses could be released (nothing else holds them).
    #[must_use = "a release that did not happen keeps every response in memory"]
    pub fn release_responses(&mut self) -> bool {
        for r in &mut self.results {
            for f in &mut r.findings {
                f.evidence = rules::context::Evidence::None;
            }
        }
        match Arc::get_mut(&mut self.inputs).and_then(|i| Arc::get_mut(&mut i.snapshot)) {
            Some(snapshot) => {
                snapshot.release_files();
                true
            }
            None => false,
        }
    }

    pub fn sources(&self) -> Option<&SourceScan> {
        self.inputs.sources.as_deref()
    }

    /// Findings that are not waived: the ones that count.
    pub fn open_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.waiver.is_none())
    }

    /// Open (not waived) findings per severity (every severity present, counted from zero).
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for f in self.open_findings() {
            *counts.entry(f.severity).or_default() += 1;
        }
        counts
    }

    /// Results per outcome name.
    pub fn outcomes(&self) -> BTreeMap<&'static str, usize> {
        let mut counts: BTreeMap<&'static str, usize> = ["pass", "fail", "skip", "error"]
            .into_iter()
            .map(|k| (k, 0))
            .collect();
        for r in &self.results {
            *counts.entry(r.outcome.name()).or_default() += 1;
        }
        counts
    }

    /// The diagnostics that are not a rule's own error (the formats that list rule results
    /// show those with the rule).
    pub fn input_diagnostics(&self) -> impl Iterator<Item = &Problem> {
        let rule_error = |p: &Problem| {
            self.results.iter().any(|r| match &r.outcome {
                Outcome::Error(e) => e.kind == p.kind && e.message == p.message && e.file == p.file,
                _ => false,
            })
        };
        self.diagnostics.iter().filter(move |p| !rule_error(p))
    }

    /// True when any input or rule error happened (exit code 2).
    pub fn has_errors(&self) -> bool {
        crate::diagnostic::any_error(&self.diagnostics)
    }

    /// Ends the run without freeing it: a large snapshot's millions of values would only
    /// add time (about a tenth of a large run) to a process that is about to exit.
    pub fn leak(self) {
        std::mem::forget(self);
    }
}
