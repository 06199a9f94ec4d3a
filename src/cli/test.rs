//! `snapaudit test [DIR…]`: run the `*.test.yaml` cases kept beside the rules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use miette::Result;

use snapaudit::config::Config;
use snapaudit::report::human;
use snapaudit::rules;
use snapaudit::ruletest;

use super::{print_err, print_out, stderr_style, ColorChoice};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directories holding rules and their `*.test.yaml` cases; default: ./policies, else
    /// the bundled pack
    pub dirs: Vec<PathBuf>,
    /// More rule directories whose rules the cases may name
    #[arg(long = "policies", value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Run only the cases whose name contains this text
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Show what every rule did, not only where a case failed
    #[arg(long, short)]
    pub verbose: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour of diagnostics
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let dirs = super::check::policy_dirs(&args.dirs);
    let mut rule_dirs = dirs.clone();
    rule_dirs.extend(args.policies.iter().cloned());
    // Rules compile with the default limits; each case runs with its own config's limits.
    let engine = rules::sandbox::engine(&Config::defaults().limits);
    let set = rules::load(&engine, &rule_dirs);
    let files = ruletest::test_files(&dirs);
    let run = ruletest::run(&set, &files, args.filter.as_deref());

    let mut problems: Vec<&snapaudit::snapshot::Problem> = set.problems.iter().collect();
    problems.extend(run.problems.iter());
    print_err(&human::render_problems(stderr_style(args.color), &problems));
    if files.is_empty() {
        print_err("no *.test.yaml files found\n");
    }
    match args.format {
        Format::Human => print_out(&ruletest::render_human(&run, args.verbose)),
        Format::Json => print_out(&ruletest::render_json(&run)),
    }
    let code = if set.problems.is_empty() {
        run.exit_code()
    } else {
        2
    };
    Ok(ExitCode::from(code))
}
