//! The `snapaudit` command line: parse arguments, run a subcommand, map the result to an
//! exit code (0 clean, 1 findings, 2 usage, input or rule errors).

mod cli;

/// Loading a large snapshot makes tens of millions of small allocations from several
/// threads; mimalloc does that faster than the system allocator, with less fragmentation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "snapaudit",
    version,
    about = "Offline, evidence-pointing audits of AWS account snapshots"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the rules over a snapshot and report findings with their evidence
    Check(cli::check::CheckArgs),
    /// Call read-only AWS APIs once and write a snapshot (needs `--features collect`)
    #[cfg(feature = "collect")]
    Collect(cli::collect::CollectArgs),
    /// Compare two snapshots of one account: new, resolved and changed findings, and what
    /// changed in the resources
    Diff(cli::diff::DiffArgs),
    /// Run the rule test cases (`*.test.yaml`) kept beside the rules
    Test(cli::test::TestArgs),
    /// List the loaded rules with their severity, title and CIS ids
    Rules(cli::rules::RulesArgs),
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let positions = |name: &str| -> Vec<usize> {
        matches
            .subcommand_matches("check")
            .and_then(|m| m.indices_of(name))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let check_positions = cli::check::Positions {
        format: positions("format"),
        output: positions("output"),
    };
    let color = match &cli.command {
        Command::Check(args) => args.color,
        #[cfg(feature = "collect")]
        Command::Collect(_) => cli::ColorChoice::Auto,
        Command::Diff(args) => args.color,
        Command::Test(args) => args.color,
        Command::Rules(args) => args.color,
    };
    let result = match cli.command {
        Command::Check(args) => cli::check::run(args, &check_positions),
        #[cfg(feature = "collect")]
        Command::Collect(args) => cli::collect::run(args),
        Command::Diff(args) => cli::diff::run(args),
        Command::Test(args) => cli::test::run(args),
        Command::Rules(args) => cli::rules::run(args),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            let handler = snapaudit::report::human::handler(cli::stderr_style(color));
            cli::print_err(&snapaudit::report::human::render(&handler, report.as_ref()));
            ExitCode::from(2)
        }
    }
}
