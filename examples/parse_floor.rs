//! The floor for `check` (docs/performance.md): read every `.json` file of a snapshot and
//! parse it with serde_json, in parallel as `check` does, and nothing else.
//!
//! ```sh
//! cargo run --release --example parse_floor -- SNAPSHOT
//! ```

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark tool"
)]

use rayon::prelude::*;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: parse_floor SNAPSHOT");
    let start = std::time::Instant::now();
    let files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| e.into_path())
        .collect();
    let (bytes, values): (u64, usize) = files
        .par_iter()
        .map(|p| {
            let b = std::fs::read(p).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            (b.len() as u64, usize::from(!v.is_null()))
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    eprintln!(
        "parsed {} files, {} bytes in {:.3} s",
        values,
        bytes,
        start.elapsed().as_secs_f64()
    );
}
