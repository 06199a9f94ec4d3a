//! `snapaudit check SNAPSHOT`: audit a snapshot and report, in one or several formats.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use snapaudit::audit::{self, FileChoice, Run, Setup};
use snapaudit::diagnostic::{Kind, Problem};
use snapaudit::report::{self, human, json, RenderError};

use super::{parse_as_of, print_out, print_problems, stdout_style, ColorChoice, FailOn, SetupArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Csv,
    Junit,
    Markdown,
    Ocsf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The snapshot directory
    pub snapshot: PathBuf,
    #[command(flatten)]
    pub setup: SetupArgs,
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
    /// Show every control of this framework with its status instead of the findings
    /// (`cis-aws-7.0`; human, json, csv or markdown)
    #[arg(long, value_name = "FRAMEWORK")]
    pub compliance: Option<String>,
}

/// Where `--format` and `--output` stood on the command line, to pair them.
#[derive(Debug, Default)]
pub struct Positions {
    pub format: Vec<usize>,
    pub output: Vec<usize>,
}

type Targets = Vec<(Format, Option<PathBuf>)>;

pub fn run(args: CheckArgs, positions: &Positions) -> ExitCode {
    let targets = match output_targets(
        &args.format,
        &positions.format,
        &args.output,
        &positions.output,
    )
    .and_then(|t| safe_outputs(t, &args.snapshot))
    {
        Ok(t) => t,
        Err(p) => return failed(args.color, &[], &[*p]),
    };
    if let Some(p) = compliance_formats(&args, &targets) {
        return failed(args.color, &[], &[*p]);
    }
    // An `s3://` snapshot is fetched into a private temporary copy, removed at the end.
    let fetched = match snapaudit::store::fetch(&args.snapshot) {
        Ok(f) => f,
        Err(p) => return failed(args.color, &targets, &[*p]),
    };
    let args = CheckArgs {
        snapshot: fetched.dir.clone(),
        ..args
    };
    if snapaudit::org::is_organization(&args.snapshot) {
        return run_org(&args, &targets);
    }
    match audit_for(&args, &targets) {
        Ok((run, framework)) => report(&args, &targets, run, framework.as_ref()),
        Err(problems) => failed(args.color, &targets, &problems),
    }
}

/// `--compliance` is a table: it has no SARIF, JUnit or OCSF form.
fn compliance_formats(args: &CheckArgs, targets: &Targets) -> Option<Box<Problem>> {
    args.compliance.as_ref()?;
    let other = targets
        .iter()
        .find(|(f, _)| matches!(f, Format::Sarif | Format::Junit | Format::Ocsf))?;
    Some(Box::new(
        Problem::new(
            Kind::UsageCompliance,
            format!(
                "--compliance has no {} form",
                other
                    .0
                    .to_possible_value()
                    .map_or_else(String::new, |v| v.get_name().to_owned())
            ),
        )
        .with_help("use --format human, json, csv or markdown with --compliance"),
    ))
}

/// The framework `--compliance` names, among the loaded ones.
fn framework_of(
    setup: &Setup,
    id: &str,
) -> Result<snapaudit::rules::framework::Framework, Box<Problem>> {
    let frameworks = &setup.rules.frameworks;
    match frameworks.iter().find(|f| f.id == id) {
        Some(f) => Ok(f.clone()),
        None => Err(Box::new(
            Problem::new(
                Kind::UsageCompliance,
                format!("no framework `{id}` is loaded"),
            )
            .with_help(if frameworks.is_empty() {
                "no framework is loaded: the bundled ones come with the default pack; add yours as frameworks/ID.toml in a --policies directory".to_owned()
            } else {
                format!(
                    "the loaded frameworks: {}",
                    frameworks.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(", ")
                )
            }),
        )),
    }
}

/// The setup and the audit options the arguments ask for.
fn prepare(args: &CheckArgs) -> Result<(Setup, audit::Options), Vec<Problem>> {
    let as_of = parse_as_of(args.as_of.as_deref()).map_err(|p| vec![*p])?;
    let waivers = match (&args.waivers, args.no_waivers) {
        (_, true) => FileChoice::Off,
        (Some(path), false) => FileChoice::Named(path.clone()),
        (None, false) => FileChoice::Default,
    };
    let setup = Setup::prepare(&args.setup.options(waivers))?;
    let options = audit::Options {
        as_of,
        sources: args.sources.clone(),
        scan: snapaudit::scan::Options {
            no_ignore: args.no_ignore,
            max_file_size: args.max_file_size,
            relative_paths: false,
        },
        keep_text: false,
    };
    Ok((setup, options))
}

