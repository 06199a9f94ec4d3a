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
    match cli.command {
        Command::Check(args) => {
            // `--format` and `--output` are paired by where they stand on the command line.
            let positions = |name: &str| -> Vec<usize> {
                matches
                    .subcommand_matches("check")
                    .and_then(|m| m.indices_of(name))
                    .map_or_else(Vec::new, Iterator::collect)
            };
            let positions = cli::check::Positions {
                format: positions("format"),
                output: positions("output"),
            };
            cli::check::run(args, &positions)
        }
        #[cfg(feature = "collect")]
        Command::Collect(args) => match cli::collect::run(args) {
            Ok(code) => code,
            Err(report) => {
                let style = cli::stderr_style(cli::ColorChoice::Auto);
                let handler = snapaudit::report::human::handler(style);
                cli::print_err(&snapaudit::report::human::render(&handler, report.as_ref()));
                ExitCode::from(2)
            }
        },
        Command::Diff(args) => cli::diff::run(args),
        Command::Test(args) => cli::test::run(args),
        Command::Rules(args) => cli::rules::run(args),
    }
}
