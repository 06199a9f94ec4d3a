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
    Sarif,
    Csv,
    Junit,
    Markdown,
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
    /// Output format; repeat with --output to write several (`--format json --output
    /// a.json --format sarif --output a.sarif`)
    #[arg(long, value_enum)]
    pub format: Vec<Format>,
    /// Write the output of the --format at the same position to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Waivers file (accepted risks); default: ./snapaudit.waivers.toml when present
    #[arg(long, value_name = "FILE", conflicts_with = "no_waivers")]
    pub waivers: Option<PathBuf>,
    /// Ignore waivers: show every finding as open
    #[arg(long)]
    pub no_waivers: bool,
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
    let mut findings = report::locate_findings(&snapshot, &results);
    let mut problems = snapshot.problems.clone();
    problems.extend(set.problems.iter().cloned());
    if let Some(waivers) = load_waivers(args.waivers.as_ref(), args.no_waivers)? {
        problems.extend(waivers.apply(&mut findings, &snapshot.account_id, snapshot.now));
    }
    let run = Run {
        snapshot: &snapshot,
        results: &results,
        findings,
        problems,
    };

    let targets = output_targets(&args.format, &args.output)?;
    let stdout_format = targets.iter().find(|(_, p)| p.is_none()).map(|(f, _)| *f);
    if stdout_format.is_none_or(|f| f == Format::Human) {
        let mut shown: Vec<&snapaudit::snapshot::Problem> = run.problems.iter().collect();
        for r in &results {
            if let engine::Outcome::Error(p) = &r.outcome {
                shown.push(p);
            }
        }
        shown.sort_by_key(|p| std::cmp::Reverse(p.severity == ProblemSeverity::Error));
        print_err(&human::render_problems(stderr_style(args.color), &shown));
    }
    for (format, path) in &targets {
        let text = match format {
            Format::Human => {
                let style = match path {
                    None => stdout_style(args.color),
                    Some(_) => human::Style {
                        color: false,
                        ..stdout_style(args.color)
                    },
                };
                human::render_run(style, &run)
            }
            Format::Json => json::render(&run),
            Format::Sarif => report::sarif::render(&run),
            Format::Csv => report::csv::render(&run),
            Format::Junit => report::junit::render(&run),
            Format::Markdown => report::markdown::render(&run),
        };
        match path {
            None => print_out(&text),
            Some(p) => std::fs::write(p, text).map_err(|e| {
                miette::miette!(
                    code = "usage::output",
                    "cannot write `{}`: {e}",
                    p.display()
                )
            })?,
        }
    }

    let threshold = threshold(args.fail_on);
    Ok(if run.has_errors() {
        ExitCode::from(2)
    } else if threshold.is_some_and(|t| run.open_findings().any(|f| f.severity >= t)) {
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

/// Pairs each `--format` with the `--output` at the same position; formats without one go to
/// standard output (at most one may).
pub fn output_targets(
    formats: &[Format],
    outputs: &[PathBuf],
) -> Result<Vec<(Format, Option<PathBuf>)>> {
    let formats = if formats.is_empty() {
        vec![Format::Human]
    } else {
        formats.to_vec()
    };
    if outputs.len() > formats.len() {
        return Err(miette::miette!(
            code = "usage::output",
            help = "give one --format before each --output: --format json --output a.json --format sarif --output a.sarif",
            "{} --output files but only {} --format",
            outputs.len(),
            formats.len()
        ));
    }
    let targets: Vec<(Format, Option<PathBuf>)> = formats
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, outputs.get(i).cloned()))
        .collect();
    if targets.iter().filter(|(_, p)| p.is_none()).count() > 1 {
        return Err(miette::miette!(
            code = "usage::output",
            help = "pair every format but one with --output FILE",
            "only one format can go to standard output"
        ));
    }
    Ok(targets)
}

/// The waivers to apply: `--waivers FILE`, else `./snapaudit.waivers.toml` when present.
pub fn load_waivers(
    path: Option<&PathBuf>,
    disabled: bool,
) -> Result<Option<snapaudit::waivers::Waivers>> {
    if disabled {
        return Ok(None);
    }
    let path = match path {
        Some(p) => p.clone(),
        None => {
            let p = PathBuf::from(snapaudit::waivers::DEFAULT_FILE);
            if !p.is_file() {
                return Ok(None);
            }
            p
        }
    };
    snapaudit::waivers::load(&path)
        .map(Some)
        .map_err(|problems| {
            // Every problem of the file is shown; the first is the error returned.
            let style = stderr_style(ColorChoice::Auto);
            let rest: Vec<&snapaudit::snapshot::Problem> = problems.iter().skip(1).collect();
            print_err(&human::render_problems(style, &rest));
            match problems.into_iter().next() {
                Some(p) => miette::Report::new(p),
                None => miette::miette!("invalid waivers file"),
            }
        })
}
