//! `snapaudit diff OLD NEW`: what changed in the account and in its findings.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result};

use snapaudit::diff::output::{self, DiffRun};
use snapaudit::diff::resources::{self, Volatile};
use snapaudit::diff::{self, Status};
use snapaudit::engine::{self, Outcome};
use snapaudit::report::{self, human};
use snapaudit::rules;
use snapaudit::snapshot::{Problem, ProblemSeverity, Snapshot};

use super::check::{load_config, parse_as_of, policy_dirs, threshold, FailOn};
use super::{print_err, print_out, stderr_style, stdout_style, ColorChoice};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier snapshot directory
    pub old: PathBuf,
    /// The later snapshot directory
    pub new: PathBuf,
    /// A directory of rule files (repeatable); default: ./policies, else the bundled pack
    #[arg(long = "policies", value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Settings file; default: ./snapaudit.toml when present
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Evaluate both snapshots as of this time instead of each one's capture time
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Also list findings that did not change
    #[arg(long)]
    pub all: bool,
    /// Show changes of volatile values (timestamps of last use, delivery, report generation)
    #[arg(long)]
    pub include_volatile: bool,
    /// Compare snapshots of two different accounts
    #[arg(long)]
    pub allow_different_accounts: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 when a new finding at or above this severity exists
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Colour: auto honours NO_COLOR and whether output is a terminal
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    let as_of = parse_as_of(args.as_of.as_deref())?;
    let options = config.limits.load_options(as_of);
    let old = Arc::new(Snapshot::load(&args.old, &options).into_diagnostic()?);
    let new = Arc::new(Snapshot::load(&args.new, &options).into_diagnostic()?);
    if !args.allow_different_accounts
        && !old.account_id.is_empty()
        && !new.account_id.is_empty()
        && old.account_id != new.account_id
    {
        return Err(miette::miette!(
            code = "usage::different-accounts",
            help = "diff compares one account across time; pass --allow-different-accounts to compare two accounts anyway",
            "`{}` is account {} but `{}` is account {}",
            old.display_dir,
            old.account_id,
            new.display_dir,
            new.account_id
        ));
    }

    let engine = rules::sandbox::engine(&config.limits);
    let set = rules::load(&engine, &policy_dirs(&args.policies));
    let old_results = engine::evaluate(&engine, &set, &old, &config);
    let new_results = engine::evaluate(&engine, &set, &new, &config);
    let keep_text = args.format == Format::Human;
    let old_findings = report::locate_findings(&old, &old_results, keep_text);
    let new_findings = report::locate_findings(&new, &new_results, keep_text);
    let findings = diff::diff_findings(&old_results, &new_results, &old_findings, &new_findings);

    let volatile = if args.include_volatile {
        Volatile::none()
    } else {
        match &config.volatile {
            Some(list) => Volatile::new(list),
            None => Volatile::new(
                &diff::DEFAULT_VOLATILE
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>(),
            ),
        }
    };
    let resource_diff = resources::diff(&old, &new, &volatile);

    // Diagnostics: each snapshot's problems (named by snapshot), the rule set's, and rule
    // errors once per rule.
    let mut problems: Vec<Problem> = Vec::new();
    problems.extend(old.problems.iter().cloned());
    problems.extend(new.problems.iter().cloned());
    problems.extend(set.problems.iter().cloned());
    for r in old_results.iter().chain(new_results.iter()) {
        if let Outcome::Error(p) = &r.outcome {
            if !problems.iter().any(|q| q.message == p.message) {
                problems.push((**p).clone());
            }
        }
    }
    let has_errors = problems
        .iter()
        .any(|p| p.severity == ProblemSeverity::Error);

    let run = DiffRun {
        old: &old,
        new: &new,
        findings,
        resources: resource_diff,
        all: args.all,
    };
    match args.format {
        Format::Json => print_out(&output::render_json(&run)),
        Format::Human => {
            let shown: Vec<&Problem> = problems.iter().collect();
            print_err(&human::render_problems(stderr_style(args.color), &shown));
            print_out(&output::render_human(stdout_style(args.color), &run));
        }
    }

    let worse = threshold(args.fail_on).is_some_and(|t| {
        run.findings
            .changes
            .iter()
            .any(|c| match (c.status, &c.old, &c.new) {
                (Status::New, _, Some(f)) => f.severity >= t,
                (Status::Changed, Some(a), Some(b)) => b.severity >= t && b.severity > a.severity,
                _ => false,
            })
    });
    let code = if has_errors {
        ExitCode::from(2)
    } else if worse {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // As in `check`: two snapshots' values go back with the process, not one by one.
    std::mem::forget(run);
    std::mem::forget((old_results, new_results, old, new));
    Ok(code)
}
