//! Subcommands. Each parses its own arguments into the engine's types and returns an exit
//! code; nothing here is used by the engine.

pub mod check;
#[cfg(feature = "collect")]
pub mod collect;
pub mod diff;
pub mod rules;
pub mod test;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use snapaudit::audit::{FileChoice, SetupOptions};
use snapaudit::diagnostic::{Kind, Problem};
use snapaudit::report::human::{self, Style};
use snapaudit::rules::Severity;

/// Where the settings and rules come from (shared by `check`, `diff`, `test`, `rules`).
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// A directory of rule files added to the bundled pack (repeatable); a rule with the
    /// id of a bundled rule replaces it
    #[arg(long = "policies", value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Leave the bundled pack out: only the rules of --policies (and `policies` in the
    /// config) run
    #[arg(long)]
    pub no_default_pack: bool,
    /// Settings file; default: ./snapaudit.toml when present
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl SetupArgs {
    /// The setup these arguments ask for, with waivers as given.
    pub fn options(&self, waivers: FileChoice) -> SetupOptions {
        SetupOptions {
            config: match &self.config {
                Some(p) => FileChoice::Named(p.clone()),
                None => FileChoice::Default,
            },
            policies: self.policies.clone(),
            no_default_pack: self.no_default_pack,
            waivers,
        }
    }
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

impl FailOn {
    /// The severity `--fail-on` names, `None` for `never`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

/// `--as-of DATE`, parsed.
pub fn parse_as_of(
    text: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Box<Problem>> {
    match text {
        None => Ok(None),
        Some(t) => snapaudit::time::parse_time(t).map(Some).ok_or_else(|| {
            Box::new(Problem::new(
                Kind::UsageAsOf,
                format!("`--as-of {t}` is not a time"),
            ))
        }),
    }
}

/// An organisation run's problems for standard error: each account's named after the
/// account, the setup's own (the same in every account's run) once, each problem once.
pub fn account_problems<'a>(
    setup: &snapaudit::audit::Setup,
    problems: impl IntoIterator<Item = (Option<&'a str>, &'a Problem)>,
) -> Vec<Problem> {
    let same =
        |a: &Problem, b: &Problem| a.kind == b.kind && a.message == b.message && a.file == b.file;
    let mut shown: Vec<Problem> = Vec::new();
    for (account, p) in problems {
        let p = match account {
            Some(id) if !setup.problems().any(|s| same(s, p)) => p
                .clone()
                .with_message(format!("account {id}: {}", p.message)),
            _ => p.clone(),
        };
        if !shown.iter().any(|q| same(q, &p)) {
            shown.push(p);
        }
    }
    shown
}

/// Prints diagnostics on standard error.
pub fn print_problems<'a>(color: ColorChoice, problems: impl IntoIterator<Item = &'a Problem>) {
    print_err(&human::render_problems(stderr_style(color), problems));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Colour for a stream: `--color`, then `NO_COLOR`, then whether it is a terminal.
pub fn style(choice: ColorChoice, stream_is_tty: bool) -> Style {
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(100);
    Style { color, width }
}

pub fn stdout_style(choice: ColorChoice) -> Style {
    style(choice, std::io::stdout().is_terminal())
}

pub fn stderr_style(choice: ColorChoice) -> Style {
    style(choice, std::io::stderr().is_terminal())
}

/// Writes to standard output; a closed pipe (`snapaudit … | head`) is not an error, any
/// other failure (a full disk, `> /dev/full`) is.
pub fn print_out(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

pub fn print_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
}
