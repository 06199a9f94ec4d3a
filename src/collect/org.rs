//! `collect --org` and `collect --accounts FILE`: one ordinary snapshot per account at
//! `DIR/<account id>/`, and the record of what became of every account
//! (`DIR/organization.json`, or `DIR/shards/<I>-of-<N>.json` for one shard of the account
//! list). docs/organizations.md describes the layout and the record.
//!
//! The accounts come from the Organization (`organizations list-accounts`, with each
//! account's OU path and tags) or from a file. Each member is reached by assuming a role in
//! it (the caller's own account with the caller's credentials); one account's failure is
//! recorded and the others go on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::calls::{self, failure, Failure, Sdk};
use super::{CollectError, Options, Summary};
use crate::org::{AccountRecord, Outcome, Record, Shard, ORGANIZATION_FILE};

/// The variables that carry a worker's index in the engines that run shards (0-based):
/// Kubernetes Indexed Jobs and AWS Batch array jobs.
pub const INDEX_VARIABLES: &[&str] = &["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

/// The shard of `count` that the workers' engine gave this one: the first of
/// [`INDEX_VARIABLES`] that is set (0-based) becomes the index (1-based).
pub fn shard_from_env(count: u32) -> Result<Shard, String> {
    for name in INDEX_VARIABLES {
        if let Ok(value) = std::env::var(name) {
            let i: u32 = value
                .trim()
                .parse()
                .map_err(|_| format!("{name}=`{value}` is not a worker index"))?;
            return format!("{}/{count}", i.saturating_add(1)).parse();
        }
    }
    Err(format!(
        "--shard-count needs the worker's index in {}",
        INDEX_VARIABLES.join(" or ")
    ))
}

/// What the user asked of an organisation run.
#[derive(Debug, Clone)]
pub struct OrgOptions {
    /// `--accounts FILE`: the accounts in a file; else the caller's Organization's.
    pub accounts_file: Option<PathBuf>,
    /// The role assumed in each member account.
    pub role_name: String,
    pub external_id: Option<String>,
    pub session_name: String,
    pub skip_accounts: Vec<String>,
    /// Only accounts under these OUs (ids `ou-…` or names).
    pub ous: Vec<String>,
    pub shard: Option<Shard>,
    /// Accounts collected at once.
    pub accounts_in_flight: usize,
    /// `--out s3://…`: each account's snapshot is uploaded there when it is finished (and
    /// removed from the local directory), the record at the end.
    pub remote: Option<crate::store::s3::Remote>,
}

/// An account to collect, as listed.
#[derive(Debug, Clone, Default)]
struct Member {
    id: String,
    name: Option<String>,
    email: Option<String>,
    status: Option<String>,
    /// OU names from the root.
    ou_path: Vec<String>,
    /// OU ids from the root.
    ou_ids: Vec<String>,
    tags: BTreeMap<String, String>,
    /// The role to assume here, when the file names one.
    role_name: Option<String>,
    external_id: Option<String>,
    /// Why its OU path is not known (a lookup that failed after its retries).
    unknown_ou: Option<String>,
    /// Why its tags are not known.
    unknown_tags: Option<String>,
}

/// What an organisation run did.
#[derive(Debug)]
pub struct OrgSummary {
    pub dir: PathBuf,
    pub record: Record,
    /// The single-account summaries of the accounts collected.
    pub collected: Vec<Summary>,
}

impl OrgSummary {
    /// Whether every account in the record was collected in full.
    pub fn complete(&self) -> bool {
        self.record
            .accounts
            .iter()
            .all(|a| !a.outcome.is_failure() && a.outcome != Outcome::Partial)
    }
}

/// An account id: twelve digits (it names a directory, so nothing else is accepted).
fn valid_id(id: &str) -> bool {
    crate::waivers::is_account_id(id)
}

fn org_error(what: &str, failed: Failure) -> CollectError {
    CollectError::Organization(lookup_failed(what, failed))
}

fn lookup_failed(what: &str, (code, message): Failure) -> String {
    format!("{what} failed with {code}: {message}")
}

/// The Organization's id, management account and ACTIVE-or-not accounts with their OU
/// paths and tags.
/// OU paths and tags are looked up only for the accounts `wanted` keeps (this shard's, not
/// skipped): N workers do not each look up the whole Organization.
async fn list_organization(
    sdk: &Sdk,
    wanted: impl Fn(&str) -> bool,
) -> Result<(Option<String>, Option<String>, Vec<Member>), CollectError> {
    let c = aws_sdk_organizations::Client::new(&sdk.conf(sdk.global()));
    let described = c
        .describe_organization()
        .send()
        .await
        .map_err(|e| org_error("organizations DescribeOrganization", failure(e)))?;
    let org = described.organization();
    let org_id = org.and_then(|o| o.id()).map(str::to_owned);
    let management = org.and_then(|o| o.master_account_id()).map(str::to_owned);

    let mut members = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_accounts()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| org_error("organizations ListAccounts", failure(e)))?;
        for a in page.accounts() {
            #[allow(
                deprecated,
                reason = "`Status` is what every Organization still answers"
            )]
            let status = a.status().map(|s| s.as_str().to_owned());
            let Some(id) = a.id() else {
                return Err(CollectError::Organization(
                    "organizations ListAccounts answered an account without an id".to_owned(),
                ));
            };
            members.push(Member {
                id: id.to_owned(),
                name: a.name().map(str::to_owned),
                email: a.email().map(str::to_owned),
                status,
                ..Member::default()
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }

    // OU paths: each account's parents up to the root, names looked up once per OU; then
    // its tags. A lookup that fails after its retries (Organizations throttles these calls
    // hard) leaves that part unknown, and the run goes on.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for m in members.iter_mut().filter(|m| wanted(&m.id)) {
        match ou_path(&c, &m.id, &mut names).await {
            Ok(path) => {
                m.ou_ids = path.iter().map(|(id, _)| id.clone()).collect();
                m.ou_path = path.into_iter().map(|(_, name)| name).collect();
            }
            Err(e) => m.unknown_ou = Some(e),
        }
        match tags(&c, &m.id).await {
            Ok(tags) => m.tags = tags,
            Err(e) => m.unknown_tags = Some(e),
        }
    }
    Ok((org_id, management, members))
}

