//! The calls a snapshot is made of (docs/snapshot-format.md), made with the SDK: which
//! operation, with which parameters, written where, and what follows from what (users →
//! their keys and MFA devices; trails → their status in their home region; instances → the
//! images they use).

use std::error::Error;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::ProvideCredentials as _;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::timeout::TimeoutConfig;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::capture::Capture;
use crate::snapshot::model::Model;
use super::out::Out;
use super::write::rel_path;
use super::{CollectError, Done, Models, Options, Outcome};

type Failure = (String, String);

/// The SDK configuration every client is made from.
#[derive(Clone)]
pub struct Sdk {
    base: SdkConfig,
    /// The region of global services (IAM, STS, Support) for the partition.
    global: String,
    /// The region from the profile or environment, if any.
    pub default_region: Option<String>,
    pub regions_asked: Vec<String>,
    pub all_regions: bool,
}

impl Sdk {
    pub async fn new(options: &Options) -> Sdk {
        let attempts = options.max_attempts.max(1);
        // A call may take every attempt's time plus the backoff between attempts (at most
        // 20 s each in the SDK's standard mode).
        let whole = options.timeout * attempts + Duration::from_secs(20) * (attempts - 1);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.timeout.min(Duration::from_secs(10)))
                    .read_timeout(options.timeout)
                    .operation_attempt_timeout(options.timeout)
                    .operation_timeout(whole)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(attempts));
        if let Some(p) = &options.profile {
            loader = loader.profile_name(p);
        }
        let base = loader.load().await;
        // Whatever the log prints, these never appear in it (collect::log).
        if let Some(provider) = base.credentials_provider() {
            if let Ok(credentials) = provider.provide_credentials().await {
                super::log::forget(credentials.secret_access_key());
                if let Some(token) = credentials.session_token() {
                    super::log::forget(token);
                }
            }
        }
        let default_region = base.region().map(|r| r.to_string());
        let global = match default_region.as_deref() {
            Some(r) if r.starts_with("cn-") => "cn-north-1",
            Some(r) if r.starts_with("us-gov-") => "us-gov-west-1",
            _ => "us-east-1",
        }
        .to_owned();
        Sdk {
            base,
            global,
            default_region,
            regions_asked: options.regions.clone(),
            all_regions: options.all_regions,
        }
    }

    fn conf(&self, region: &str) -> SdkConfig {
        self.base
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build()
    }

    fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.conf(&self.global))
    }
    fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.conf(&self.global))
    }
    fn support(&self) -> aws_sdk_support::Client {
        aws_sdk_support::Client::new(&self.conf(&self.global))
    }
    fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.conf(region))
    }
    fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.conf(region))
    }
    fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.conf(region))
    }
}

/// An SDK error as the manifest records it: the AWS error code (or the kind of failure when
/// the service never answered) and its message. Never includes credentials.
fn failure<E, R>(e: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let code = e.code().map(str::to_owned).unwrap_or_else(|| {
        match &e {
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::DispatchFailure(d) if d.is_timeout() => "Timeout",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            _ => "Unknown",
        }
        .to_owned()
    });
    let mut message = e
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| DisplayErrorContext(&e).to_string());
    if message.chars().count() > 400 {
        message = message.chars().take(400).collect::<String>() + "…";
    }
    (code, message)
}

/// Makes a call page by page (`send` gets the page token and the capture for that page),
/// converts each page's raw body with the model, and merges the pages as the CLI does.
async fn paged<T, E, R, F, Fut>(
    model: &Model,
    operation: &str,
    mut send: F,
    next: impl Fn(&T) -> Option<String>,
) -> Result<Out, Failure>
where
    F: FnMut(Option<String>, Capture) -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let capture = Capture::new();
        let output = send(token.clone(), capture.clone())
            .await
            .map_err(failure)?;
        let body = capture.take().ok_or_else(|| {
            (
                "NoResponseBody".to_owned(),
                "the response had no body to keep".to_owned(),
            )
        })?;
        let page = model
            .convert(operation, &body)
            .map_err(|e| ("UnreadableResponse".to_owned(), e.0))?;
        pages.push(page);
        match next(&output) {
            Some(t) if Some(&t) != token.as_ref() && !t.is_empty() => token = Some(t),
            _ => break,
        }
        if pages.len() > 100_000 {
            return Err(("TooManyPages".into(), "more than 100000 pages".into()));
        }
    }
    model
        .merge_pages(operation, pages)
        .map_err(|e| ("UnreadableResponse".to_owned(), e.0))
}

