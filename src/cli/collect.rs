//! `snapaudit collect`: write a snapshot of a live account (built with `--features collect`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use miette::Result;

use snapaudit::collect::org::{shard_from_env, OrgOptions};
use snapaudit::collect::{self, Options};
use snapaudit::org::Shard;
use snapaudit::store::s3::Remote;
use snapaudit::store::Location;

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// AWS profile (else the standard chain: environment, default profile, SSO, …)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region to collect (repeatable); default: the profile's or AWS_REGION
    #[arg(long = "region", value_name = "REGION", conflicts_with = "all_regions")]
    pub regions: Vec<String>,
    /// Every region enabled for the account (from ec2 describe-regions)
    #[arg(long)]
    pub all_regions: bool,
    /// Where to write the snapshot: a directory, or s3://bucket/prefix; default:
    /// snapshots/<account>-<UTC time>
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Calls in flight at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Print a line per call to standard error instead of a progress bar (lines are the
    /// default when standard error is not a terminal)
    #[arg(long, short)]
    pub verbose: bool,
    /// Seconds one attempt of a call may take before it is abandoned (and retried)
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Attempts per call: the first one and its retries, with the SDK's backoff
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Collect only these services of the catalogue (comma-separated or repeated: iam,ec2)
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub services: Vec<String>,
    /// Leave these services out (comma-separated or repeated)
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub skip_services: Vec<String>,
    /// Every account of the caller's Organization: one snapshot per account in --out DIR
    /// (docs/organizations.md)
    #[arg(long, help_heading = "Many accounts")]
    pub org: bool,
    /// The accounts listed in FILE instead (ids one per line, or .csv/.yaml with a role
    /// per account)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "org",
        help_heading = "Many accounts"
    )]
    pub accounts: Option<PathBuf>,
    /// The role assumed in each member account
    #[arg(
        long,
        value_name = "NAME",
        default_value = "OrganizationAccountAccessRole",
        help_heading = "Many accounts"
    )]
    pub role_name: String,
    /// The external id the member role's trust policy asks for
    #[arg(long, value_name = "ID", help_heading = "Many accounts")]
    pub external_id: Option<String>,
    /// The session name of the assumed roles (it appears in the members' CloudTrail)
    #[arg(
        long,
        value_name = "NAME",
        default_value = "snapaudit",
        help_heading = "Many accounts"
    )]
    pub session_name: String,
    /// Leave these accounts out (comma-separated or repeated)
    #[arg(
        long,
        value_name = "ID",
        value_delimiter = ',',
        help_heading = "Many accounts"
    )]
    pub skip_accounts: Vec<String>,
    /// Only the accounts under this OU (id or name; repeatable)
    #[arg(long = "ou", value_name = "OU", help_heading = "Many accounts")]
    pub ous: Vec<String>,
    /// Collect only shard I of N of the accounts (by a hash of the account id)
    #[arg(
        long,
        value_name = "I/N",
        conflicts_with = "shard_count",
        help_heading = "Many accounts"
    )]
    pub shard: Option<Shard>,
    /// N shards, this worker's index from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job), counted from 0
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Many accounts")]
    pub shard_count: Option<u32>,
    /// Accounts collected at once (each with --concurrency calls in flight)
    #[arg(
        long,
        default_value_t = 4,
        value_name = "N",
        help_heading = "Many accounts"
    )]
    pub accounts_concurrency: usize,
}

