//! Organisation directories: one snapshot per member account at `DIR/<account id>/`, and the
//! records of the run that wrote them (`organization.json`, `shards/I-of-N.json`).
//!
//! [`OrgDir::load`] reads the records, merges them into one view of the organisation and
//! pairs each account with its folder; every disagreement is a diagnostic of the view,
//! never a panic (docs/organizations.md). Auditing the accounts is
//! [`crate::audit::org`]; comparing two organisations is [`crate::diff::org`].

pub mod record;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Kind, Problem};
use crate::waivers::is_account_id;
pub use record::{AccountRecord, Outcome, Record, Shard};

/// The unsharded run's record.
pub const ORGANIZATION_FILE: &str = "organization.json";
/// The folder of the shard records.
pub const SHARDS_DIR: &str = "shards";
/// More shards than this are not a plausible run (and would make the check of a complete
/// set loop long): their records are refused.
pub const MAX_SHARDS: u32 = 10_000;

/// Whether `dir` is an organisation directory (it has `organization.json` or `shards/`)
/// rather than one account's snapshot.
pub fn is_organization(dir: &Path) -> bool {
    dir.join(ORGANIZATION_FILE).is_file() || dir.join(SHARDS_DIR).is_dir()
}

/// One member account: what the records say, and where its snapshot is.
#[derive(Debug, Clone)]
pub struct OrgAccount {
    /// 12 digits, checked.
    pub id: String,
    /// `None` for a folder that no record names.
    pub record: Option<AccountRecord>,
    /// The account's snapshot folder, when there is one.
    pub snapshot: Option<PathBuf>,
}

impl OrgAccount {
    pub fn name(&self) -> &str {
        self.record.as_ref().map_or("", |r| r.name.as_str())
    }

    pub fn ou_path(&self) -> &[String] {
        self.record.as_ref().map_or(&[], |r| r.ou_path.as_slice())
    }

    /// The recorded outcome, or `unrecorded`.
    pub fn outcome_name(&self) -> &'static str {
        self.record
            .as_ref()
            .map_or("unrecorded", |r| r.outcome.as_str())
    }

    /// The OU path as one text: `Root/Production`.
    pub fn ou_text(&self) -> String {
        self.ou_path().join("/")
    }
}

/// The merged view of an organisation directory.
#[derive(Debug, Clone)]
pub struct OrgDir {
    pub dir: PathBuf,
    /// The directory as the user named it.
    pub display_dir: String,
    /// From the records (the first record's, in file order, when they disagree).
    pub organization_id: Option<String>,
    pub management_account_id: Option<String>,
    /// The earliest `captured_at` of the records.
    pub captured_at: Option<String>,
    /// Sorted by account ID.
    pub accounts: Vec<OrgAccount>,
    /// Problems of the records and the folders, in the order they are read.
    pub problems: Vec<Problem>,
}

/// A record file and what it said.
struct Read {
    shown: String,
    record: Record,
}

