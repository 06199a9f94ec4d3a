//! The snapshot directory: layout, manifest, loading and provenance.
//!
//! A snapshot is a directory of raw AWS responses in the aws CLI's JSON shape plus a
//! `manifest.json` (see `docs/snapshot-format.md`). [`Snapshot::load`] reads every response
//! once; values keep their path in the file ([`path::JsonPath`]) so that a finding can be
//! located ([`locate`]) in the file it came from, only when there is a finding to show.

pub mod catalogue;
pub mod credential_report;
pub mod load;
pub mod locate;
pub mod manifest;
pub mod model;
pub mod origin;
pub mod parse;
pub mod path;
pub mod shape;
pub mod value;

pub use load::{DocStatus, SnapFile, Snapshot, TimeSource};