pub fn run(args: CollectArgs) -> Result<ExitCode> {
    let many = args.org || args.accounts.is_some();
    let shard = match (args.shard, args.shard_count) {
        (Some(s), _) => Some(s),
        (None, Some(n)) => Some(shard_from_env(n).map_err(|e| miette::miette!("{e}"))?),
        (None, None) => None,
    };
    if args.accounts.is_some() && !args.ous.is_empty() {
        return Err(miette::miette!(
            "--ou selects accounts by their place in the Organization, which an accounts file does not give; list only the accounts you want in the file"
        ));
    }
    if !many && shard.is_some() {
        return Err(miette::miette!(
            "--shard and --shard-count split the accounts of --org or --accounts"
        ));
    }
    let mut org = OrgOptions {
        accounts_file: args.accounts.clone(),
        role_name: args.role_name.clone(),
        external_id: args.external_id.clone(),
        session_name: args.session_name.clone(),
        skip_accounts: args.skip_accounts.clone(),
        ous: args.ous.clone(),
        shard,
        accounts_in_flight: args.accounts_concurrency,
        remote: None,
    };
    let s3_out = match args.out.as_deref().map(Location::parse).transpose() {
        Ok(Some(Location::S3(url))) => Some(url),
        Ok(_) => None,
        Err(p) => return Err(miette::Report::new(*p)),
    };
    let mut options = Options {
        profile: args.profile,
        regions: args.regions,
        all_regions: args.all_regions,
        out: args.out,
        concurrency: args.concurrency,
        verbose: args.verbose,
        timeout: std::time::Duration::from_secs(args.timeout),
        max_attempts: args.max_attempts,
        services: args.services,
        skip_services: args.skip_services,
    };
    collect::log::start(args.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| miette::miette!("cannot start the async runtime: {e}"))?;
    // `--out s3://…`: written to a private temporary directory first, then uploaded.
    let mut staging = None;
    if let Some(url) = &s3_out {
        let remote = runtime.block_on(Remote::connect(url, options.profile.as_deref()));
        let temp = tempfile::Builder::new()
            .prefix("snapaudit-collect-")
            .tempdir()
            .map_err(|e| miette::miette!("cannot make a temporary directory: {e}"))?;
        if many {
            options.out = Some(temp.path().join("org"));
            org.remote = Some(remote.clone());
        } else {
            // Nothing is mixed into what the prefix holds: a snapshot, or what an upload
            // cut short left.
            let empty = runtime
                .block_on(remote.is_empty())
                .map_err(|e| miette::miette!("cannot write to {url}: {e}"))?;
            if !empty {
                return Err(miette::miette!(
                    help = "choose another --out prefix, or move what is there away",
                    "{url} already holds objects (a snapshot, or what an interrupted upload left)"
                ));
            }
            options.out = Some(temp.path().join("snapshot"));
        }
        staging = Some((temp, remote));
    }
    let shown = |local: &std::path::Path| match &s3_out {
        Some(url) => url.to_string(),
        None => local.display().to_string(),
    };
    if many {
        let dir = options.out.clone().unwrap_or_else(|| {
            PathBuf::from("snapshots").join(format!(
                "org-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
            ))
        });
        let summary = runtime
            .block_on(collect::org::run(options, org, dir))
            .map_err(miette::Report::new)?;
        let mut by_outcome: std::collections::BTreeMap<&str, usize> = Default::default();
        for a in &summary.record.accounts {
            *by_outcome.entry(a.outcome.as_str()).or_default() += 1;
        }
        let counts: Vec<String> = by_outcome.iter().map(|(o, n)| format!("{n} {o}")).collect();
        eprintln!(
            "{} accounts ({}) written to {}",
            summary.record.accounts.len(),
            counts.join(", "),
            shown(&summary.dir)
        );
        // 3: written, but some account is partial or was not collected.
        return Ok(if summary.complete() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(3)
        });
    }
    let summary = runtime
        .block_on(collect::run(options))
        .map_err(miette::Report::new)?;
    if let Some((temp, remote)) = staging {
        if let Err(e) = runtime.block_on(remote.upload_dir(&summary.path)) {
            // The collection is not thrown away: the local copy stays for another try.
            let kept = temp.keep().join("snapshot");
            return Err(miette::Report::new(collect::CollectError::Upload {
                url: remote.url.to_string(),
                message: format!(
                    "{e}; the snapshot is kept at {} (`aws s3 sync {} {}` uploads it)",
                    kept.display(),
                    kept.display(),
                    remote.url
                ),
            }));
        }
    }
    let failed: usize = summary.failed.values().sum();
    let absent: usize = summary.absent.values().sum();
    let by_code = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "snapshot of account {} ({}) written to {}",
        summary.account_id,
        summary.regions.join(", "),
        shown(&summary.path)
    );
    eprintln!(
        "{} calls: {} ok, {} absent{}, {} failed{}; {} bytes in {:.1} s",
        summary.calls,
        summary.calls - failed - absent,
        absent,
        if absent > 0 {
            format!(" ({})", by_code(&summary.absent))
        } else {
            String::new()
        },
        failed,
        if failed > 0 {
            format!(" ({})", by_code(&summary.failed))
        } else {
            String::new()
        },
        summary.bytes,
        summary.elapsed.as_secs_f64()
    );
    // 0: every call answered (absences are answers); 3: written, but some calls failed.
    Ok(if failed > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
