//! Rendering a diagnostic: for any text and any span (long lines, multi-byte characters,
//! spans past the end), reading the span's lines and drawing the report must not panic,
//! and the header's line and column must agree with `line_col`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};
use snapaudit::diagnostic::{Kind, Problem, SourceFile};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let offset = u16::from_le_bytes([data[0], data[1]]) as usize;
    let len = u16::from_le_bytes([data[2], data[3]]) as usize;
    let text = String::from_utf8_lossy(&data[4..]);
    // Make long lines likely: repeat the text on one line now and then.
    let text = if data[0] & 1 == 1 { text.repeat(64) } else { text.into_owned() };
    let source = SourceFile::new("fuzz.json", text.clone());
    let problem = Problem::new(Kind::SnapshotMalformedJson, "a problem").at(source.clone(), offset, len, "here");
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    let _ = handler.render_report(&mut out, &problem);
    if let Some((line, col)) = problem.line_col() {
        let header = format!("fuzz.json:{line}:{col}]");
        assert!(out.contains(&header), "{header} not in\n{out}");
    }
    // One long line is shown as a window, whatever its length.
    if !text.contains(['\n', '\r']) {
        assert!(out.len() < 8 * 1024, "{} bytes for one line of {}", out.len(), text.len());
    }
});