/// The OU path of an account from the root: (id, name) of each level.
async fn ou_path(
    c: &aws_sdk_organizations::Client,
    account_id: &str,
    names: &mut BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    let mut child = account_id.to_owned();
    let mut path: Vec<(String, String)> = Vec::new();
    for _ in 0..10 {
        let parents = c
            .list_parents()
            .child_id(&child)
            .send()
            .await
            .map_err(|e| lookup_failed("organizations ListParents", failure(e)))?;
        let Some(parent) = parents.parents().first() else {
            break;
        };
        let Some(id) = parent.id().map(str::to_owned) else {
            return Err("organizations ListParents answered a parent without an id".to_owned());
        };
        let is_root = parent
            .r#type()
            .is_some_and(|t| *t == aws_sdk_organizations::types::ParentType::Root);
        let name = if is_root {
            "Root".to_owned()
        } else if let Some(n) = names.get(&id) {
            n.clone()
        } else {
            let ou = c
                .describe_organizational_unit()
                .organizational_unit_id(&id)
                .send()
                .await
                .map_err(|e| {
                    lookup_failed("organizations DescribeOrganizationalUnit", failure(e))
                })?;
            let n = ou
                .organizational_unit()
                .and_then(|o| o.name())
                .unwrap_or(&id)
                .to_owned();
            names.insert(id.clone(), n.clone());
            n
        };
        path.push((id.clone(), name));
        if is_root {
            break;
        }
        child = id;
    }
    path.reverse();
    Ok(path)
}

/// The tags of an account, every page (none kept from a lookup that failed midway).
async fn tags(
    c: &aws_sdk_organizations::Client,
    account_id: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut found = BTreeMap::new();
    let mut token = None;
    loop {
        let tags = c
            .list_tags_for_resource()
            .resource_id(account_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| lookup_failed("organizations ListTagsForResource", failure(e)))?;
        for t in tags.tags() {
            found.insert(t.key().to_owned(), t.value().to_owned());
        }
        token = tags.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(found)
}

/// One row of an accounts file in CSV or YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRow {
    #[serde(alias = "account_id")]
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role_name: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
}

