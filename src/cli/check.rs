//! `snapaudit check SNAPSHOT`: run the rules over a snapshot and report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result};

use snapaudit::config::Config;
use snapaudit::engine;
use snapaudit::report::{self, human, json, Run};
use snapaudit::rules::{self, Severity};
use snapaudit::snapshot::load::LoadOptions;
use snapaudit::snapshot::{ProblemSeverity, Snapshot};

use super::{print_err, print_out, stderr_style, stdout_style, ColorChoice};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    Never,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The snapshot directory
    pub snapshot: PathBuf,
    /// A directory of rule files (repeatable); default: ./policies, else the bundled pack
    #[arg(long = "policies", value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Settings file; default: ./snapaudit.toml when present
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Evaluate as of this time (RFC 3339 or YYYY-MM-DD) instead of the capture time
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 when a finding at or above this severity exists
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Colour: auto honours NO_COLOR and whether output is a terminal
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// The policy directories: as given, else `./policies`, else the pack beside the sources.
pub fn policy_dirs(given: &[PathBuf]) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let local = PathBuf::from("policies");
    if local.is_dir() {
        return vec![local];
    }
    vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")]
}

pub fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    let path = match path {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from("snapaudit.toml")).filter(|p| p.is_file()),
    };
    match path {
        Some(p) => Config::load(&p).map_err(|p| miette::Report::new(*p)),
        None => Ok(Config::defaults()),
    }
}

pub fn parse_as_of(text: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    match text {
        None => Ok(None),
        Some(t) => snapaudit::time::parse_time(t).map(Some).ok_or_else(|| {
            miette::miette!(
                code = "usage::as-of",
                help = "use RFC 3339 (2026-11-02T09:00:00Z) or a date (2026-11-02)",
                "`--as-of {t}` is not a time"
            )
        }),
    }
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    let as_of = parse_as_of(args.as_of.as_deref())?;
    let snapshot = Snapshot::load(&args.snapshot, &LoadOptions { as_of }).into_diagnostic()?;
    let snapshot = Arc::new(snapshot);

    let engine = rules::sandbox::engine(&config.limits);
    let set = rules::load(&engine, &policy_dirs(&args.policies));
    let results = engine::evaluate(&engine, &set, &snapshot, &config);
    let findings = report::locate_findings(&snapshot, &results);
    let mut problems = snapshot.problems.clone();
    problems.extend(set.problems.iter().cloned());
    let run = Run {
        snapshot: &snapshot,
        results: &results,
        findings,
        problems,
    };

    match args.format {
        Format::Json => print_out(&json::render(&run)),
        Format::Human => {
            let mut shown: Vec<&snapaudit::snapshot::Problem> = run.problems.iter().collect();
            for r in &results {
                if let engine::Outcome::Error(p) = &r.outcome {
                    shown.push(p);
                }
            }
            shown.sort_by_key(|p| std::cmp::Reverse(p.severity == ProblemSeverity::Error));
            print_err(&human::render_problems(stderr_style(args.color), &shown));
            print_out(&human::render_run(stdout_style(args.color), &run));
        }
    }

    let threshold = threshold(args.fail_on);
    Ok(if run.has_errors() {
        ExitCode::from(2)
    } else if threshold.is_some_and(|t| run.findings.iter().any(|f| f.severity >= t)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The severity `--fail-on` names, `None` for `never`.
pub fn threshold(fail_on: FailOn) -> Option<Severity> {
    match fail_on {
        FailOn::Info => Some(Severity::Info),
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
        FailOn::Never => None,
    }
}
