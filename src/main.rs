//! The `snapaudit` command line: parse arguments, run a subcommand, map the result to an
//! exit code (0 clean, 1 findings, 2 usage, input or rule errors).

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Compare two snapshots of one account: new, resolved and changed findings, and what
    /// changed in the resources
    Diff(cli::diff::DiffArgs),
    /// Run the rule test cases (`*.test.yaml`) kept beside the rules
    Test(cli::test::TestArgs),
    /// List the loaded rules with their severity, title and CIS ids
    Rules(cli::rules::RulesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match &cli.command {
        Command::Check(args) => args.color,
        Command::Diff(args) => args.color,
        Command::Test(args) => args.color,
        Command::Rules(args) => args.color,
    };
    let result = match cli.command {
        Command::Check(args) => cli::check::run(args),
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