/// IAM's pagination: the marker of the next page, while the answer is truncated.
fn next_marker(truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| truncated).map(str::to_owned)
}

/// Everything one call needs to be recorded.
struct Spec {
    path: String,
    service: &'static str,
    operation: &'static str,
    region: String,
    parameters: serde_json::Value,
}

impl Spec {
    fn done(self, result: Result<Out, Failure>) -> Done {
        Done {
            path: self.path,
            service: self.service,
            operation: self.operation,
            region: self.region,
            parameters: self.parameters,
            outcome: match result {
                Ok(v) => Outcome::Ok(v),
                Err((code, message)) => Outcome::Failed { code, message },
            },
        }
    }
}

fn spec(
    path: String,
    service: &'static str,
    operation: &'static str,
    region: &str,
    parameters: serde_json::Value,
) -> Spec {
    Spec {
        path,
        service,
        operation,
        region: region.to_owned(),
        parameters,
    }
}

fn strings(v: &Out, list: &str, key: &str) -> Vec<String> {
    v.get(list)
        .map(|l| l.as_list())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get(key).and_then(Out::as_str).map(str::to_owned))
        .collect()
}

static FAILED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PROGRESS: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

/// Progress on standard error: a progress line on a terminal; one line per call with `-v`
/// or when standard error is not a terminal (CI logs).
pub fn start_progress(verbose: bool) {
    use std::io::IsTerminal;
    let bar = if verbose || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} collecting: {pos} calls done{msg} [{elapsed}]",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    };
    let _ = PROGRESS.set(bar);
}

pub fn finish_progress() {
    if let Some(bar) = PROGRESS.get() {
        bar.finish_and_clear();
    }
}

fn log(d: &Done) {
    use std::sync::atomic::Ordering;
    let how = match &d.outcome {
        Outcome::Ok(_) => "ok".to_owned(),
        Outcome::Failed { code, .. } => {
            if !crate::snapshot::catalogue::catalogue().is_absent(&d.path, code) {
                FAILED.fetch_add(1, Ordering::Relaxed);
            }
            code.clone()
        }
    };
    match PROGRESS.get() {
        Some(bar) if !bar.is_hidden() => {
            bar.inc(1);
            let failed = FAILED.load(Ordering::Relaxed);
            if failed > 0 {
                bar.set_message(format!(", {failed} failed"));
            }
        }
        _ => eprintln!(
            "  {:<10} {:<14} {:<34} {}",
            d.service, d.region, d.operation, how
        ),
    }
}

/// `sts get-caller-identity`: the account, the caller, and its snapshot file.
pub async fn identity(sdk: &Sdk, models: &Models) -> Result<(String, String, Done), Failure> {
    let c = sdk.sts();
    let result = paged(
        &models.sts,
        "GetCallerIdentity",
        |_, cap| c.get_caller_identity().customize().interceptor(cap).send(),
        |_| None,
    )
    .await;
    let value = result?;
    let account = value
        .get("Account")
        .and_then(Out::as_str)
        .unwrap_or_default()
        .to_owned();
    let arn = value
        .get("Arn")
        .and_then(Out::as_str)
        .unwrap_or_default()
        .to_owned();
    let done = spec(
        "sts/get-caller-identity.json".into(),
        "sts",
        "GetCallerIdentity",
        &sdk.global,
        json!({}),
    )
    .done(Ok(value));
    Ok((account, arn, done))
}

/// The regions to collect: as asked, every enabled region, or the profile's region.
pub async fn regions(sdk: &Sdk, options: &Options) -> Result<Vec<String>, CollectError> {
    let mut regions: Vec<String> = if options.all_regions {
        let home = sdk
            .default_region
            .clone()
            .unwrap_or_else(|| sdk.global.clone());
        let c = sdk.ec2(&home);
        match c.describe_regions().send().await {
            Ok(out) => out
                .regions()
                .iter()
                .filter_map(|r| r.region_name().map(str::to_owned))
                .collect(),
            Err(e) => {
                let (code, message) = failure(e);
                return Err(CollectError::Regions { code, message });
            }
        }
    } else if !options.regions.is_empty() {
        options.regions.clone()
    } else {
        sdk.default_region.clone().into_iter().collect()
    };
    regions.sort();
    regions.dedup();
    if regions.is_empty() {
        return Err(CollectError::NoRegion);
    }
    Ok(regions)
}

