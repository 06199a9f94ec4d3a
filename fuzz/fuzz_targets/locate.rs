//! Span location: for any text serde_json accepts, every value's located span must hold
//! exactly that value; for any text at all, locating must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapaudit::snapshot::locate::locate_all;
use snapaudit::snapshot::path::{JsonPath, Step};

fn paths(v: &serde_json::Value, at: JsonPath, out: &mut Vec<(JsonPath, serde_json::Value)>) {
    if out.len() > 200 {
        return;
    }
    out.push((at.clone(), v.clone()));
    match v {
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                paths(item, at.index(i), out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, item) in m {
                paths(item, at.key(k), out);
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = locate_all(text, &[vec![Step::Index(0)], vec![]]);
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { return };
    let mut all = Vec::new();
    paths(&value, JsonPath::root(), &mut all);
    let steps: Vec<Vec<Step>> = all.iter().map(|(p, _)| p.steps()).collect();
    let spans = locate_all(text, &steps);
    for ((path, expected), span) in all.iter().zip(spans) {
        // Duplicate member names: serde_json keeps the last, and so does locate.
        let span = span.unwrap_or_else(|| panic!("{} not located", path.pointer()));
        let got: serde_json::Value = serde_json::from_str(&text[span.offset..span.offset + span.len])
            .unwrap_or_else(|e| panic!("span of {} is not JSON: {e}", path.pointer()));
        assert_eq!(&got, expected, "span of {}", path.pointer());
    }
});
