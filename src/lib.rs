//! snapaudit's offline engine: load a snapshot, evaluate Rhai rules over it, report findings.
//!
//! The data flows one way: [`snapshot`] (files + provenance) → [`rules`] (compiled, sandboxed
//! Rhai) → [`engine`] (results and findings) → [`report`] (human, JSON). The engine never
//! touches the network: only [`collect`] (the `collect` feature) and the S3 side of
//! [`store`] (the `s3` feature, which fetches an `s3://` snapshot before the engine reads
//! it) use the AWS SDK and tokio.

pub mod audit;
#[cfg(feature = "s3")]
pub mod aws;
#[cfg(feature = "collect")]
pub mod collect;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod engine;
pub mod org;
pub mod report;
pub mod rules;
pub mod ruletest;
pub mod scan;
pub mod snapshot;
pub mod store;
pub mod time;
pub mod waivers;
