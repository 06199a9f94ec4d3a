//! snapaudit.toml and snapaudit.waivers.toml: any text is a config / waivers file or a
//! located diagnostic, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(p) = snapaudit::config::Config::from_text(text, "fuzz.toml") {
        let _ = p.line_col();
    }
    match snapaudit::waivers::parse(text, "fuzz.waivers.toml") {
        Ok(w) => {
            let _ = w.waivers.len();
        }
        Err(problems) => {
            for p in problems {
                let _ = p.line_col();
            }
        }
    }
});
