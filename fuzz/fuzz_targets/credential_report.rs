//! The credential report decode (base64 → UTF-8 → CSV → rows with cell spans): errors, never
//! panics; every cell span of a decoded report holds the cell.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Half the inputs as base64 content, half as raw CSV encoded here.
    let content = if data.first().is_some_and(|b| b % 2 == 0) {
        String::from_utf8_lossy(&data[1.min(data.len())..]).into_owned()
    } else {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(data.get(1..).unwrap_or_default())
    };
    let decoded = snapaudit::snapshot::credential_report::decode(Some(&content), Some("2026-11-02T09:00:00Z"), "fuzz.json", || None);
    if let Ok(report) = decoded {
        for row in &report.rows {
            assert_eq!(row.cells.len(), row.spans.len());
            for (cell, (offset, len)) in row.cells.iter().zip(&row.spans) {
                let text = &report.source.text[*offset..*offset + *len];
                // The span is the raw field: the cell's text, give or take CSV quoting.
                assert!(text == cell || text.replace('"', "") == cell.replace('"', ""), "span of {cell:?} holds {text:?}");
            }
            let _ = report.source.line_col(row.spans.last().map(|s| s.0).unwrap_or(0));
        }
    }
});