impl OrgDir {
    /// Reads the records and the account folders of `dir`. Only a directory that cannot be
    /// listed stops it; everything else is a problem of the view.
    pub fn load(dir: &Path) -> Result<OrgDir, Box<Problem>> {
        let display_dir = crate::snapshot::origin::shown(dir);
        let show = |rel: &str| format!("{}/{rel}", display_dir.trim_end_matches('/'));
        let mut problems = Vec::new();
        let mut reads: Vec<Read> = Vec::new();

        let unsharded = dir.join(ORGANIZATION_FILE);
        if unsharded.is_file() {
            let shown = show(ORGANIZATION_FILE);
            match record::read(&unsharded, &shown) {
                Ok((record, mut more)) => {
                    problems.append(&mut more);
                    if let Some(s) = record.shard {
                        problems.push(
                            Problem::new(
                                Kind::OrgConflict,
                                format!(
                                    "`{shown}` is the record of an unsharded run but says it is shard {}-of-{}; it is ignored",
                                    s.index, s.count
                                ),
                            )
                            .with_file(shown.clone()),
                        );
                    } else {
                        reads.push(Read { shown, record });
                    }
                }
                Err(p) => problems.push(*p),
            }
        }
        let shards = dir.join(SHARDS_DIR);
        if shards.is_dir() {
            read_shards(&shards, &show, &mut reads, &mut problems);
        }
        let (organization_id, management_account_id) = check_agreement(&reads, &mut problems);
        let captured_at = reads
            .iter()
            .filter_map(|r| crate::time::parse_time(&r.record.captured_at))
            .min()
            .map(|t| crate::time::format_time(&t));

        // Every account once: the first record that names it wins, the others conflict.
        let mut accounts: BTreeMap<String, OrgAccount> = BTreeMap::new();
        let mut claimed_by: BTreeMap<String, String> = BTreeMap::new();
        for r in &reads {
            for a in &r.record.accounts {
                if let Some(first) = claimed_by.get(&a.id) {
                    problems.push(
                        Problem::new(
                            Kind::OrgConflict,
                            format!(
                                "account {} is recorded twice: in `{first}` and in `{}`; the first is used",
                                a.id, r.shown
                            ),
                        )
                        .with_file(r.shown.clone()),
                    );
                    continue;
                }
                claimed_by.insert(a.id.clone(), r.shown.clone());
                accounts.insert(
                    a.id.clone(),
                    OrgAccount {
                        id: a.id.clone(),
                        record: Some(a.clone()),
                        snapshot: None,
                    },
                );
            }
        }

        let entries = std::fs::read_dir(dir).map_err(|e| {
            Box::new(Problem::new(
                Kind::SnapshotIo,
                format!("cannot read organisation directory `{display_dir}`: {e}"),
            ))
        })?;
        let mut names: Vec<(String, PathBuf)> = Vec::new();
        for entry in entries {
            match entry {
                Ok(e) => match e.file_name().into_string() {
                    Ok(name) => names.push((name, e.path())),
                    Err(raw) => problems.push(Problem::new(
                        Kind::OrgStrayEntry,
                        format!(
                            "`{}` in the organisation directory is not a UTF-8 name; it is ignored",
                            show(&raw.to_string_lossy())
                        ),
                    )),
                },
                Err(e) => problems.push(Problem::new(
                    Kind::SnapshotIo,
                    format!("cannot read organisation directory `{display_dir}`: {e}"),
                )),
            }
        }
        names.sort();
        for (name, path) in names {
            if name == ORGANIZATION_FILE || name == SHARDS_DIR {
                continue;
            }
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            if !is_account_id(&name) || !is_dir {
                problems.push(Problem::new(
                    Kind::OrgStrayEntry,
                    format!(
                        "`{}` is not an account folder (a directory named by a 12-digit account ID; symbolic links are not followed); it is ignored",
                        show(&name)
                    ),
                ));
                continue;
            }
            match accounts.get_mut(&name) {
                Some(a) => a.snapshot = Some(path),
                None => {
                    problems.push(Problem::new(
                        Kind::OrgUnrecordedAccount,
                        format!("account folder `{}` is named by no record", show(&name)),
                    ));
                    accounts.insert(
                        name.clone(),
                        OrgAccount {
                            id: name,
                            record: None,
                            snapshot: Some(path),
                        },
                    );
                }
            }
        }
        for a in accounts.values() {
            let Some(r) = &a.record else { continue };
            match (&a.snapshot, r.outcome.has_snapshot()) {
                (None, true) => problems.push(Problem::new(
                    Kind::OrgMissingSnapshot,
                    format!(
                        "account {} is recorded as {} but `{}` does not exist",
                        a.id,
                        r.outcome.as_str(),
                        show(&a.id)
                    ),
                )),
                (Some(_), false) => problems.push(Problem::new(
                    Kind::OrgStrayEntry,
                    format!(
                        "account {} is recorded as {}, yet `{}` exists; it is not audited",
                        a.id,
                        r.outcome.as_str(),
                        show(&a.id)
                    ),
                )),
                _ => {}
            }
        }
        let mut accounts: Vec<OrgAccount> = accounts.into_values().collect();
        // A folder the record says holds no snapshot is not audited.
        for a in &mut accounts {
            if a.record.as_ref().is_some_and(|r| !r.outcome.has_snapshot()) {
                a.snapshot = None;
            }
        }
        Ok(OrgDir {
            dir: dir.to_path_buf(),
            display_dir,
            organization_id,
            management_account_id,
            captured_at,
            accounts,
            problems,
        })
    }

    /// The account folder's path as the user sees it.
    pub fn display_account(&self, id: &str) -> String {
        format!("{}/{id}", self.display_dir.trim_end_matches('/'))
    }
}

/// `I-of-N.json`: the shard a record file's name says it is.
fn shard_of_name(name: &str) -> Option<Shard> {
    let stem = name.strip_suffix(".json")?;
    let (i, n) = stem.split_once("-of-")?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(i) || !digits(n) {
        return None;
    }
    Some(Shard {
        index: i.parse().ok()?,
        count: n.parse().ok()?,
    })
}

