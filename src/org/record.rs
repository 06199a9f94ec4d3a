//! The records of an organisation directory: `organization.json` (an unsharded run) and
//! `shards/I-of-N.json` (one per shard of a `--shard I/N` run), as `snapaudit collect --org`
//! writes them (docs/organizations.md).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Kind, Problem, SourceFile};

/// The record schema this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A record larger than this is refused unread: 10,000 accounts take about 5 MB.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// One record file. Members this build does not know are ignored, as in the manifest: the
/// record is written by a program, and `schema_version` changes when a reader could misread
/// it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Record {
    pub schema_version: u32,
    /// None when the accounts came from a file (`collect --accounts`), not an Organization.
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub management_account_id: Option<String>,
    pub captured_at: String,
    #[serde(default)]
    pub shard: Option<Shard>,
    pub accounts: Vec<AccountRecord>,
}

/// Which shard of a `--shard I/N` run wrote the record (1-based).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N`, as `collect --shard` takes it.
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write I/N with 1 ≤ I ≤ N, e.g. 2/8");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count || count > super::MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether this shard holds `account_id`: by a hash of the id (SHA-256, its first 8
    /// bytes modulo the count), not its position, so an account keeps its shard when
    /// others join or leave.
    pub fn owns(&self, account_id: &str) -> bool {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(account_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// The shard's record in the organisation directory: `shards/I-of-N.json`.
    pub fn record_path(&self) -> String {
        format!(
            "{}/{}-of-{}.json",
            super::SHARDS_DIR,
            self.index,
            self.count
        )
    }
}

/// One member account as the collector saw it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct AccountRecord {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub status: String,
    /// The OUs from the root down to the account's own (`["Root", "Production"]`).
    #[serde(default)]
    pub ou_path: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub outcome: Outcome,
    #[serde(default)]
    pub message: Option<String>,
}

/// How collecting one account ended.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A snapshot was written and every call answered.
    Collected,
    /// A snapshot was written; some calls failed (its manifest says which).
    Partial,
    /// The role in the account could not be assumed: no snapshot.
    AssumeRoleFailed,
    /// Collecting failed otherwise: no snapshot.
    Failed,
    /// A suspended account, not collected on purpose.
    SkippedSuspended,
    /// Left out by the run's account filter.
    SkippedFiltered,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Collected => "collected",
            Outcome::Partial => "partial",
            Outcome::AssumeRoleFailed => "assume-role-failed",
            Outcome::Failed => "failed",
            Outcome::SkippedSuspended => "skipped-suspended",
            Outcome::SkippedFiltered => "skipped-filtered",
        }
    }

    /// Whether the collector says it wrote a snapshot.
    pub fn has_snapshot(self) -> bool {
        matches!(self, Outcome::Collected | Outcome::Partial)
    }

    /// Whether the account was meant to be collected and was not: the audit is incomplete.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::AssumeRoleFailed | Outcome::Failed)
    }
}

