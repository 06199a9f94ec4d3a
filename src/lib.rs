//! snapaudit's offline engine: load a snapshot, evaluate Rhai rules over it, report findings.
//!
//! The data flows one way: [`snapshot`] (files + provenance) → [`rules`] (compiled, sandboxed
//! Rhai) → [`engine`] (results and findings) → [`report`] (human, JSON). Nothing here touches
//! the network, the AWS SDK or tokio.

pub mod audit;
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
pub mod time;
pub mod waivers;
