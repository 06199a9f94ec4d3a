//! `snapaudit collect`: write a snapshot of a live account (built with `--features collect`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use miette::Result;

use snapaudit::collect::{self, Options};

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
    /// Where to write the snapshot; default: snapshots/<account>-<UTC time>
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
}

pub fn run(args: CollectArgs) -> Result<ExitCode> {
    let options = Options {
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
    let summary = runtime
        .block_on(collect::run(options))
        .map_err(miette::Report::new)?;
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
        summary.path.display()
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