/// Reads `shards/*.json`, checking each name against its record, and that the set is
/// complete.
fn read_shards(
    shards: &Path,
    show: &dyn Fn(&str) -> String,
    reads: &mut Vec<Read>,
    problems: &mut Vec<Problem>,
) {
    let mut names: Vec<String> = Vec::new();
    match std::fs::read_dir(shards) {
        Ok(entries) => {
            for e in entries.flatten() {
                match e.file_name().into_string() {
                    Ok(n) => names.push(n),
                    Err(raw) => problems.push(Problem::new(
                        Kind::OrgStrayEntry,
                        format!(
                            "`{}` is not a UTF-8 name; it is ignored",
                            show(&format!("{SHARDS_DIR}/{}", raw.to_string_lossy()))
                        ),
                    )),
                }
            }
        }
        Err(e) => problems.push(Problem::new(
            Kind::OrgRecord,
            format!("cannot read `{}`: {e}", show(SHARDS_DIR)),
        )),
    }
    names.sort();
    // Shard count → the indexes seen (the first record of each).
    let mut sets: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for name in names {
        let rel = format!("{SHARDS_DIR}/{name}");
        let shown = show(&rel);
        let path = shards.join(&name);
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        let named = shard_of_name(&name)
            .filter(|s| s.index >= 1 && s.index <= s.count && s.count <= MAX_SHARDS);
        let Some(named) = named.filter(|_| regular) else {
            problems.push(Problem::new(
                Kind::OrgStrayEntry,
                format!(
                    "`{shown}` is not a shard record (a regular file named I-of-N.json, 1 ≤ I ≤ N ≤ {MAX_SHARDS}); it is ignored"
                ),
            ));
            continue;
        };
        let (record, mut more) = match record::read(&path, &shown) {
            Ok(r) => r,
            Err(p) => {
                problems.push(*p);
                // Its accounts are unknown, but the shard was run: the set is not missing it.
                sets.entry(named.count).or_default().push(named.index);
                continue;
            }
        };
        problems.append(&mut more);
        if record.shard != Some(named) {
            problems.push(
                Problem::new(
                    Kind::OrgConflict,
                    format!(
                        "`{shown}` says it is {}; its name says shard {}-of-{}; it is ignored",
                        record
                            .shard
                            .map(|s| format!("shard {}-of-{}", s.index, s.count))
                            .unwrap_or_else(|| "unsharded".into()),
                        named.index,
                        named.count
                    ),
                )
                .with_file(shown),
            );
            continue;
        }
        sets.entry(named.count).or_default().push(named.index);
        reads.push(Read { shown, record });
    }
    if sets.len() > 1 {
        let counts: Vec<String> = sets.keys().map(|n| format!("-of-{n}")).collect();
        problems.push(Problem::new(
            Kind::OrgConflict,
            format!(
                "`{}` holds shards of runs split differently ({}): one organisation directory holds one run",
                show(SHARDS_DIR),
                counts.join(", ")
            ),
        ));
    }
    for (count, seen) in &sets {
        let missing: Vec<String> = (1..=*count)
            .filter(|i| !seen.contains(i))
            .take(10)
            .map(|i| format!("{i}-of-{count}"))
            .collect();
        if !missing.is_empty() {
            let total = (1..=*count).filter(|i| !seen.contains(i)).count();
            problems.push(Problem::new(
                Kind::OrgIncompleteShards,
                format!(
                    "the shards of `{}` are incomplete: {} of {count} missing ({}{})",
                    show(SHARDS_DIR),
                    total,
                    missing.join(", "),
                    if total > missing.len() { ", …" } else { "" }
                ),
            ));
        }
    }
}

/// The organisation and management account the records agree on; a conflict for each
/// record that says otherwise.
fn check_agreement(
    reads: &[Read],
    problems: &mut Vec<Problem>,
) -> (Option<String>, Option<String>) {
    let Some(first) = reads.first() else {
        return (None, None);
    };
    for r in &reads[1..] {
        for (what, a, b) in [
            (
                "organization_id",
                &first.record.organization_id,
                &r.record.organization_id,
            ),
            (
                "management_account_id",
                &first.record.management_account_id,
                &r.record.management_account_id,
            ),
        ] {
            if a != b {
                let (a, b) = (
                    a.as_deref().unwrap_or("none"),
                    b.as_deref().unwrap_or("none"),
                );
                problems.push(
                    Problem::new(
                        Kind::OrgConflict,
                        format!(
                            "`{}` has {what} {b} but `{}` has {a}: the records are of different organisations",
                            r.shown, first.shown
                        ),
                    )
                    .with_file(r.shown.clone()),
                );
            }
        }
    }
    (
        first.record.organization_id.clone(),
        first.record.management_account_id.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_are_read_strictly() {
        assert_eq!(
            shard_of_name("1-of-2.json"),
            Some(Shard { index: 1, count: 2 })
        );
        assert_eq!(shard_of_name("1-of-2.json.bak"), None);
        assert_eq!(shard_of_name("-1-of-2.json"), None);
        assert_eq!(shard_of_name("1-of-99999999999.json"), None);
        assert_eq!(shard_of_name("a-of-2.json"), None);
    }
}