/// The accounts of `--accounts FILE`: a `.csv` with a header (`id` or `account_id`, and
/// optionally `name`, `role_name`, `external_id`), a `.yaml`/`.yml` list of the same
/// fields, or one account id per line (`#` starts a comment).
fn read_accounts(path: &Path) -> Result<Vec<Member>, CollectError> {
    let bad = |message: String| CollectError::AccountsFile {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let rows: Vec<FileRow> = match ext.as_deref() {
        Some("csv") => csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?,
        Some("yaml" | "yml") => serde_yaml_ng::from_str(&text).map_err(|e| bad(e.to_string()))?,
        _ => text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim())
            .filter(|l| !l.is_empty())
            .map(|id| FileRow {
                id: id.to_owned(),
                name: None,
                role_name: None,
                external_id: None,
            })
            .collect(),
    };
    let mut members = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        let id = row.id.trim().to_owned();
        if !valid_id(&id) {
            return Err(bad(format!(
                "entry {}: `{}` is not an account id (12 digits)",
                n + 1,
                crate::report::safe::terminal(&id)
            )));
        }
        members.push(Member {
            id,
            name: row.name,
            role_name: row.role_name,
            external_id: row.external_id,
            ..Member::default()
        });
    }
    Ok(members)
}

/// What became of one account.
struct Ended {
    outcome: Outcome,
    message: Option<String>,
    summary: Option<Summary>,
    /// The run was interrupted while this account was collected.
    interrupted: bool,
}

impl Ended {
    fn failed(message: String) -> Ended {
        Ended {
            outcome: Outcome::Failed,
            message: Some(message),
            summary: None,
            interrupted: false,
        }
    }
}

/// Collects one member: its credentials (the caller's own, or the assumed role), then an
/// ordinary snapshot at `dir/<id>`.
async fn collect_member(
    sdk: Arc<Sdk>,
    caller: Arc<(String, String)>,
    options: Arc<Options>,
    org: Arc<OrgOptions>,
    services: Arc<Vec<String>>,
    dir: PathBuf,
    member: Member,
) -> Ended {
    let (caller_account, partition) = (&caller.0, &caller.1);
    let target = dir.join(&member.id);
    let remote = org.remote.as_ref().map(|r| r.at(r.url.join(&member.id)));
    // A shard run again (a retried worker) keeps what an earlier run wrote.
    let kept = match &remote {
        Some(r) => match earlier_in(r, &member.id).await {
            Ok(found) => found.flatten(),
            Err(e) => return Ended::failed(format!("cannot look for an earlier snapshot: {e}")),
        },
        None => std::fs::read_to_string(target.join(crate::snapshot::load::MANIFEST))
            .ok()
            .and_then(|text| earlier(&text, &member.id)),
    };
    if let Some(kept) = kept {
        return kept;
    }
    let account_sdk = if &member.id == caller_account {
        (*sdk).clone()
    } else {
        let role = member.role_name.as_deref().unwrap_or(&org.role_name);
        let arn = format!("arn:{partition}:iam::{}:role/{role}", member.id);
        let external = member.external_id.as_deref().or(org.external_id.as_deref());
        let assumed = tokio::select! {
            assumed = sdk.assume(&arn, external, &org.session_name) => assumed,
            _ = super::write::interrupted() => {
                return Ended {
                    interrupted: true,
                    ..Ended::failed(CollectError::Interrupted.to_string())
                }
            }
        };
        match assumed {
            Ok(s) => s,
            Err((code, message)) => {
                return Ended {
                    outcome: Outcome::AssumeRoleFailed,
                    message: Some(format!("sts AssumeRole {arn}: {code}: {message}")),
                    summary: None,
                    interrupted: false,
                }
            }
        }
    };
    let ended = collect_account(&account_sdk, &options, &services, target, &member).await;
    match remote {
        Some(r) if ended.summary.is_some() => upload(ended, &r, &member.id).await,
        _ => ended,
    }
}

