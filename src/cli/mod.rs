//! Subcommands. Each parses its own arguments into the engine's types and returns an exit
//! code; nothing here is used by the engine.

pub mod check;
#[cfg(feature = "collect")]
pub mod collect;
pub mod diff;
pub mod rules;
pub mod test;

use std::io::{IsTerminal, Write};

use clap::ValueEnum;

use snapaudit::report::human::Style;

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

/// Writes to standard output; a closed pipe (`snapaudit … | head`) is not an error.
pub fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

pub fn print_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
}