/// `check ORGDIR`: every account of an organisation directory, one report
/// (docs/organizations.md).
fn run_org(args: &CheckArgs, targets: &Targets) -> ExitCode {
    if args.compliance.is_some() {
        let p = Problem::new(
            Kind::UsageCompliance,
            "--compliance is not available for an organisation directory",
        )
        .with_help(
            "run --compliance on one account's folder: `check DIR/ACCOUNT_ID --compliance …`",
        );
        return failed(args.color, targets, &[p]);
    }
    let (setup, mut options) = match prepare(args) {
        Ok(x) => x,
        Err(problems) => return failed(args.color, targets, &problems),
    };
    options.keep_text = targets.iter().any(|(f, _)| *f == Format::Human);
    let run = match audit::org::audit(&setup, &args.snapshot, &options) {
        Ok(run) => run,
        Err(p) => {
            let mut problems = vec![*p];
            problems.extend(setup.problems().cloned());
            return failed(args.color, targets, &problems);
        }
    };
    let shown = super::account_problems(&setup, report::org::diagnostics(&run));
    print_problems(args.color, &shown);
    let mut failures = Vec::new();
    for (format, path) in targets {
        let rendered = match format {
            Format::Human => {
                let mut style = stdout_style(args.color);
                if path.is_some() {
                    style.color = false;
                }
                Ok(report::org::render_human(style, &run))
            }
            Format::Json => report::org::render_json(&run),
            Format::Sarif => report::org::render_sarif(&run),
            Format::Csv => report::org::render_csv(&run),
            Format::Junit => Ok(report::org::render_junit(&run)),
            Format::Markdown => Ok(report::org::render_markdown(&run)),
            Format::Ocsf => report::org::render_ocsf(&run),
        };
        match rendered
            .map_err(render_problem)
            .and_then(|t| write(path.as_ref(), &t))
        {
            Ok(()) => {}
            Err(p) => failures.push(*p),
        }
    }
    print_problems(args.color, &failures);
    let code = if run.has_errors() || !failures.is_empty() {
        ExitCode::from(2)
    } else if args.fail_on.threshold().is_some_and(|t| run.fails_at(t)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    run.leak();
    code
}

/// Prepares the setup and audits the snapshot (with the framework of `--compliance`); the
/// problems that stopped it otherwise.
fn audit_for(
    args: &CheckArgs,
    targets: &Targets,
) -> Result<(Run, Option<snapaudit::rules::framework::Framework>), Vec<Problem>> {
    let (setup, mut options) = prepare(args)?;
    // What stopped the audit, and what the setup had to say.
    let stopped = |p: Box<Problem>| {
        let mut problems = vec![*p];
        problems.extend(setup.problems().cloned());
        problems
    };
    let framework = match &args.compliance {
        Some(id) => Some(framework_of(&setup, id).map_err(stopped)?),
        None => None,
    };
    // Snippets are shown by the human findings report only (not the compliance table).
    options.keep_text = framework.is_none() && targets.iter().any(|(f, _)| *f == Format::Human);
    let run = audit::audit(&setup, &args.snapshot, &options).map_err(stopped)?;
    Ok((run, framework))
}

/// Writes every report, and picks the exit code.
fn report(
    args: &CheckArgs,
    targets: &Targets,
    run: Run,
    framework: Option<&snapaudit::rules::framework::Framework>,
) -> ExitCode {
    // Diagnostics go to standard error whatever the formats; machine formats carry them too.
    print_problems(args.color, &run.diagnostics);
    let mut failures = Vec::new();
    for (format, path) in targets {
        let rendered = match framework {
            Some(framework) => render_compliance(*format, &run, framework),
            None => render(*format, path.is_some(), args.color, &run),
        };
        let text = match rendered {
            Ok(text) => text,
            Err(e) => {
                failures.push(*render_problem(e));
                continue;
            }
        };
        if let Err(p) = write(path.as_ref(), &text) {
            failures.push(*p);
        }
    }
    print_problems(args.color, &failures);
    let code = if run.has_errors() || !failures.is_empty() {
        ExitCode::from(2)
    } else if args
        .fail_on
        .threshold()
        .is_some_and(|t| run.open_findings().any(|f| f.severity >= t))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    run.leak();
    code
}

fn render(
    format: Format,
    to_file: bool,
    color: ColorChoice,
    run: &Run,
) -> Result<String, RenderError> {
    Ok(match format {
        Format::Human => {
            let mut style = stdout_style(color);
            if to_file {
                style.color = false;
            }
            human::render_run(style, run)
        }
        Format::Json => json::render(run)?,
        Format::Sarif => report::sarif::render(run)?,
        Format::Csv => report::csv::render(run)?,
        Format::Junit => report::junit::render(run),
        Format::Markdown => report::markdown::render(run),
        Format::Ocsf => report::ocsf::render(run)?,
    })
}

/// The compliance view in `format` (the others are refused before the audit).
fn render_compliance(
    format: Format,
    run: &Run,
    framework: &snapaudit::rules::framework::Framework,
) -> Result<String, RenderError> {
    use snapaudit::report::compliance;
    match format {
        Format::Json => compliance::render_json(run, framework),
        Format::Csv => compliance::render_csv(run, framework),
        Format::Markdown => Ok(compliance::render_markdown(run, framework)),
        Format::Human => Ok(compliance::render_human(run, framework)),
        // Refused by `compliance_formats` before the audit.
        Format::Sarif | Format::Junit | Format::Ocsf => Err(RenderError::new(
            "compliance",
            "--compliance has no SARIF, JUnit or OCSF form",
        )),
    }
}

/// An audit that could not run: its problems on standard error, and in each machine
/// format's document (so a CI job reading the JSON or SARIF sees why). Exit code 2.
/// OCSF is not written: it holds findings only, and an empty array would read as an audit
/// that found nothing.
fn failed(
    color: ColorChoice,
    targets: &[(Format, Option<PathBuf>)],
    problems: &[Problem],
) -> ExitCode {
    print_problems(color, problems);
    let mut failures = Vec::new();
    for (format, path) in targets {
        let text = match format {
            Format::Json => json::render_failure(problems),
            Format::Sarif => report::sarif::render_failure(problems),
            Format::Junit => Ok(report::junit::render_failure(problems)),
            Format::Human | Format::Csv | Format::Markdown | Format::Ocsf => continue,
        };
        if let Err(p) = text
            .map_err(render_problem)
            .and_then(|t| write(path.as_ref(), &t))
        {
            failures.push(*p);
        }
    }
    print_problems(color, &failures);
    ExitCode::from(2)
}

/// Writes a report to its file, or to standard output.
pub fn write(path: Option<&PathBuf>, text: &str) -> Result<(), Box<Problem>> {
    match path {
        None => print_out(text).map_err(|e| {
            Box::new(Problem::new(
                Kind::UsageOutput,
                format!("cannot write to standard output: {e}"),
            ))
        }),
        Some(p) => std::fs::write(p, text).map_err(|e| {
            Box::new(Problem::new(
                Kind::UsageOutput,
                format!("cannot write `{}`: {e}", p.display()),
            ))
        }),
    }
}

/// A report that could not be made, as a problem.
pub fn render_problem(e: RenderError) -> Box<Problem> {
    Box::new(Problem::new(Kind::UsageOutput, e.to_string()))
}

/// Where a path would be written: absolute, with its directory resolved (links followed)
/// when it exists.
fn resolved(path: &std::path::Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map_or_else(|_| absolute.clone(), |d| d.join(name)),
        _ => absolute,
    }
}