/// `o-` and 10 to 32 lowercase letters or digits, as AWS Organizations ids are.
pub fn is_organization_id(text: &str) -> bool {
    text.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Reads and checks one record file: its size, JSON, schema version and ids. `shown` is the
/// path as the user sees it. Account entries whose id is not 12 digits are dropped, each
/// with an error (they are never used as paths).
pub fn read(path: &Path, shown: &str) -> Result<(Record, Vec<Problem>), Box<Problem>> {
    let problem =
        |message: String| Box::new(Problem::new(Kind::OrgRecord, message).with_file(shown));
    let file = std::fs::File::open(path)
        .map_err(|e| problem(format!("cannot read organisation record `{shown}`: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| problem(format!("cannot read organisation record `{shown}`: {e}")))?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(problem(format!(
            "organisation record `{shown}` is larger than {} MB and is not read",
            MAX_RECORD_BYTES >> 20
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| problem(format!("organisation record `{shown}` is not UTF-8")))?;
    parse(&text, shown)
}

/// Parses and checks a record's text (see [`read`]).
pub fn parse(text: &str, shown: &str) -> Result<(Record, Vec<Problem>), Box<Problem>> {
    let source = SourceFile::new(shown, text);
    let mut record: Record = serde_json::from_str(text).map_err(|e| {
        let offset = offset_of(text, e.line(), e.column());
        Box::new(
            Problem::new(
                Kind::OrgRecord,
                format!("`{shown}` is not an organisation record: {e}"),
            )
            .with_file(shown)
            .at(source.clone(), offset, 0, "here"),
        )
    })?;
    let problem =
        |message: String| Box::new(Problem::new(Kind::OrgRecord, message).with_file(shown));
    if record.schema_version != SCHEMA_VERSION {
        return Err(problem(format!(
            "`{shown}` has schema_version {}, and this snapaudit reads version {SCHEMA_VERSION}",
            record.schema_version
        )));
    }
    if let Some(id) = record
        .organization_id
        .as_deref()
        .filter(|id| !is_organization_id(id))
    {
        return Err(problem(format!(
            "`{shown}`: organization_id {id:?} is not an organisation id (`o-` and 10 to 32 lowercase letters or digits)"
        )));
    }
    if let Some(id) = record
        .management_account_id
        .as_deref()
        .filter(|id| !crate::waivers::is_account_id(id))
    {
        return Err(problem(format!(
            "`{shown}`: management_account_id {id:?} is not an account ID (12 digits)"
        )));
    }
    if crate::time::parse_time(&record.captured_at).is_none() {
        return Err(problem(format!(
            "`{shown}`: captured_at {:?} is not a time (RFC 3339)",
            record.captured_at
        )));
    }
    if let Some(s) = record.shard {
        if s.index == 0 || s.count == 0 || s.index > s.count {
            return Err(problem(format!(
                "`{shown}`: shard {}-of-{} is not a shard (1 ≤ index ≤ count)",
                s.index, s.count
            )));
        }
    }
    let mut problems = Vec::new();
    record.accounts.retain(|a| {
        let ok = crate::waivers::is_account_id(&a.id);
        if !ok {
            problems.push(*problem(format!(
                "`{shown}` records an account with id {:?}, which is not an account ID (12 digits); the entry is ignored",
                a.id
            )));
        }
        ok
    });
    Ok((record, problems))
}

/// The byte offset of a 1-based line and column (serde_json's error position), clamped to
/// the text.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_is_in_exactly_one_shard_and_the_shards_are_even() {
        let ids: Vec<String> = (0..1000u64)
            .map(|i| format!("{:012}", 100_000_000_000 + i * 7919))
            .collect();
        for count in [1u32, 2, 3, 8] {
            let shards: Vec<Shard> = (1..=count).map(|index| Shard { index, count }).collect();
            for id in &ids {
                let owners = shards.iter().filter(|s| s.owns(id)).count();
                assert_eq!(owners, 1, "{id} in {owners} of {count} shards");
            }
            // A hash spreads them: no shard is empty or holds twice its share.
            for s in &shards {
                let n = ids.iter().filter(|id| s.owns(id)).count();
                assert!(
                    n > 0 && n < 2 * ids.len() / count as usize + 10,
                    "{n} of {count}"
                );
            }
        }
        let s = Shard { index: 2, count: 8 };
        assert_eq!(s.record_path(), "shards/2-of-8.json");
    }

    #[test]
    fn shard_text_is_checked() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/2", "3/2", "1/0", "x/2", "2", "", "1/10001"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn organisation_ids_are_checked() {
        assert!(is_organization_id("o-a1b2c3d4e5"));
        assert!(!is_organization_id("o-short"));
        assert!(!is_organization_id("o-A1B2C3D4E5"));
        assert!(!is_organization_id("../o-a1b2c3d4e5"));
    }

    #[test]
    fn path_like_account_ids_are_dropped_with_an_error() {
        let text = r#"{"schema_version": 1, "organization_id": "o-a1b2c3d4e5",
            "management_account_id": "111111111111", "captured_at": "2026-12-01T10:00:00Z",
            "accounts": [
              {"id": "../x", "outcome": "collected"},
              {"id": "222222222222", "outcome": "failed", "message": "boom"}]}"#;
        let (record, problems) = parse(text, "organization.json").expect("a record");
        assert_eq!(record.accounts.len(), 1);
        assert_eq!(record.accounts[0].id, "222222222222");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("\"../x\""),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_malformed_record_points_at_the_error() {
        let err = parse("{\n  \"schema_version\": 1,\n  oops\n}", "r.json").expect_err("invalid");
        assert_eq!(err.kind, Kind::OrgRecord);
        assert_eq!(err.line_col(), Some((3, 3)));
    }
}
