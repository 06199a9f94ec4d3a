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
    /// A source tree to search for the account's access keys (repeatable); the
    /// `source.*` rules report what is found
    #[arg(long = "source", value_name = "DIR")]
    pub sources: Vec<PathBuf>,
    /// Scan files that .gitignore / .ignore leave out too
    #[arg(long, requires = "sources")]
    pub no_ignore: bool,
    /// Skip (and report) source files larger than this many bytes
    #[arg(long, value_name = "BYTES", default_value_t = snapaudit::scan::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
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

/// Where `--format` and `--output` stood on the command line, to pair them.
#[derive(Debug, Default)]
pub struct Positions {
    pub format: Vec<usize>,
    pub output: Vec<usize>,
}

pub fn run(args: CheckArgs, positions: &Positions) -> Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    let as_of = parse_as_of(args.as_of.as_deref())?;
    let mut snapshot =
        Snapshot::load(&args.snapshot, &config.limits.load_options(as_of)).into_diagnostic()?;
    if !args.sources.is_empty() {
        for root in &args.sources {
            if !root.is_dir() {
                return Err(miette::miette!(
                    code = "usage::source",
                    help = "name a directory of source code to search for the account's keys",
                    "`--source {}` is not a directory",
                    root.display()
                ));
            }
        }
        let options = snapaudit::scan::Options {
            no_ignore: args.no_ignore,
            max_file_size: args.max_file_size,
        };
        snapshot.sources = Some(Arc::new(snapaudit::scan::scan(&args.sources, &options)));
    }
    let snapshot = Arc::new(snapshot);

    let engine = rules::sandbox::engine(&config.limits);
    let set = rules::load(&engine, &policy_dirs(&args.policies));
    let results = engine::evaluate(&engine, &set, &snapshot, &config);
    let targets = output_targets(
        &args.format,
        &positions.format,
        &args.output,
        &positions.output,
    )?;
    let keep_text = targets.iter().any(|(f, _)| *f == Format::Human);
    let mut findings = report::locate_findings(&snapshot, &results, keep_text);
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

    // Diagnostics go to standard error whatever the formats; machine formats carry them too.
    {
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
    let code = if run.has_errors() {
        ExitCode::from(2)
    } else if threshold.is_some_and(|t| run.open_findings().any(|f| f.severity >= t)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends here: freeing the snapshot's millions of values one by one would
    // only add time (about a tenth of a large run), so the memory goes back with the process.
    std::mem::forget(run);
    std::mem::forget(results);
    std::mem::forget(snapshot);
    Ok(code)
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

/// Pairs each `--output FILE` with the `--format` just before it on the command line
/// (`format_at` and `output_at` are the arguments' positions); formats without one go to
/// standard output (at most one may). With no `--format`, the output is human.
pub fn output_targets(
    formats: &[Format],
    format_at: &[usize],
    outputs: &[PathBuf],
    output_at: &[usize],
) -> Result<Vec<(Format, Option<PathBuf>)>> {
    let usage = |message: String| {
        miette::miette!(
            code = "usage::output",
            help = "put each --output right after its --format: --format json --output a.json --format sarif --output a.sarif",
            "{message}"
        )
    };
    let mut targets: Vec<(Format, Option<PathBuf>)> = if formats.is_empty() {
        vec![(Format::Human, None)]
    } else {
        formats.iter().map(|f| (*f, None)).collect()
    };
    let format_at: Vec<usize> = if formats.is_empty() {
        vec![0]
    } else {
        format_at.to_vec()
    };
    for (path, at) in outputs.iter().zip(output_at) {
        let owner = format_at.iter().rposition(|f| f < at);
        let owner = match owner {
            Some(i) => i,
            // `--output FILE` before any `--format`: the default (human) format.
            None if formats.is_empty() => 0,
            None => {
                return Err(usage(format!(
                    "`--output {}` comes before any --format",
                    path.display()
                )))
            }
        };
        if let Some(first) = &targets[owner].1 {
            return Err(usage(format!(
                "two --output files (`{}`, `{}`) for one --format",
                first.display(),
                path.display()
            )));
        }
        targets[owner].1 = Some(path.clone());
    }
    if targets.iter().filter(|(_, p)| p.is_none()).count() > 1 {
        return Err(usage("only one format can go to standard output".into()));
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