/// Runs every call of the snapshot, at most `concurrency` at a time.
pub async fn collect_all(
    sdk: Sdk,
    models: Arc<Models>,
    regions: Vec<String>,
    concurrency: usize,
) -> Vec<Done> {
    let sem = Arc::new(Semaphore::new(concurrency));
    let mut set: JoinSet<Vec<Done>> = JoinSet::new();
    {
        let (sdk, models, sem) = (sdk.clone(), models.clone(), sem.clone());
        set.spawn(async move { iam(&sdk, &models, &sem).await });
    }
    {
        let (sdk, models, sem) = (sdk.clone(), models.clone(), sem.clone());
        set.spawn(async move { support(&sdk, &models, &sem).await });
    }
    {
        // Billing alarms live in us-east-1 whatever regions are audited.
        let (sdk, models, sem) = (sdk.clone(), models.clone(), sem.clone());
        set.spawn(async move { cloudwatch(&sdk, &models, &sem, "us-east-1").await });
    }
    for region in regions {
        let (sdk2, models2, sem2, r2) = (sdk.clone(), models.clone(), sem.clone(), region.clone());
        set.spawn(async move { ec2(&sdk2, &models2, &sem2, &r2).await });
        let (sdk3, models3, sem3) = (sdk.clone(), models.clone(), sem.clone());
        set.spawn(async move { cloudtrail(&sdk3, &models3, &sem3, &region).await });
    }
    let mut all = Vec::new();
    while let Some(result) = set.join_next().await {
        if let Ok(mut done) = result {
            all.append(&mut done);
        }
    }
    all
}

/// One call under the concurrency limit, logged.
async fn run(sem: &Semaphore, s: Spec, call: impl Future<Output = Result<Out, Failure>>) -> Done {
    let permit = sem.acquire().await;
    let result = call.await;
    drop(permit);
    let d = s.done(result);
    log(&d);
    d
}