/// Uploads the snapshot an account's collection wrote, then removes the local copy. What an
/// interrupted upload left under the prefix is removed first. A complete snapshot of the
/// same account there (another worker of the same shard finished it first) is kept, as a
/// rerun keeps it; one of another account is not overwritten.
async fn upload(ended: Ended, remote: &crate::store::s3::Remote, account_id: &str) -> Ended {
    let Some(summary) = &ended.summary else {
        return ended;
    };
    let local = summary.path.clone();
    let result = async {
        let text = |e: crate::store::s3::StoreError| e.to_string();
        match earlier_in(remote, account_id).await.map_err(text)? {
            Some(Some(kept)) => return Ok(Some(kept)),
            Some(None) => {
                return Err(format!(
                    "{} already holds a snapshot that is not this account's",
                    remote.url
                ))
            }
            None => {}
        }
        remote.delete_all().await.map_err(text)?;
        remote.upload_dir(&local).await.map_err(text)?;
        Ok(None)
    }
    .await;
    // The local copy was only the staging of the upload (the record says what became of
    // it); a copy that cannot be removed is said, not left unnoticed.
    let removed = std::fs::remove_dir_all(&local)
        .err()
        .map(|e| format!("its local copy {} was not removed: {e}", local.display()));
    let with_removed = |mut ended: Ended| {
        if let Some(r) = &removed {
            ended.message = Some(match ended.message.take() {
                Some(m) => format!("{m}; {r}"),
                None => r.clone(),
            });
        }
        ended
    };
    match result {
        Ok(None) => with_removed(ended),
        Ok(Some(kept)) => with_removed(kept),
        Err(e) => with_removed(Ended::failed(format!(
            "collected, but the upload to {} failed: {e}",
            remote.url
        ))),
    }
}

/// Collects the account into `target` and says how it ended.
async fn collect_account(
    account_sdk: &Sdk,
    options: &Options,
    services: &[String],
    target: PathBuf,
    member: &Member,
) -> Ended {
    match super::account(account_sdk, options, services, |_, _| target).await {
        // Another account's snapshot must not stand in the folder named for this one.
        Ok(summary) if summary.account_id != member.id => {
            let removed = match std::fs::remove_dir_all(&summary.path) {
                Ok(()) => "it was not kept".to_owned(),
                Err(e) => format!(
                    "its snapshot at {} could not be removed: {e}",
                    summary.path.display()
                ),
            };
            Ended::failed(format!(
                "the credentials reached account {}, not {}; {removed}",
                summary.account_id, member.id
            ))
        }
        Ok(summary) => {
            let failed: usize = summary.failed.values().sum();
            Ended {
                outcome: if failed > 0 {
                    Outcome::Partial
                } else {
                    Outcome::Collected
                },
                message: (failed > 0).then(|| {
                    let codes: Vec<String> = summary
                        .failed
                        .iter()
                        .map(|(c, n)| format!("{c} ×{n}"))
                        .collect();
                    format!("{failed} calls failed: {}", codes.join(", "))
                }),
                summary: Some(summary),
                interrupted: false,
            }
        }
        Err(e) => Ended {
            outcome: Outcome::Failed,
            interrupted: matches!(e, CollectError::Interrupted),
            message: Some(e.to_string()),
            summary: None,
        },
    }
}

/// What the manifest at `remote` says of an earlier run: `None` when there is no manifest,
/// `Some(None)` when it is not a snapshot of `account_id`.
async fn earlier_in(
    remote: &crate::store::s3::Remote,
    account_id: &str,
) -> Result<Option<Option<Ended>>, crate::store::s3::StoreError> {
    let manifest = remote.get(crate::snapshot::load::MANIFEST).await?;
    Ok(manifest.map(|bytes| {
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| earlier(text, account_id))
    }))
}

/// The outcome of the snapshot of `account_id` an earlier run wrote, whose manifest is
/// `text`, if it is one: its manifest says whether every call answered.
fn earlier(text: &str, account_id: &str) -> Option<Ended> {
    let manifest: crate::snapshot::manifest::Manifest = serde_json::from_str(text).ok()?;
    if manifest.account_id != account_id {
        return None;
    }
    let catalogue = crate::snapshot::catalogue::catalogue();
    let failed = manifest
        .calls
        .iter()
        .filter(|c| c.status == crate::snapshot::manifest::CallStatus::Error)
        .filter(|c| {
            c.error
                .as_ref()
                .is_none_or(|e| !catalogue.is_absent(&c.path, &e.code))
        })
        .count();
    Some(Ended {
        outcome: if failed > 0 {
            Outcome::Partial
        } else {
            Outcome::Collected
        },
        message: Some(format!(
            "kept from an earlier run (captured {}){}",
            manifest.started_at,
            if failed > 0 {
                format!("; {failed} calls failed")
            } else {
                String::new()
            }
        )),
        summary: None,
        interrupted: false,
    })
}

