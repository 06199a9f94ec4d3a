//! Loading a snapshot whose files hold arbitrary bytes: the first byte picks the path
//! (the manifest, the credential report, or a response file), the rest is the content.
//! Loading never panics, and the default pack's evaluation over it neither.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use snapaudit::config::Config;
use snapaudit::rules::{self, RuleSet};
use snapaudit::snapshot::load::LoadOptions;
use snapaudit::snapshot::Snapshot;

const PATHS: [&str; 8] = [
    "manifest.json",
    "iam/get-credential-report.json",
    "iam/get-account-password-policy.json",
    "iam/list-access-keys/bob.json",
    "ec2/us-east-1/describe-security-groups.json",
    "ec2/us-east-1/describe-instances.json",
    "cloudtrail/us-east-1/describe-trails.json",
    "iam/get-account-summary.json",
];

fn pack() -> &'static (rhai::Engine, RuleSet, Config) {
    static PACK: OnceLock<(rhai::Engine, RuleSet, Config)> = OnceLock::new();
    PACK.get_or_init(|| {
        let mut config = Config::defaults();
        config.limits.timeout_ms = 200;
        let engine = rules::sandbox::engine(&config.limits);
        let set = rules::load(&engine, &rules::Pack { bundled: true, dirs: Vec::new() });
        (engine, set, config)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rel = PATHS[*first as usize % PATHS.len()];
    let path = dir.path().join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, rest).expect("write");
    let Ok(snapshot) = Snapshot::load(dir.path(), &LoadOptions::default()) else { return };
    let inputs = Arc::new(rules::Inputs { snapshot: Arc::new(snapshot), sources: None });
    let (engine, set, config) = pack();
    let results = snapaudit::engine::evaluate(engine, set, &inputs, config);
    let _ = snapaudit::engine::locate_findings(&inputs, &results, true);
});