async fn iam(sdk: &Sdk, models: &Arc<Models>, sem: &Arc<Semaphore>) -> Vec<Done> {
    let c = sdk.iam();
    let m = &models.iam;
    let g = sdk.global.clone();
    let mut out = Vec::new();
    let one = |path: &str, op: &'static str| spec(path.into(), "iam", op, &g, json!({}));

    out.push(
        run(
            sem,
            one(
                "iam/get-account-password-policy.json",
                "GetAccountPasswordPolicy",
            ),
            paged(
                m,
                "GetAccountPasswordPolicy",
                |_, cap| {
                    c.get_account_password_policy()
                        .customize()
                        .interceptor(cap)
                        .send()
                },
                |_| None,
            ),
        )
        .await,
    );
    out.push(
        run(
            sem,
            one("iam/get-account-summary.json", "GetAccountSummary"),
            paged(
                m,
                "GetAccountSummary",
                |_, cap| c.get_account_summary().customize().interceptor(cap).send(),
                |_| None,
            ),
        )
        .await,
    );
    out.push(
        run(
            sem,
            one("iam/get-credential-report.json", "GetCredentialReport"),
            credential_report(&c, m),
        )
        .await,
    );
    let users = run(
        sem,
        one("iam/list-users.json", "ListUsers"),
        paged(
            m,
            "ListUsers",
            |t, cap| {
                c.list_users()
                    .set_marker(t)
                    .customize()
                    .interceptor(cap)
                    .send()
            },
            |o: &aws_sdk_iam::operation::list_users::ListUsersOutput| {
                next_marker(o.is_truncated(), o.marker())
            },
        ),
    )
    .await;
    out.push(run(sem, one("iam/list-virtual-mfa-devices.json", "ListVirtualMFADevices"),
        paged(m, "ListVirtualMFADevices", |t, cap| c.list_virtual_mfa_devices().set_marker(t).customize().interceptor(cap).send(),
            |o: &aws_sdk_iam::operation::list_virtual_mfa_devices::ListVirtualMfaDevicesOutput| next_marker(o.is_truncated(), o.marker()))).await);
    out.push(run(sem, one("iam/get-account-authorization-details.json", "GetAccountAuthorizationDetails"),
        paged(m, "GetAccountAuthorizationDetails", |t, cap| c.get_account_authorization_details().set_marker(t).customize().interceptor(cap).send(),
            |o: &aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput| next_marker(o.is_truncated(), o.marker()))).await);

    let names = match &users.outcome {
        Outcome::Ok(v) => strings(v, "Users", "UserName"),
        Outcome::Failed { .. } => Vec::new(),
    };
    out.push(users);
    let mut per_user: JoinSet<Vec<Done>> = JoinSet::new();
    for user in names {
        let (c, models, sem, g) = (c.clone(), models.clone(), sem.clone(), g.clone());
        per_user.spawn(async move {
            let m = &models.iam;
            let mut out = Vec::new();
            let keys = run(
                &sem,
                spec(
                    rel_path(&["iam", "list-access-keys", &format!("{user}.json")]),
                    "iam",
                    "ListAccessKeys",
                    &g,
                    json!({"UserName": user}),
                ),
                paged(
                    m,
                    "ListAccessKeys",
                    |t, cap| {
                        c.list_access_keys()
                            .user_name(&user)
                            .set_marker(t)
                            .customize()
                            .interceptor(cap)
                            .send()
                    },
                    |o: &aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput| {
                        next_marker(o.is_truncated(), o.marker())
                    },
                ),
            )
            .await;
            out.push(
                run(
                    &sem,
                    spec(
                        rel_path(&["iam", "list-mfa-devices", &format!("{user}.json")]),
                        "iam",
                        "ListMFADevices",
                        &g,
                        json!({"UserName": user}),
                    ),
                    paged(
                        m,
                        "ListMFADevices",
                        |t, cap| {
                            c.list_mfa_devices()
                                .user_name(&user)
                                .set_marker(t)
                                .customize()
                                .interceptor(cap)
                                .send()
                        },
                        |o: &aws_sdk_iam::operation::list_mfa_devices::ListMfaDevicesOutput| {
                            next_marker(o.is_truncated(), o.marker())
                        },
                    ),
                )
                .await,
            );
            let key_ids = match &keys.outcome {
                Outcome::Ok(v) => strings(v, "AccessKeyMetadata", "AccessKeyId"),
                Outcome::Failed { .. } => Vec::new(),
            };
            out.push(keys);
            for key in key_ids {
                out.push(
                    run(
                        &sem,
                        spec(
                            rel_path(&["iam", "get-access-key-last-used", &format!("{key}.json")]),
                            "iam",
                            "GetAccessKeyLastUsed",
                            &g,
                            json!({"AccessKeyId": key}),
                        ),
                        paged(
                            m,
                            "GetAccessKeyLastUsed",
                            |_, cap| {
                                c.get_access_key_last_used()
                                    .access_key_id(&key)
                                    .customize()
                                    .interceptor(cap)
                                    .send()
                            },
                            |_| None,
                        ),
                    )
                    .await,
                );
            }
            out
        });
    }
    while let Some(r) = per_user.join_next().await {
        if let Ok(mut d) = r {
            out.append(&mut d);
        }
    }
    out
}