/// Collects every selected account of the Organization (or the file) into `dir`.
pub async fn run(
    options: Options,
    org: OrgOptions,
    dir: PathBuf,
) -> Result<OrgSummary, CollectError> {
    calls::start_progress(options.verbose);
    let result = run_accounts(options, org, dir).await;
    calls::finish_progress();
    result
}

async fn run_accounts(
    options: Options,
    org: OrgOptions,
    dir: PathBuf,
) -> Result<OrgSummary, CollectError> {
    let services = options.selected_services()?;
    let sdk = Sdk::new(&options).await;
    let (caller_account, caller_arn, _) = calls::identity(&sdk)
        .await
        .map_err(|(code, message)| CollectError::Identity { code, message })?;
    let partition = calls::partition_of(&caller_arn);
    let captured_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();

    let (org_id, management, mut members) = match &org.accounts_file {
        Some(file) => (None, None, read_accounts(file)?),
        None => {
            list_organization(&sdk, |id| {
                org.shard.is_none_or(|s| s.owns(id)) && !org.skip_accounts.iter().any(|x| x == id)
            })
            .await?
        }
    };
    members.sort_by(|a, b| a.id.cmp(&b.id));
    members.dedup_by(|a, b| a.id == b.id);

    let mut records: Vec<AccountRecord> = Vec::new();
    let mut to_collect: Vec<Member> = Vec::new();
    for m in members {
        if !valid_id(&m.id) {
            return Err(CollectError::Organization(format!(
                "the Organization listed `{}`, which is not an account id",
                crate::report::safe::terminal(&m.id)
            )));
        }
        if org.shard.is_some_and(|s| !s.owns(&m.id)) {
            continue;
        }
        let skipped = if m.status.as_deref().is_some_and(|s| s != "ACTIVE") {
            Some((
                Outcome::SkippedSuspended,
                format!("status {}", m.status.as_deref().unwrap_or("")),
            ))
        } else if org.skip_accounts.contains(&m.id) {
            Some((Outcome::SkippedFiltered, "--skip-accounts".to_owned()))
        } else if let Some(why) = m.unknown_ou.as_ref().filter(|_| !org.ous.is_empty()) {
            Some((
                Outcome::Failed,
                format!("its OU is not known, so neither is whether --ou selects it: {why}"),
            ))
        } else if !org.ous.is_empty()
            && !org
                .ous
                .iter()
                .any(|ou| m.ou_ids.contains(ou) || m.ou_path.contains(ou))
        {
            Some((
                Outcome::SkippedFiltered,
                "not under the --ou given".to_owned(),
            ))
        } else {
            None
        };
        match skipped {
            Some((outcome, why)) => records.push(record_of(&m, outcome, Some(why))),
            None => to_collect.push(m),
        }
    }

    crate::store::private_dir(&dir).map_err(|e| CollectError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let in_flight = Arc::new(Semaphore::new(org.accounts_in_flight.max(1)));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            super::write::interrupted().await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let shared = (
        Arc::new(sdk),
        Arc::new((caller_account, partition)),
        Arc::new(options),
        Arc::new(org.clone()),
        Arc::new(services),
    );
    let mut set = JoinSet::new();
    let mut pending: BTreeMap<tokio::task::Id, Member> = BTreeMap::new();
    for m in to_collect {
        let (sdk, caller, options, orgo, services) = (
            shared.0.clone(),
            shared.1.clone(),
            shared.2.clone(),
            shared.3.clone(),
            shared.4.clone(),
        );
        let (dir, in_flight) = (dir.clone(), in_flight.clone());
        let stop = stop.clone();
        let task_member = m.clone();
        let handle = set.spawn(async move {
            let permit = in_flight.acquire_owned().await;
            // After an interrupt, the accounts still waiting are not started (those in
            // flight remove what they wrote themselves).
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                let ended = Ended {
                    outcome: Outcome::Failed,
                    message: Some(CollectError::Interrupted.to_string()),
                    summary: None,
                    interrupted: true,
                };
                return (m, ended);
            }
            let ended = collect_member(sdk, caller, options, orgo, services, dir, m.clone()).await;
            drop(permit);
            (m, ended)
        });
        pending.insert(handle.id(), task_member);
    }
    let mut collected = Vec::new();
    let mut interrupted = false;
    let total = set.len();
    calls::accounts_done(0, total);
    while let Some(joined) = set.join_next_with_id().await {
        calls::accounts_done(total - set.len(), total);
        match joined {
            Ok((id, (m, ended))) => {
                pending.remove(&id);
                calls::note(&format!(
                    "account {}: {}{}",
                    m.id,
                    ended.outcome.as_str(),
                    ended
                        .message
                        .as_deref()
                        .map(|msg| format!(" ({})", crate::report::safe::terminal(msg)))
                        .unwrap_or_default()
                ));
                interrupted |= ended.interrupted;
                records.push(record_of(&m, ended.outcome, ended.message));
                collected.extend(ended.summary);
            }
            // A task that failed (a panic in the SDK or here) is that account's failure;
            // the others go on.
            Err(e) => {
                if let Some(m) = pending.remove(&e.id()) {
                    let message = format!("the collection task for this account failed: {e}");
                    calls::note(&format!("account {}: failed ({message})", m.id));
                    records.push(record_of(&m, Outcome::Failed, Some(message)));
                }
            }
        }
    }
    watcher.abort();
    if interrupted {
        return Err(CollectError::Interrupted);
    }
    records.sort_by(|a, b| a.id.cmp(&b.id));
    let record = Record {
        schema_version: crate::org::record::SCHEMA_VERSION,
        organization_id: org_id,
        management_account_id: management,
        captured_at,
        shard: org.shard,
        accounts: records,
    };
    let rel = write_record(&dir, &record)?;
    if let Some(remote) = &shared.3.remote {
        let upload = |message: String| CollectError::Upload {
            url: remote.url.join(&rel).to_string(),
            message,
        };
        let bytes = std::fs::read(dir.join(&rel)).map_err(|e| upload(e.to_string()))?;
        remote
            .put(&rel, bytes)
            .await
            .map_err(|e| upload(e.to_string()))?;
    }
    Ok(OrgSummary {
        dir,
        record,
        collected,
    })
}

