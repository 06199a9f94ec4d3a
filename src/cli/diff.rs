//! `snapaudit diff OLD NEW`: what changed in the account and in its findings.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use snapaudit::audit::{self, FileChoice, Setup};
use snapaudit::diagnostic::{Kind, Problem};
use snapaudit::diff::output;
use snapaudit::diff::{self, DiffRun, Status};
use snapaudit::report::json;

use super::check::{render_problem, write};
use super::{parse_as_of, print_problems, stdout_style, ColorChoice, FailOn, SetupArgs};

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
    #[command(flatten)]
    pub setup: SetupArgs,
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

pub fn run(args: DiffArgs) -> ExitCode {
    // `s3://` snapshots are fetched into private temporary copies, removed at the end.
    let fetched = snapaudit::store::fetch(&args.old)
        .and_then(|old| Ok((old, snapaudit::store::fetch(&args.new)?)));
    let (old, new) = match fetched {
        Ok(x) => x,
        Err(p) => return stopped(&args, &[*p]),
    };
    let args = DiffArgs {
        old: old.dir.clone(),
        new: new.dir.clone(),
        ..args
    };
    let orgs = (
        snapaudit::org::is_organization(&args.old),
        snapaudit::org::is_organization(&args.new),
    );
    match orgs {
        (true, true) => return run_org(&args),
        (true, false) | (false, true) => {
            let p = Problem::new(
                Kind::UsageMixedInputs,
                format!(
                    "`{}` is an organisation directory but `{}` is not",
                    snapaudit::snapshot::origin::shown(if orgs.0 { &args.old } else { &args.new }),
                    snapaudit::snapshot::origin::shown(if orgs.0 { &args.new } else { &args.old })
                ),
            );
            return stopped(&args, &[p]);
        }
        (false, false) => {}
    }
    match diff_for(&args) {
        Ok(run) => report(&args, run),
        Err(problems) => stopped(&args, &problems),
    }
}

/// A diff that could not run: its problems on standard error (and as the JSON document).
fn stopped(args: &DiffArgs, problems: &[Problem]) -> ExitCode {
    print_problems(args.color, problems);
    if args.format == Format::Json {
        let written = json::render_failure(problems)
            .map_err(render_problem)
            .and_then(|text| write(None, &text));
        if let Err(p) = written {
            print_problems(args.color, [&*p]);
        }
    }
    ExitCode::from(2)
}

/// The setup and the diff options the arguments ask for.
fn prepare(args: &DiffArgs) -> Result<(Setup, diff::Options), Vec<Problem>> {
    let as_of = parse_as_of(args.as_of.as_deref()).map_err(|p| vec![*p])?;
    let setup = Setup::prepare(&args.setup.options(FileChoice::Off))?;
    let options = diff::Options {
        audit: audit::Options {
            as_of,
            keep_text: args.format == Format::Human,
            ..audit::Options::default()
        },
        include_volatile: args.include_volatile,
        allow_different_accounts: args.allow_different_accounts,
        all: args.all,
    };
    Ok((setup, options))
}

/// `diff OLD NEW` of two organisation directories (docs/organizations.md).
fn run_org(args: &DiffArgs) -> ExitCode {
    let (setup, options) = match prepare(args) {
        Ok(x) => x,
        Err(problems) => return stopped(args, &problems),
    };
    let run = match diff::org::diff(&setup, &args.old, &args.new, &options) {
        Ok(run) => run,
        Err(p) => {
            let mut problems = vec![*p];
            problems.extend(setup.problems().cloned());
            return stopped(args, &problems);
        }
    };
    let shown = super::account_problems(
        &setup,
        run.diagnostics.iter().map(|(a, p)| (a.as_deref(), p)),
    );
    print_problems(args.color, &shown);
    let text = match args.format {
        Format::Json => diff::org::render_json(&run),
        Format::Human => Ok(diff::org::render_human(stdout_style(args.color), &run)),
    };
    let written = text
        .map_err(render_problem)
        .and_then(|text| write(None, &text));
    if let Err(p) = &written {
        print_problems(args.color, [&**p]);
    }
    let code = if run.has_errors() || written.is_err() {
        ExitCode::from(2)
    } else if args.fail_on.threshold().is_some_and(|t| run.worse_at(t)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    run.leak();
    code
}

fn diff_for(args: &DiffArgs) -> Result<DiffRun, Vec<Problem>> {
    let (setup, options) = prepare(args)?;
    diff::diff(&setup, &args.old, &args.new, &options).map_err(|p| {
        let mut problems = vec![*p];
        problems.extend(setup.problems().cloned());
        problems
    })
}

fn report(args: &DiffArgs, run: DiffRun) -> ExitCode {
    print_problems(args.color, &run.diagnostics);
    let text = match args.format {
        Format::Json => output::render_json(&run),
        Format::Human => Ok(output::render_human(stdout_style(args.color), &run)),
    };
    let written = text
        .map_err(render_problem)
        .and_then(|text| write(None, &text));
    if let Err(p) = &written {
        print_problems(args.color, [&**p]);
    }
    let worse = args.fail_on.threshold().is_some_and(|t| {
        run.findings
            .changes
            .iter()
            .any(|c| match (c.status, &c.old, &c.new) {
                (Status::New, _, Some(f)) => f.severity >= t,
                (Status::Changed, Some(a), Some(b)) => b.severity >= t && b.severity > a.severity,
                _ => false,
            })
    });
    let code = if run.has_errors() || written.is_err() {
        ExitCode::from(2)
    } else if worse {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    run.leak();
    code
}