/// Generates the credential report (polling until it is complete, with a bound), then
/// reads it.
async fn credential_report(c: &aws_sdk_iam::Client, m: &Model) -> Result<Out, Failure> {
    for attempt in 0..30 {
        let generated = c
            .generate_credential_report()
            .send()
            .await
            .map_err(failure)?;
        let complete = generated.state().is_some_and(|s| s.as_str() == "COMPLETE");
        if complete {
            break;
        }
        if attempt == 29 {
            return Err((
                "ReportNotComplete".into(),
                "the credential report was not complete after 30 tries".into(),
            ));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    paged(
        m,
        "GetCredentialReport",
        |_, cap| {
            c.get_credential_report()
                .customize()
                .interceptor(cap)
                .send()
        },
        |_| None,
    )
    .await
}

async fn ec2(sdk: &Sdk, models: &Arc<Models>, sem: &Arc<Semaphore>, region: &str) -> Vec<Done> {
    let c = sdk.ec2(region);
    let m = &models.ec2;
    let mut out = Vec::new();
    let path = |op: &str| rel_path(&["ec2", region, &format!("{op}.json")]);
    let instances = run(
        sem,
        spec(
            path("describe-instances"),
            "ec2",
            "DescribeInstances",
            region,
            json!({}),
        ),
        paged(
            m,
            "DescribeInstances",
            |t, cap| {
                c.describe_instances()
                    .set_next_token(t)
                    .customize()
                    .interceptor(cap)
                    .send()
            },
            |o: &aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput| {
                o.next_token().map(str::to_owned)
            },
        ),
    )
    .await;
    out.push(run(sem, spec(path("describe-security-groups"), "ec2", "DescribeSecurityGroups", region, json!({})),
        paged(m, "DescribeSecurityGroups", |t, cap| c.describe_security_groups().set_next_token(t).customize().interceptor(cap).send(),
            |o: &aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput| o.next_token().map(str::to_owned))).await);
    out.push(run(sem, spec(path("describe-network-interfaces"), "ec2", "DescribeNetworkInterfaces", region, json!({})),
        paged(m, "DescribeNetworkInterfaces", |t, cap| c.describe_network_interfaces().set_next_token(t).customize().interceptor(cap).send(),
            |o: &aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput| o.next_token().map(str::to_owned))).await);
    out.push(
        run(
            sem,
            spec(
                path("describe-vpcs"),
                "ec2",
                "DescribeVpcs",
                region,
                json!({}),
            ),
            paged(
                m,
                "DescribeVpcs",
                |t, cap| {
                    c.describe_vpcs()
                        .set_next_token(t)
                        .customize()
                        .interceptor(cap)
                        .send()
                },
                |o: &aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput| {
                    o.next_token().map(str::to_owned)
                },
            ),
        )
        .await,
    );

    // The images the region's instances use, deprecated ones included; with no instances,
    // the account's own images.
    let mut image_ids: Vec<String> = match &instances.outcome {
        Outcome::Ok(v) => v
            .get("Reservations")
            .map(|r| r.as_list())
            .unwrap_or_default()
            .iter()
            .flat_map(|r| strings(r, "Instances", "ImageId"))
            .collect(),
        Outcome::Failed { .. } => Vec::new(),
    };
    image_ids.sort();
    image_ids.dedup();
    out.push(instances);
    let images = if image_ids.is_empty() {
        run(
            sem,
            spec(
                path("describe-images"),
                "ec2",
                "DescribeImages",
                region,
                json!({"Owners": ["self"]}),
            ),
            paged(
                m,
                "DescribeImages",
                |t, cap| {
                    c.describe_images()
                        .owners("self")
                        .set_next_token(t)
                        .customize()
                        .interceptor(cap)
                        .send()
                },
                |o: &aws_sdk_ec2::operation::describe_images::DescribeImagesOutput| {
                    o.next_token().map(str::to_owned)
                },
            ),
        )
        .await
    } else {
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name("image-id")
            .set_values(Some(image_ids.clone()))
            .build();
        run(sem, spec(path("describe-images"), "ec2", "DescribeImages", region,
                json!({"Filters": [{"Name": "image-id", "Values": image_ids}], "IncludeDeprecated": true})),
            paged(m, "DescribeImages", |t, cap| c.describe_images().filters(filter.clone()).include_deprecated(true).set_next_token(t).customize().interceptor(cap).send(),
                |o: &aws_sdk_ec2::operation::describe_images::DescribeImagesOutput| o.next_token().map(str::to_owned))).await
    };
    out.push(images);
    out
}

async fn cloudtrail(
    sdk: &Sdk,
    models: &Arc<Models>,
    sem: &Arc<Semaphore>,
    region: &str,
) -> Vec<Done> {
    let c = sdk.cloudtrail(region);
    let m = &models.cloudtrail;
    let mut out = Vec::new();
    let trails = run(
        sem,
        spec(
            rel_path(&["cloudtrail", region, "describe-trails.json"]),
            "cloudtrail",
            "DescribeTrails",
            region,
            json!({}),
        ),
        paged(
            m,
            "DescribeTrails",
            |_, cap| c.describe_trails().customize().interceptor(cap).send(),
            |_| None,
        ),
    )
    .await;
    // Status and selectors of the trails whose home is this region (shadow copies of
    // multi-region trails are read in their home region).
    let own: Vec<String> = match &trails.outcome {
        Outcome::Ok(v) => v
            .get("trailList")
            .map(|l| l.as_list())
            .unwrap_or_default()
            .iter()
            .filter(|t| t.get("HomeRegion").and_then(Out::as_str) == Some(region))
            .filter_map(|t| t.get("Name").and_then(Out::as_str).map(str::to_owned))
            .collect(),
        Outcome::Failed { .. } => Vec::new(),
    };
    out.push(trails);
    for name in own {
        out.push(
            run(
                sem,
                spec(
                    rel_path(&[
                        "cloudtrail",
                        region,
                        "get-trail-status",
                        &format!("{name}.json"),
                    ]),
                    "cloudtrail",
                    "GetTrailStatus",
                    region,
                    json!({"Name": name}),
                ),
                paged(
                    m,
                    "GetTrailStatus",
                    |_, cap| {
                        c.get_trail_status()
                            .name(&name)
                            .customize()
                            .interceptor(cap)
                            .send()
                    },
                    |_| None,
                ),
            )
            .await,
        );
        out.push(
            run(
                sem,
                spec(
                    rel_path(&[
                        "cloudtrail",
                        region,
                        "get-event-selectors",
                        &format!("{name}.json"),
                    ]),
                    "cloudtrail",
                    "GetEventSelectors",
                    region,
                    json!({"TrailName": name}),
                ),
                paged(
                    m,
                    "GetEventSelectors",
                    |_, cap| {
                        c.get_event_selectors()
                            .trail_name(&name)
                            .customize()
                            .interceptor(cap)
                            .send()
                    },
                    |_| None,
                ),
            )
            .await,
        );
    }
    out
}

async fn cloudwatch(
    sdk: &Sdk,
    models: &Arc<Models>,
    sem: &Arc<Semaphore>,
    region: &str,
) -> Vec<Done> {
    let c = sdk.cloudwatch(region);
    let m = &models.cloudwatch;
    vec![
        run(
            sem,
            spec(
                rel_path(&["cloudwatch", region, "describe-alarms.json"]),
                "cloudwatch",
                "DescribeAlarms",
                region,
                json!({}),
            ),
            paged(
                m,
                "DescribeAlarms",
                |t, cap| {
                    c.describe_alarms()
                        .set_next_token(t)
                        .customize()
                        .interceptor(cap)
                        .send()
                },
                |o: &aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput| {
                    o.next_token().map(str::to_owned)
                },
            ),
        )
        .await,
    ]
}

async fn support(sdk: &Sdk, models: &Arc<Models>, sem: &Arc<Semaphore>) -> Vec<Done> {
    let c = sdk.support();
    let m = &models.support;
    let g = sdk.global.clone();
    let mut out = Vec::new();
    let checks = run(
        sem,
        spec(
            "support/describe-trusted-advisor-checks.json".into(),
            "support",
            "DescribeTrustedAdvisorChecks",
            &g,
            json!({"language": "en"}),
        ),
        paged(
            m,
            "DescribeTrustedAdvisorChecks",
            |_, cap| {
                c.describe_trusted_advisor_checks()
                    .language("en")
                    .customize()
                    .interceptor(cap)
                    .send()
            },
            |_| None,
        ),
    )
    .await;
    let security: Vec<String> = match &checks.outcome {
        Outcome::Ok(v) => v
            .get("checks")
            .map(|l| l.as_list())
            .unwrap_or_default()
            .iter()
            .filter(|ch| ch.get("category").and_then(Out::as_str) == Some("security"))
            .filter_map(|ch| ch.get("id").and_then(Out::as_str).map(str::to_owned))
            .collect(),
        Outcome::Failed { .. } => Vec::new(),
    };
    out.push(checks);
    for id in security {
        out.push(
            run(
                sem,
                spec(
                    rel_path(&[
                        "support",
                        "describe-trusted-advisor-check-result",
                        &format!("{id}.json"),
                    ]),
                    "support",
                    "DescribeTrustedAdvisorCheckResult",
                    &g,
                    json!({"checkId": id, "language": "en"}),
                ),
                paged(
                    m,
                    "DescribeTrustedAdvisorCheckResult",
                    |_, cap| {
                        c.describe_trusted_advisor_check_result()
                            .check_id(&id)
                            .language("en")
                            .customize()
                            .interceptor(cap)
                            .send()
                    },
                    |_| None,
                ),
            )
            .await,
        );
    }
    out
}
