//! `snapaudit test DIR…`: run the `*.test.yaml` cases kept beside the rules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use snapaudit::config::Config;
use snapaudit::rules::{self, Pack};
use snapaudit::ruletest;

use super::check::{render_problem, write};
use super::{print_err, print_problems, ColorChoice};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directories holding rules and their `*.test.yaml` cases (their rules are added to the
    /// bundled pack, replacing bundled rules of the same id)
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// More rule directories whose rules the cases may name
    #[arg(long = "policies", value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Leave the bundled pack out: only the rules of the directories run
    #[arg(long)]
    pub no_default_pack: bool,
    /// Run only the cases whose name contains this text
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Show what every rule did, not only where a case failed
    #[arg(long, short)]
    pub verbose: bool,
    /// Write the observed finding locations into the cases that expect `fail` (their
    /// `locations`), then report as usual
    #[arg(long)]
    pub update: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour of diagnostics
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub fn run(args: TestArgs) -> ExitCode {
    let mut dirs = args.dirs.clone();
    dirs.extend(args.policies.iter().cloned());
    let pack = Pack {
        bundled: !args.no_default_pack,
        dirs,
    };
    // Rules compile with the default limits; each case runs with its own config's limits.
    let engine = rules::sandbox::engine(&Config::defaults().limits);
    let set = rules::load(&engine, &pack);
    let mut run = ruletest::run(&set, &args.dirs, args.filter.as_deref());
    if args.update {
        match ruletest::update_locations(&run) {
            Ok(n) => {
                print_err(&format!("wrote the locations of {n} expectations\n"));
                run = ruletest::run(&set, &args.dirs, args.filter.as_deref());
            }
            Err(p) => run.diagnostics.push(*p),
        }
    }

    print_problems(args.color, &run.diagnostics);
    if run.files.is_empty() {
        print_err("no *.test.yaml files found\n");
    }
    let text = match args.format {
        Format::Human => Ok(ruletest::render_human(&run, args.verbose)),
        Format::Json => ruletest::render_json(&run),
    };
    let written = text
        .map_err(render_problem)
        .and_then(|text| write(None, &text));
    match written {
        Ok(()) => ExitCode::from(run.exit_code()),
        Err(p) => {
            print_problems(args.color, [&*p]);
            ExitCode::from(2)
        }
    }
}
