//! An arbitrary rule, compiled and run in the sandbox over the example snapshot with a short
//! deadline: it ends as pass, fail, skip or error, never a panic or a hang.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use snapaudit::config::Config;
use snapaudit::rules::{self, RuleSet};
use snapaudit::snapshot::load::LoadOptions;
use snapaudit::diagnostic::SourceFile;
use snapaudit::rules::Inputs;
use snapaudit::snapshot::Snapshot;

fn example() -> &'static (Arc<Inputs>, rhai::Engine, Config) {
    static EX: OnceLock<(Arc<Inputs>, rhai::Engine, Config)> = OnceLock::new();
    EX.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots/example");
        let snapshot = Snapshot::load(&dir, &LoadOptions::default()).expect("example loads");
        let mut config = Config::defaults();
        config.limits.timeout_ms = 100;
        config.limits.max_operations = 2_000_000;
        let engine = rules::sandbox::engine(&config.limits);
        let inputs = Inputs { snapshot: Arc::new(snapshot), sources: None };
        (Arc::new(inputs), engine, config)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let text = format!("//! id = \"fuzz.rule\"\n//! title = \"fuzz\"\n//! severity = \"low\"\n{body}");
    let (snapshot, engine, config) = example();
    let mut set = RuleSet::default();
    match rules::compile_source(engine, SourceFile::new("fuzz.rhai", text), rules::Origin::Bundled) {
        Ok(rule) => set.rules.push(rule),
        Err(broken) => set.broken.push(*broken),
    }
    let results = snapaudit::engine::evaluate(engine, &set, snapshot, config);
    assert_eq!(results.len(), 1);
    let _ = snapaudit::engine::locate_findings(snapshot, &results, false);
});
