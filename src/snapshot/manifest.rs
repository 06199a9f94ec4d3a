//! `manifest.json`: what was captured, when, and how every call ended.

use serde::{Deserialize, Serialize};

/// The manifest schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub tool: Option<ToolInfo>,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub caller_arn: String,
    #[serde(default)]
    pub partition: String,
    #[serde(default)]
    pub regions: Vec<String>,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub calls: Vec<Call>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    Ok,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Call {
    pub path: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub parameters: serde_json::Value,
    pub status: CallStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CallError>,
    /// Values the collector took out of the answer before writing it (they may be
    /// secrets): the catalogue's `redact` paths, each value "(redacted by snapaudit)".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallError {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The manifest's digest of a file: lowercase hex SHA-256 of its bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