/// Refuses outputs that would overwrite each other or the audited snapshot's own files.
fn safe_outputs(targets: Targets, snapshot: &std::path::Path) -> Result<Targets, Box<Problem>> {
    let snapshot = snapshot
        .canonicalize()
        .unwrap_or_else(|_| snapshot.to_path_buf());
    let mut seen: Vec<PathBuf> = Vec::new();
    for path in targets.iter().filter_map(|(_, p)| p.as_ref()) {
        let at = resolved(path);
        if at.starts_with(&snapshot) {
            return Err(Box::new(
                Problem::new(
                    Kind::UsageOutput,
                    format!(
                        "`--output {}` is inside the snapshot being audited",
                        path.display()
                    ),
                )
                .with_help("a report written into the snapshot would change the evidence: write it elsewhere"),
            ));
        }
        if seen.contains(&at) {
            return Err(Box::new(Problem::new(
                Kind::UsageOutput,
                format!("two reports would be written to `{}`", path.display()),
            )));
        }
        seen.push(at);
    }
    Ok(targets)
}

/// Pairs each `--output FILE` with the `--format` just before it on the command line
/// (`format_at` and `output_at` are the arguments' positions); formats without one go to
/// standard output (at most one may). With no `--format`, the output is human.
pub fn output_targets(
    formats: &[Format],
    format_at: &[usize],
    outputs: &[PathBuf],
    output_at: &[usize],
) -> Result<Targets, Box<Problem>> {
    let usage = |message: String| {
        Box::new(Problem::new(Kind::UsageOutput, message).with_help(
            "put each --output right after its --format: --format json --output a.json --format sarif --output a.sarif",
        ))
    };
    let mut targets: Targets = if formats.is_empty() {
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