fn record_of(m: &Member, outcome: Outcome, message: Option<String>) -> AccountRecord {
    // An OU path or tags that could not be looked up are said, not left to look empty.
    let mut parts: Vec<String> = message.into_iter().collect();
    for (what, why) in [("OU path", &m.unknown_ou), ("tags", &m.unknown_tags)] {
        if let Some(why) = why {
            if !parts.iter().any(|p| p.contains(why.as_str())) {
                parts.push(format!("{what} unknown: {why}"));
            }
        }
    }
    let message = (!parts.is_empty()).then(|| parts.join("; "));
    AccountRecord {
        id: m.id.clone(),
        name: m.name.clone().unwrap_or_default(),
        email: m.email.clone().unwrap_or_default(),
        status: m.status.clone().unwrap_or_default(),
        ou_path: m.ou_path.clone(),
        tags: m.tags.clone(),
        outcome,
        message,
    }
}

/// Writes the record beside the snapshots: written whole to a temporary file, then renamed.
/// Returns its path in the directory.
fn write_record(dir: &Path, record: &Record) -> Result<String, CollectError> {
    let rel = match &record.shard {
        Some(s) => s.record_path(),
        None => ORGANIZATION_FILE.to_owned(),
    };
    let path = dir.join(&rel);
    let io = |e: &dyn std::fmt::Display| CollectError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(parent) = path.parent() {
        crate::store::private_dir(parent).map_err(|e| io(&e))?;
    }
    let mut text = serde_json::to_string_pretty(record).map_err(|e| io(&e))?;
    text.push('\n');
    let tmp = path.with_extension(format!("json.partial-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(|e| io(&e))?;
    }
    crate::store::private_file(&tmp, text.as_bytes(), true).map_err(|e| io(&e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io(&e))?;
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_files_in_each_form() {
        let dir = tempfile::tempdir().expect("temp dir");
        let lines = dir.path().join("ids.txt");
        std::fs::write(&lines, "111111111111\n# a comment\n222222222222 # prod\n\n")
            .expect("write");
        let ids: Vec<String> = read_accounts(&lines)
            .expect("lines")
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["111111111111", "222222222222"]);
        let csv = dir.path().join("a.csv");
        std::fs::write(
            &csv,
            "account_id,name,role_name\n333333333333,prod,Auditor\n",
        )
        .expect("write");
        let m = read_accounts(&csv).expect("csv");
        assert_eq!(m[0].role_name.as_deref(), Some("Auditor"));
        let yaml = dir.path().join("a.yaml");
        std::fs::write(&yaml, "- id: '444444444444'\n  external_id: x\n").expect("write");
        assert_eq!(
            read_accounts(&yaml).expect("yaml")[0]
                .external_id
                .as_deref(),
            Some("x")
        );
        let hostile = dir.path().join("bad.txt");
        std::fs::write(&hostile, "../../etc\n").expect("write");
        let e = read_accounts(&hostile).expect_err("not an id");
        assert!(e.to_string().contains("not an account id"), "{e}");
    }

    #[test]
    fn an_unknown_place_is_said_in_the_record() {
        let m = Member {
            id: "111111111111".into(),
            unknown_ou: Some(
                "organizations ListParents failed with TooManyRequestsException: slow down".into(),
            ),
            ..Member::default()
        };
        let r = record_of(&m, Outcome::Collected, None);
        assert_eq!(
            r.message.as_deref(),
            Some("OU path unknown: organizations ListParents failed with TooManyRequestsException: slow down")
        );
        assert!(r.ou_path.is_empty());
        let r = record_of(
            &m,
            Outcome::Partial,
            Some("2 calls failed: Throttling ×2".into()),
        );
        assert_eq!(
            r.message.as_deref(),
            Some("2 calls failed: Throttling ×2; OU path unknown: organizations ListParents failed with TooManyRequestsException: slow down")
        );
        let no_tags = Member {
            id: "111111111111".into(),
            unknown_tags: Some(
                "organizations ListTagsForResource failed with 500: Internal Server Error".into(),
            ),
            ..Member::default()
        };
        assert_eq!(
            record_of(&no_tags, Outcome::Collected, None).message.as_deref(),
            Some("tags unknown: organizations ListTagsForResource failed with 500: Internal Server Error")
        );
        let known = Member {
            id: "111111111111".into(),
            ..Member::default()
        };
        assert_eq!(record_of(&known, Outcome::Collected, None).message, None);
    }

    #[test]
    fn an_earlier_snapshot_is_kept_only_for_its_own_account() {
        let manifest = |account: &str, status: &str| {
            serde_json::json!({
                "schema_version": 1,
                "account_id": account,
                "caller_arn": "arn:aws:iam::111111111111:role/a",
                "partition": "aws",
                "regions": ["us-east-1"],
                "started_at": "2026-12-01T00:00:00Z",
                "calls": [{
                    "path": "iam/list-users.json",
                    "service": "iam",
                    "operation": "ListUsers",
                    "status": status,
                    "sha256": if status == "ok" { serde_json::json!("00") } else { serde_json::Value::Null },
                    "error": if status == "ok" { serde_json::Value::Null } else { serde_json::json!({"code": "Throttling", "message": "slow"}) },
                }],
            })
            .to_string()
        };
        let kept = earlier(&manifest("111111111111", "ok"), "111111111111").expect("kept");
        assert_eq!(kept.outcome, Outcome::Collected);
        assert!(kept
            .message
            .is_some_and(|m| m.contains("kept from an earlier run")));
        let partial = earlier(&manifest("111111111111", "error"), "111111111111").expect("kept");
        assert_eq!(partial.outcome, Outcome::Partial);
        assert!(earlier(&manifest("222222222222", "ok"), "111111111111").is_none());
        assert!(earlier("not json", "111111111111").is_none());
    }
}
