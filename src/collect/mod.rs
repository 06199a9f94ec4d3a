//! `snapaudit collect`: call read-only AWS APIs once and write a snapshot
//! (docs/snapshot-format.md, docs/collect.md).
//!
//! Every call goes through the official SDK (credentials, regions, endpoints, signing,
//! retries). The raw response body of each call is kept by an interceptor ([`capture`])
//! and converted to the aws CLI's JSON with botocore's output shapes ([`convert`]); the
//! SDK's typed output only drives pagination. The snapshot is written to a temporary
//! directory beside the target and renamed into place at the end.

pub mod calls;
pub mod capture;
pub mod convert;
pub mod log;
pub mod org;
pub mod out;
pub mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::snapshot::catalogue;
use crate::snapshot::manifest::{Call, CallError, CallStatus};
use out::Out;

/// What stops a collection before it writes anything.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CollectError {
    #[error("cannot tell which account the credentials belong to: sts GetCallerIdentity failed with {code}: {message}")]
    #[diagnostic(
        code(collect::identity),
        help("check the credentials (AWS_PROFILE, --profile, environment variables, SSO login) and the endpoint")
    )]
    Identity { code: String, message: String },
    #[error(
        "cannot list the account's regions: ec2 DescribeRegions failed with {code}: {message}"
    )]
    #[diagnostic(
        code(collect::regions),
        help("name the regions with --region R instead of --all-regions")
    )]
    Regions { code: String, message: String },
    #[error(
        "no region: pass --region R or --all-regions, or set a region in the profile or AWS_REGION"
    )]
    #[diagnostic(code(collect::region))]
    NoRegion,
    #[error("cannot write the snapshot at `{path}`: {message}")]
    #[diagnostic(code(collect::io))]
    Io { path: String, message: String },
    #[error("cannot upload to `{url}`: {message}")]
    #[diagnostic(
        code(collect::upload),
        help("the workers' credentials need s3:PutObject, s3:GetObject, s3:ListBucket and s3:DeleteObject on the prefix (deploy/iam/)")
    )]
    Upload { url: String, message: String },
    #[error("`{0}` already exists")]
    #[diagnostic(
        code(collect::exists),
        help("choose another --out directory, or move the old snapshot away")
    )]
    Exists(String),
    #[error("unknown service `{0}` in --services or --skip-services")]
    #[diagnostic(code(collect::service), help("the services snapaudit collects: {1}"))]
    UnknownService(String, String),
    #[error("cannot list the accounts: {0}")]
    #[diagnostic(
        code(collect::organization),
        help("--org needs the management account's (or a delegated administrator's) credentials with organizations:List* and Describe*; or list the accounts in a file with --accounts FILE")
    )]
    Organization(String),
    #[error("cannot read the accounts file `{path}`: {message}")]
    #[diagnostic(
        code(collect::accounts_file),
        help("one 12-digit account id per line, or a .csv/.yaml with `id` (and optionally `name`, `role_name`, `external_id`)")
    )]
    AccountsFile { path: String, message: String },
    #[error("interrupted: the partial snapshot was removed")]
    #[diagnostic(code(collect::interrupted))]
    Interrupted,
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Option<String>,
    pub regions: Vec<String>,
    pub all_regions: bool,
    pub out: Option<PathBuf>,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Print one line per call (to standard error).
    pub verbose: bool,
    /// How long one attempt of a call may take, connecting included.
    pub timeout: Duration,
    /// Attempts per call (the first one and its retries), with the SDK's standard backoff.
    pub max_attempts: u32,
    /// `--services`: only these services of the catalogue (all when empty).
    pub services: Vec<String>,
    /// `--skip-services`: leave these out.
    pub skip_services: Vec<String>,
}

impl Options {
    /// The catalogue's services to collect, as selected.
    pub fn selected_services(&self) -> Result<Vec<String>, CollectError> {
        let known = crate::snapshot::catalogue::catalogue().services();
        for s in self.services.iter().chain(&self.skip_services) {
            if !known.contains(&s.as_str()) {
                return Err(CollectError::UnknownService(s.clone(), known.join(", ")));
            }
        }
        Ok(known
            .into_iter()
            .filter(|s| self.services.is_empty() || self.services.iter().any(|x| x == s))
            .filter(|s| !self.skip_services.iter().any(|x| x == s))
            .map(str::to_owned)
            .collect())
    }
}

