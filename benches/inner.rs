//! Criterion benchmarks of the inner pieces that large snapshots stress (docs/performance.md):
//! parsing a response file (against serde_json's own `Value`, the floor), locating many
//! values in one large file, decoding a large credential report, loading a snapshot and
//! running the default pack. The whole-process figures come from `scripts/bench.sh`.
//!
//! `cargo bench --bench inner` (add `-- --quick` for a short run).

use std::path::Path;

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use snapaudit::config::Config;
use snapaudit::snapshot::load::{LoadOptions, Snapshot};
use snapaudit::snapshot::locate::locate_all;
use snapaudit::snapshot::path::Step;
use snapaudit::snapshot::{credential_report, parse};

const EXAMPLE: &str = "snapshots/example";

/// `describe-instances` with the example's reservations repeated `n` times (ids made
/// unique), pretty-printed as the CLI prints it.
fn instances(n: usize) -> String {
    let text =
        std::fs::read_to_string(Path::new(EXAMPLE).join("ec2/eu-west-1/describe-instances.json"))
            .unwrap_or_default();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let one = doc["Reservations"].as_array().cloned().unwrap_or_default();
    let mut all = Vec::new();
    for i in 0..n {
        for r in &one {
            let s = r.to_string().replace("i-0", &format!("i-{i:x}"));
            all.push(serde_json::from_str::<serde_json::Value>(&s).unwrap_or_default());
        }
    }
    serde_json::to_string_pretty(&serde_json::json!({ "Reservations": all })).unwrap_or_default()
}

fn parsing(c: &mut Criterion) {
    let text = instances(2000);
    let mut g = c.benchmark_group("parse describe-instances");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("serde_json::Value (floor)", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(&text).map(|_| ()))
    });
    g.bench_function("snapshot::parse", |b| {
        b.iter(|| parse::parse(&text).map(|_| ()))
    });
    g.finish();
}

fn locating(c: &mut Criterion) {
    let text = instances(2000);
    let mut g = c.benchmark_group("locate");
    g.throughput(Throughput::Bytes(text.len() as u64));
    for wanted in [1usize, 1000] {
        let paths: Vec<Vec<Step>> = (0..wanted)
            .map(|i| {
                vec![
                    Step::Key("Reservations".into()),
                    Step::Index(i * 3 % 2000),
                    Step::Key("Instances".into()),
                    Step::Index(0),
                    Step::Key("InstanceId".into()),
                ]
            })
            .collect();
        g.bench_with_input(
            BenchmarkId::new("paths in one file", wanted),
            &paths,
            |b, p| b.iter(|| locate_all(&text, p)),
        );
    }
    g.finish();
}

fn credential_reports(c: &mut Criterion) {
    let header = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n";
    let mut csv = header.to_owned();
    for i in 0..20_000 {
        csv.push_str(&format!("user{i},arn:aws:iam::111122223333:user/user{i},2021-02-10T09:15:22+00:00,true,2026-11-01T17:20:05+00:00,2026-05-04T08:00:11+00:00,N/A,true,true,2026-10-01T07:45:00+00:00,2026-11-01T16:40:00+00:00,us-east-1,ec2,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"));
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&csv);
    let mut g = c.benchmark_group("credential report");
    g.throughput(Throughput::Elements(20_000));
    g.bench_function("decode 20k rows", |b| {
        b.iter(|| {
            credential_report::decode(
                Some(&b64),
                Some("2026-11-02T08:59:30+00:00"),
                "r.json",
                || None,
            )
            .map(|_| ())
        })
    });
    g.finish();
}

fn whole_example(c: &mut Criterion) {
    let config = Config::defaults();
    let options = LoadOptions::default();
    let mut g = c.benchmark_group("example snapshot");
    g.bench_function("load", |b| {
        b.iter(|| Snapshot::load(Path::new(EXAMPLE), &options).map(|_| ()))
    });
    let engine = snapaudit::rules::sandbox::engine(&config.limits);
    let pack = snapaudit::rules::Pack {
        bundled: true,
        dirs: Vec::new(),
    };
    let set = snapaudit::rules::load(&engine, &pack);
    if let Ok(snapshot) = Snapshot::load(Path::new(EXAMPLE), &options) {
        let inputs = std::sync::Arc::new(snapaudit::rules::Inputs {
            snapshot: std::sync::Arc::new(snapshot),
            sources: None,
        });
        g.bench_function("evaluate the default pack", |b| {
            b.iter(|| snapaudit::engine::evaluate(&engine, &set, &inputs, &config))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    parsing,
    locating,
    credential_reports,
    whole_example
);
criterion_main!(benches);