/// What a collection did.
#[derive(Debug)]
pub struct Summary {
    pub path: PathBuf,
    pub account_id: String,
    pub regions: Vec<String>,
    pub calls: usize,
    /// Failed calls by error code (absences such as NoSuchEntity are not failures).
    pub failed: BTreeMap<String, usize>,
    pub absent: BTreeMap<String, usize>,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// How one call ended.
pub enum Outcome {
    Ok(Out),
    Failed { code: String, message: String },
}

/// A finished call: where it goes and how it ended.
pub struct Done {
    pub path: String,
    pub service: String,
    pub operation: String,
    pub region: String,
    pub parameters: serde_json::Value,
    pub outcome: Outcome,
}

impl Done {
    pub fn manifest_call(&self, sha256: Option<String>) -> Call {
        let (status, error) = match &self.outcome {
            Outcome::Ok(_) => (CallStatus::Ok, None),
            Outcome::Failed { code, message } => (
                CallStatus::Error,
                Some(CallError {
                    code: code.clone(),
                    message: message.clone(),
                }),
            ),
        };
        // What the catalogue has the collector take out of the call's answer.
        let redacted = match (
            &self.outcome,
            catalogue::catalogue().call(&self.service, &self.operation),
        ) {
            (Outcome::Ok(_), Some(call)) => call.redact.clone(),
            _ => Vec::new(),
        };
        Call {
            path: self.path.clone(),
            service: self.service.clone(),
            operation: self.operation.clone(),
            region: Some(self.region.clone()),
            parameters: self.parameters.clone(),
            status,
            sha256,
            error,
            redacted,
        }
    }
}

/// Collects a snapshot. Errors only when nothing useful can be written; failed calls are
/// recorded in the manifest and counted in the summary.
pub async fn run(options: Options) -> Result<Summary, CollectError> {
    let services = options.selected_services()?;
    let sdk = calls::Sdk::new(&options).await;
    calls::start_progress(options.verbose);
    let summary = account(&sdk, &options, &services, |account_id, started_at| {
        options.out.clone().unwrap_or_else(|| {
            PathBuf::from("snapshots").join(format!(
                "{account_id}-{}",
                started_at.format("%Y%m%dT%H%M%SZ")
            ))
        })
    })
    .await;
    calls::finish_progress();
    summary
}

/// Collects the snapshot of the account `sdk`'s credentials reach, into the directory
/// `target` names for the account and the start time. An interrupt, at any step, removes
/// what was written.
pub(crate) async fn account(
    sdk: &calls::Sdk,
    options: &Options,
    services: &[String],
    target: impl FnOnce(&str, chrono::DateTime<chrono::Utc>) -> PathBuf,
) -> Result<Summary, CollectError> {
    tokio::select! {
        collected = account_until_done(sdk, options, services, target) => collected,
        // Dropping the collection drops its staging directory, which removes it.
        _ = write::interrupted() => Err(CollectError::Interrupted),
    }
}

async fn account_until_done(
    sdk: &calls::Sdk,
    options: &Options,
    services: &[String],
    target: impl FnOnce(&str, chrono::DateTime<chrono::Utc>) -> PathBuf,
) -> Result<Summary, CollectError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let identity = calls::identity(sdk).await;
    let (account_id, caller_arn, identity_done) = match identity {
        Ok(x) => x,
        Err((code, message)) => return Err(CollectError::Identity { code, message }),
    };
    let partition = calls::partition_of(&caller_arn);
    let regions = calls::regions(sdk, options).await?;
    let target = target(&account_id, started_at);
    let staging = write::Staging::new(&target)?;

    let work = calls::collect_all(
        sdk.clone(),
        account_id.clone(),
        regions.clone(),
        services,
        options.concurrency.max(1),
    );
    let mut done = work.await;
    done.push(identity_done);
    let summary = staging.finish(
        done,
        write::Meta {
            account_id: account_id.clone(),
            caller_arn,
            partition,
            regions: regions.clone(),
            started_at,
        },
    )?;
    Ok(Summary {
        path: target,
        account_id,
        regions,
        calls: summary.calls,
        failed: summary.failed,
        absent: summary.absent,
        bytes: summary.bytes,
        elapsed: started.elapsed(),
    })
}
