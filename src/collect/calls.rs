//! The calls of the catalogue (`snapshot/catalogue.toml`) made with the SDK: each call's
//! SDK binding ([`send`]), its pages, and the calls that follow from its answer (users →
//! their keys and MFA devices; trails → their status in their home region; instances → the
//! images they use). What is called, with which input, written where, is the catalogue's;
//! this module only knows how to make each operation with the SDK.

use std::collections::BTreeMap;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{future as credentials_future, ProvideCredentials};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::timeout::TimeoutConfig;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use crate::aws::{failure, Failure};

use super::capture::Capture;
use super::out::Out;
use super::{CollectError, Done, Options, Outcome};
use crate::snapshot::catalogue::{self, Call, Scope};
use crate::snapshot::model::Model;

/// A credentials provider whose every answer (the first and each refresh) is registered with
/// the log's scrubber before it is used.
#[derive(Debug)]
struct Forgetting<P>(P);

impl<P: ProvideCredentials> ProvideCredentials for Forgetting<P> {
    fn provide_credentials<'a>(&'a self) -> credentials_future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        credentials_future::ProvideCredentials::new(async move {
            let credentials = self.0.provide_credentials().await?;
            super::log::forget(credentials.secret_access_key());
            if let Some(token) = credentials.session_token() {
                super::log::forget(token);
            }
            Ok(credentials)
        })
    }
}

/// A call's input, as the aws CLI's `--cli-input-json` takes it (and the manifest records).
pub type Input = Map<String, Value>;

/// The SDK configuration every client is made from.
#[derive(Clone)]
pub struct Sdk {
    base: SdkConfig,
    /// The region of global services (IAM, STS, Support) for the partition.
    global: String,
    /// The region from the profile or environment, if any.
    pub default_region: Option<String>,
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
            .retry_config(RetryConfig::standard().with_max_attempts(attempts))
            .http_client(crate::aws::http::client());
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
        }
    }

    /// The same configuration with the credentials of `role_arn` in the caller's
    /// partition, assumed now (so that a role that cannot be assumed is told at once, with
    /// the service's error code) and refreshed by the SDK before they expire.
    pub async fn assume(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<Sdk, Failure> {
        let sts = aws_sdk_sts::Client::new(&self.conf(&self.global));
        let assumed = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .set_external_id(external_id.map(str::to_owned))
            .send()
            .await
            .map_err(failure)?;
        if let Some(c) = assumed.credentials() {
            super::log::forget(c.secret_access_key());
            super::log::forget(c.session_token());
        }
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
            .session_name(session_name)
            .region(Region::new(self.global.clone()))
            .configure(&self.base);
        if let Some(id) = external_id {
            provider = provider.external_id(id);
        }
        let provider = Forgetting(provider.build().await);
        let base = self
            .base
            .to_builder()
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                provider,
            ))
            .build();
        Ok(Sdk {
            base,
            global: self.global.clone(),
            default_region: self.default_region.clone(),
        })
    }

    /// The configuration for one region.
    pub fn conf(&self, region: &str) -> SdkConfig {
        self.base
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build()
    }

    /// The partition's region of global services (IAM, STS, Organizations).
    pub fn global(&self) -> &str {
        &self.global
    }

    /// The regions a call of `scope` is made in.
    fn regions_of(&self, scope: &Scope, regions: &[String]) -> Vec<String> {
        match scope {
            Scope::Global => vec![self.global.clone()],
            Scope::Regional => regions.to_vec(),
            Scope::Region(r) => vec![r.clone()],
        }
    }
}

/// How a call ended, for the collector: the SDK's typed answer is not used, so a 2xx answer
/// the SDK could not deserialize (moto's `GetBucketVersioningResponse` root where S3 says
/// `VersioningConfiguration`) is an answer all the same: its kept body is converted with
/// botocore's model, as the aws CLI (which does not check the root's name) reads it.
fn answered<O, E>(result: Result<O, SdkError<E, HttpResponse>>) -> Result<(), Failure>
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if e.raw().status().is_success() => Ok(()),
        Err(e) => Err(failure(e)),
    }
}

/// A string input parameter.
fn text(input: &Input, name: &str) -> Result<String, Failure> {
    input
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            (
                "InvalidInput".to_owned(),
                format!("the input has no string `{name}`"),
            )
        })
}

/// A list of strings in the input (`Owners`, a filter's `Values`).
fn texts(value: Option<&Value>) -> Option<Vec<String>> {
    value?.as_array().map(|items| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// `Filters` as EC2's SDK takes them.
fn filters(input: &Input) -> Option<Vec<aws_sdk_ec2::types::Filter>> {
    input.get("Filters")?.as_array().map(|fs| {
        fs.iter()
            .map(|f| {
                aws_sdk_ec2::types::Filter::builder()
                    .set_name(f.get("Name").and_then(Value::as_str).map(str::to_owned))
                    .set_values(texts(f.get("Values")))
                    .build()
            })
            .collect()
    })
}

/// The SDK bindings, one line per operation: `send` (one page of a call with the SDK: its
/// input, the page token, and the interceptor that keeps the raw body) and `is_bound` (every
/// call of the catalogue must have a binding) are both made from this one table. The SDK's
/// typed answer is not used: the body is converted with the model, and the next page's token
/// read from it.
macro_rules! bindings {
    ($( $service:literal => $client:path {
        $( $op:literal => |$c:ident, $input:ident, $token:ident| $request:expr ),+ $(,)?
    } )+) => {
        async fn send(
            sdk: &Sdk,
            call: &Call,
            region: &str,
            input: &Input,
            token: Option<String>,
            cap: Capture,
        ) -> Result<(), Failure> {
            let conf = sdk.conf(region);
            match (call.service.as_str(), call.operation.as_str()) {
                $( $( ($service, $op) => {
                    let $c = <$client>::new(&conf);
                    let ($input, $token) = (input, token);
                    answered(
                        $request
                            .customize()
                            .interceptor(cap)
                            .send()
                            .await,
                    )
                } )+ )+
                _ => unbound(call),
            }
        }

        /// Whether the SDK binding knows `call` (every call of the catalogue must have one).
        pub fn is_bound(call: &Call) -> bool {
            matches!(
                (call.service.as_str(), call.operation.as_str()),
                $( $( ($service, $op) )|+ )|+
            )
        }
    };
}

bindings! {
    "sts" => aws_sdk_sts::Client {
        "GetCallerIdentity" => |c, _i, _t| c.get_caller_identity(),
    }
    "iam" => aws_sdk_iam::Client {
        "GetAccountPasswordPolicy" => |c, _i, _t| c.get_account_password_policy(),
        "GetAccountSummary" => |c, _i, _t| c.get_account_summary(),
        "GetCredentialReport" => |c, _i, _t| c.get_credential_report(),
        "ListUsers" => |c, _i, token| c.list_users().set_marker(token),
        "ListVirtualMFADevices" => |c, _i, token| c.list_virtual_mfa_devices().set_marker(token),
        "GetAccountAuthorizationDetails" => |c, _i, token| c.get_account_authorization_details().set_marker(token),
        "ListAccessKeys" => |c, input, token| c.list_access_keys().user_name(text(input, "UserName")?).set_marker(token),
        "ListMFADevices" => |c, input, token| c.list_mfa_devices().user_name(text(input, "UserName")?).set_marker(token),
        "GetAccessKeyLastUsed" => |c, input, _t| c.get_access_key_last_used().access_key_id(text(input, "AccessKeyId")?),
        "ListServerCertificates" => |c, _i, token| c.list_server_certificates().set_marker(token),
    }
    "ec2" => aws_sdk_ec2::Client {
        "DescribeInstances" => |c, _i, token| c.describe_instances().set_next_token(token),
        "DescribeSecurityGroups" => |c, _i, token| c.describe_security_groups().set_next_token(token),
        "DescribeNetworkInterfaces" => |c, _i, token| c.describe_network_interfaces().set_next_token(token),
        "DescribeVpcs" => |c, _i, token| c.describe_vpcs().set_next_token(token),
        "DescribeImages" => |c, input, token| c
            .describe_images()
            .set_owners(texts(input.get("Owners")))
            .set_filters(filters(input))
            .set_include_deprecated(input.get("IncludeDeprecated").and_then(Value::as_bool))
            .set_next_token(token),
        "DescribeFlowLogs" => |c, _i, token| c.describe_flow_logs().set_next_token(token),
        "DescribeNetworkAcls" => |c, _i, token| c.describe_network_acls().set_next_token(token),
        "DescribeRouteTables" => |c, _i, token| c.describe_route_tables().set_next_token(token),
        "GetEbsEncryptionByDefault" => |c, _i, _t| c.get_ebs_encryption_by_default(),
    }
    "cloudtrail" => aws_sdk_cloudtrail::Client {
        "DescribeTrails" => |c, _i, _t| c.describe_trails(),
        "GetTrailStatus" => |c, input, _t| c.get_trail_status().name(text(input, "Name")?),
        "GetEventSelectors" => |c, input, _t| c.get_event_selectors().trail_name(text(input, "TrailName")?),
    }
    "cloudwatch" => aws_sdk_cloudwatch::Client {
        "DescribeAlarms" => |c, _i, token| c.describe_alarms().set_next_token(token),
    }
    "support" => aws_sdk_support::Client {
        "DescribeTrustedAdvisorChecks" => |c, input, _t| c
            .describe_trusted_advisor_checks()
            .language(text(input, "language")?),
        "DescribeTrustedAdvisorCheckResult" => |c, input, _t| c
            .describe_trusted_advisor_check_result()
            .check_id(text(input, "checkId")?)
            .language(text(input, "language")?),
    }
    "kms" => aws_sdk_kms::Client {
        "ListKeys" => |c, _i, token| c.list_keys().set_marker(token),
        "DescribeKey" => |c, input, _t| c.describe_key().key_id(text(input, "KeyId")?),
        "GetKeyRotationStatus" => |c, input, _t| c.get_key_rotation_status().key_id(text(input, "KeyId")?),
        "GetKeyPolicy" => |c, input, _t| c
            .get_key_policy()
            .key_id(text(input, "KeyId")?)
            .set_policy_name(input.get("PolicyName").and_then(Value::as_str).map(str::to_owned)),
    }
    "configservice" => aws_sdk_config::Client {
        "DescribeConfigurationRecorders" => |c, _i, _t| c.describe_configuration_recorders(),
        "DescribeConfigurationRecorderStatus" => |c, _i, _t| c.describe_configuration_recorder_status(),
    }
    "efs" => aws_sdk_efs::Client {
        "DescribeFileSystems" => |c, _i, token| c.describe_file_systems().set_marker(token),
    }
    "rds" => aws_sdk_rds::Client {
        "DescribeDBInstances" => |c, _i, token| c.describe_db_instances().set_marker(token),
        "DescribeDBClusters" => |c, _i, token| c.describe_db_clusters().set_marker(token),
    }
    "securityhub" => aws_sdk_securityhub::Client {
        "DescribeHub" => |c, _i, _t| c.describe_hub(),
    }
    "accessanalyzer" => aws_sdk_accessanalyzer::Client {
        "ListAnalyzers" => |c, _i, token| c.list_analyzers().set_next_token(token),
    }
    "account" => aws_sdk_account::Client {
        "GetAlternateContact" => |c, input, _t| c
            .get_alternate_contact()
            .alternate_contact_type(aws_sdk_account::types::AlternateContactType::from(
                text(input, "AlternateContactType")?.as_str(),
            )),
    }
    "logs" => aws_sdk_cloudwatchlogs::Client {
        "DescribeMetricFilters" => |c, _i, token| c.describe_metric_filters().set_next_token(token),
    }
    "sns" => aws_sdk_sns::Client {
        "ListSubscriptions" => |c, _i, token| c.list_subscriptions().set_next_token(token),
        "ListTopics" => |c, _i, token| c.list_topics().set_next_token(token),
        "GetTopicAttributes" => |c, input, _t| c.get_topic_attributes().topic_arn(text(input, "TopicArn")?),
    }
    "s3api" => aws_sdk_s3::Client {
        "ListBuckets" => |c, input, token| c
            .list_buckets()
            .set_max_buckets(input.get("MaxBuckets").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok()))
            .set_continuation_token(token),
        "GetBucketLocation" => |c, input, _t| c.get_bucket_location().bucket(text(input, "Bucket")?),
        "GetBucketPolicy" => |c, input, _t| c.get_bucket_policy().bucket(text(input, "Bucket")?),
        "GetPublicAccessBlock" => |c, input, _t| c.get_public_access_block().bucket(text(input, "Bucket")?),
        "GetBucketVersioning" => |c, input, _t| c.get_bucket_versioning().bucket(text(input, "Bucket")?),
        "GetBucketLogging" => |c, input, _t| c.get_bucket_logging().bucket(text(input, "Bucket")?),
    }
    "s3control" => aws_sdk_s3control::Client {
        "GetPublicAccessBlock" => |c, input, _t| c.get_public_access_block().account_id(text(input, "AccountId")?),
    }
    "sqs" => aws_sdk_sqs::Client {
        "ListQueues" => |c, _i, token| c.list_queues().set_next_token(token),
        "GetQueueAttributes" => |c, input, _t| c
            .get_queue_attributes()
            .queue_url(text(input, "QueueUrl")?)
            .set_attribute_names(texts(input.get("AttributeNames")).map(|names| {
                names
                    .iter()
                    .map(|n| aws_sdk_sqs::types::QueueAttributeName::from(n.as_str()))
                    .collect()
            })),
    }
    "lambda" => aws_sdk_lambda::Client {
        "ListFunctions" => |c, _i, token| c.list_functions().set_marker(token),
        "GetPolicy" => |c, input, _t| c.get_policy().function_name(text(input, "FunctionName")?),
    }
    "secretsmanager" => aws_sdk_secretsmanager::Client {
        "ListSecrets" => |c, _i, token| c.list_secrets().set_next_token(token),
        "GetResourcePolicy" => |c, input, _t| c.get_resource_policy().secret_id(text(input, "SecretId")?),
    }
}

fn unbound(call: &Call) -> Result<(), Failure> {
    Err((
        "NotImplemented".to_owned(),
        format!(
            "snapaudit has no SDK binding for {} {}",
            call.service, call.operation
        ),
    ))
}

/// Prepares a call that needs it: IAM's credential report is generated first, polling
/// until it is complete (with a bound).
async fn prepare(sdk: &Sdk, call: &Call, region: &str) -> Result<(), Failure> {
    match call.prepare.as_deref() {
        None => Ok(()),
        Some("GenerateCredentialReport") => {
            let c = aws_sdk_iam::Client::new(&sdk.conf(region));
            for attempt in 0..30 {
                let generated = c
                    .generate_credential_report()
                    .send()
                    .await
                    .map_err(failure)?;
                if generated.state().is_some_and(|s| s.as_str() == "COMPLETE") {
                    return Ok(());
                }
                if attempt < 29 {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
            Err((
                "ReportNotComplete".into(),
                "the credential report was not complete after 30 tries".into(),
            ))
        }
        Some(other) => Err((
            "NotImplemented".into(),
            format!("snapaudit cannot prepare a call with {other}"),
        )),
    }
}

/// Makes a call page by page, converts each page's raw body with the model, and merges the
/// pages as the CLI does. The next page's token is read from the converted page, as the
/// model's paginator says.
async fn paged(
    sdk: &Sdk,
    model: &Model,
    call: &Call,
    region: &str,
    input: &Input,
) -> Result<Out, Failure> {
    let paginator = model
        .operation(&call.operation)
        .map_err(|e| ("UnreadableResponse".to_owned(), e.0))?
        .paginator
        .as_ref();
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let capture = Capture::new();
        send(sdk, call, region, input, token.clone(), capture.clone()).await?;
        let body = capture.take().ok_or_else(|| {
            (
                "NoResponseBody".to_owned(),
                "the response had no body to keep".to_owned(),
            )
        })?;
        let page = model
            .convert(&call.operation, &body)
            .map_err(|e| ("UnreadableResponse".to_owned(), e.0))?;
        let next = paginator.and_then(|p| {
            let more = p
                .more_results
                .as_ref()
                .is_none_or(|m| page.get(m) == Some(&Out::Bool(true)));
            let t = page.get(p.output_tokens.first()?)?.as_str()?;
            (more && !t.is_empty()).then(|| t.to_owned())
        });
        pages.push(page);
        match next {
            Some(t) if Some(&t) != token.as_ref() => token = Some(t),
            _ => break,
        }
        if pages.len() > 100_000 {
            return Err(("TooManyPages".into(), "more than 100000 pages".into()));
        }
    }
    model
        .merge_pages(&call.operation, pages)
        .map_err(|e| ("UnreadableResponse".to_owned(), e.0))
}

/// A converted answer as plain JSON, for the catalogue's JMESPath expressions.
fn plain(v: &Out) -> Value {
    match v {
        Out::Null => Value::Null,
        Out::Bool(b) => Value::Bool(*b),
        Out::Int(i) => Value::from(*i),
        Out::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Out::Str(s) => Value::String(s.clone()),
        Out::List(items) => Value::Array(items.iter().map(plain).collect()),
        Out::Obj(members) => {
            Value::Object(members.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
    }
}

/// The values of `expression` (`{region}` replaced) over an answer, in order, each once:
/// strings, or `[value, region]` pairs whose region says where the value's call is made
/// (null: where the answer came from).
fn values(
    answer: &Out,
    expression: &str,
    region: &str,
) -> Result<Vec<(String, Option<String>)>, Failure> {
    let bad = |e: &dyn std::fmt::Display| ("InvalidCatalogue".to_owned(), e.to_string());
    let expr = jmespath::compile(&expression.replace("{region}", region)).map_err(|e| bad(&e))?;
    let data = jmespath::Variable::try_from(plain(answer)).map_err(|e| bad(&e))?;
    let found = expr.search(data).map_err(|e| bad(&e))?;
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for v in found.as_array().map(Vec::as_slice).unwrap_or_default() {
        let found = match (v.as_string(), v.as_array().map(Vec::as_slice)) {
            (Some(s), _) => (s.clone(), None),
            (None, Some([value, in_region])) => match value.as_string() {
                Some(s) => (s.clone(), in_region.as_string().cloned()),
                None => continue,
            },
            _ => continue,
        };
        if seen.insert(found.0.clone()) {
            out.push(found);
        }
    }
    Ok(out)
}

/// `input` with the string `"$values"` replaced by the list of values.
fn with_values(input: &toml::Table, values: &[String]) -> Input {
    fn fill(v: Value, values: &[String]) -> Value {
        match v {
            Value::String(s) if s == "$values" => {
                Value::Array(values.iter().cloned().map(Value::String).collect())
            }
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|i| fill(i, values)).collect())
            }
            Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, fill(v, values))).collect())
            }
            other => other,
        }
    }
    input
        .iter()
        .map(|(k, v)| (k.clone(), fill(catalogue::toml_json(v), values)))
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

static ACCOUNTS: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

/// Accounts done of all (organisation runs): on a terminal, a bar of its own above the
/// calls' line; lines otherwise (see [`note`]).
pub fn accounts_done(done: usize, total: usize) {
    let Some(calls) = PROGRESS.get().filter(|b| !b.is_hidden()) else {
        return;
    };
    let bar = ACCOUNTS.get_or_init(|| {
        let multi = indicatif::MultiProgress::new();
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("  accounts {bar:30} {pos}/{len} [{elapsed}]")
        {
            bar.set_style(style);
        }
        let bar = multi.add(bar);
        multi.add(calls.clone());
        bar
    });
    bar.set_position(done as u64);
}

/// A line for the user on standard error, above the progress line when there is one.
pub fn note(line: &str) {
    match PROGRESS.get() {
        Some(bar) if !bar.is_hidden() => bar.println(line),
        _ => eprintln!("{line}"),
    }
}

pub fn finish_progress() {
    if let Some(bar) = ACCOUNTS.get() {
        bar.finish_and_clear();
    }
    if let Some(bar) = PROGRESS.get() {
        bar.finish_and_clear();
    }
}

fn log(d: &Done) {
    use std::sync::atomic::Ordering;
    let how = match &d.outcome {
        Outcome::Ok(_) => "ok".to_owned(),
        Outcome::Failed { code, .. } => {
            if !catalogue::catalogue().is_absent(&d.path, code) {
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

/// What the run shares: the SDK, the regions, the calls it may make, and the bound on
/// calls in flight.
struct Run {
    sdk: Sdk,
    /// The caller's account: `{account}` in the catalogue's inputs.
    account: String,
    regions: Vec<String>,
    calls: Vec<&'static Call>,
    sem: Semaphore,
}

impl Run {
    /// A call's constant input, `"{account}"` replaced by the caller's account.
    fn input_of(&self, call: &Call) -> Input {
        call.input_json()
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) if s == "{account}" => (k, Value::String(self.account.clone())),
                other => (k, other),
            })
            .collect()
    }
}

/// One call: made under the concurrency bound, logged, recorded.
async fn one(run: &Run, call: &'static Call, region: &str, input: Input, path: String) -> Done {
    let result = match call.model() {
        None => Err((
            "UnreadableResponse".to_owned(),
            format!("no model for {}", call.service),
        )),
        Some(model) => {
            let permit = run.sem.acquire().await;
            let prepared = prepare(&run.sdk, call, region).await;
            let r = match prepared {
                Ok(()) => paged(&run.sdk, model, call, region, &input)
                    .await
                    .map(|answer| call.redact.iter().fold(answer, |a, path| a.redacted(path))),
                Err(f) => Err(f),
            };
            drop(permit);
            r
        }
    };
    let done = Done {
        path,
        service: call.service.clone(),
        operation: call.operation.clone(),
        region: region.to_owned(),
        parameters: Value::Object(input),
        outcome: match result {
            Ok(v) => Outcome::Ok(v),
            Err((code, message)) => Outcome::Failed { code, message },
        },
    };
    log(&done);
    done
}

type Tree = Pin<Box<dyn Future<Output = Vec<Done>> + Send>>;

/// A call and, when it answered, every call that follows from its answer (in parallel).
fn tree(run: Arc<Run>, call: &'static Call, region: String, input: Input, path: String) -> Tree {
    Box::pin(async move {
        let done = one(&run, call, &region, input, path).await;
        let mut out = Vec::new();
        let mut planned: Vec<Planned> = Vec::new();
        if let Outcome::Ok(answer) = &done.outcome {
            for next in run
                .calls
                .iter()
                .copied()
                .filter(|c| c.service == call.service)
            {
                match follows(&run, next, call, answer, &region) {
                    Ok(inputs) => {
                        for (input, values, in_region) in inputs {
                            let region = in_region.unwrap_or_else(|| region.clone());
                            let path = next.path_for(&region, &values);
                            planned.push(Planned {
                                call: next,
                                region,
                                input,
                                path,
                            });
                        }
                    }
                    Err((code, message)) => out.push(Done {
                        path: next.path_for(&region, &BTreeMap::new()),
                        service: next.service.clone(),
                        operation: next.operation.clone(),
                        region: region.clone(),
                        parameters: Value::Object(Input::new()),
                        outcome: Outcome::Failed { code, message },
                    }),
                }
            }
        }
        out.push(done);
        out.extend(join_all(&run, planned).await);
        out
    })
}

/// A call to make: where, with what, written where.
struct Planned {
    call: &'static Call,
    region: String,
    input: Input,
    path: String,
}

/// A follow-up call: its input, the values of its path's parameters, and the region it is
/// made in when not the answer's own.
type FollowUp = (Input, BTreeMap<String, String>, Option<String>);

/// The follow-up calls of `next` that `call`'s answer asks for; none when `next` does not
/// follow from `call`.
fn follows(
    run: &Run,
    next: &Call,
    call: &Call,
    answer: &Out,
    region: &str,
) -> Result<Vec<FollowUp>, Failure> {
    let constant = run.input_of(next);
    if let Some(each) = next.each.as_ref().filter(|e| e.call == call.operation) {
        return Ok(values(answer, &each.values, region)?
            .into_iter()
            .map(|(v, in_region)| {
                let mut input = constant.clone();
                input.insert(each.parameter.clone(), Value::String(v.clone()));
                (
                    input,
                    BTreeMap::from([(each.parameter.clone(), v)]),
                    in_region,
                )
            })
            .collect());
    }
    if let Some(gather) = next.gather.as_ref().filter(|g| g.call == call.operation) {
        let mut found: Vec<String> = values(answer, &gather.values, region)?
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        found.sort();
        let mut input = constant;
        let with = if found.is_empty() {
            with_values(&gather.otherwise, &[])
        } else {
            with_values(&gather.input, &found)
        };
        input.extend(with);
        return Ok(vec![(input, BTreeMap::new(), None)]);
    }
    Ok(Vec::new())
}

/// Runs the planned calls (each with what follows from it) and gathers what they did. A
/// task that fails (a panic in the SDK or here) is recorded as a failed call, never lost.
async fn join_all(run: &Arc<Run>, planned: Vec<Planned>) -> Vec<Done> {
    let mut set: JoinSet<Vec<Done>> = JoinSet::new();
    let mut pending: BTreeMap<tokio::task::Id, Planned> = BTreeMap::new();
    for p in planned {
        let handle = set.spawn(tree(
            run.clone(),
            p.call,
            p.region.clone(),
            p.input.clone(),
            p.path.clone(),
        ));
        pending.insert(handle.id(), p);
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next_with_id().await {
        match joined {
            Ok((id, mut done)) => {
                pending.remove(&id);
                out.append(&mut done);
            }
            Err(e) => {
                if let Some(p) = pending.remove(&e.id()) {
                    out.push(Done {
                        path: p.path,
                        service: p.call.service.clone(),
                        operation: p.call.operation.clone(),
                        region: p.region,
                        parameters: Value::Object(p.input),
                        outcome: Outcome::Failed {
                            code: "InternalError".to_owned(),
                            message: format!("the collector's task for this call failed: {e}"),
                        },
                    });
                }
            }
        }
    }
    out
}

/// `sts get-caller-identity`: the account, the caller, and its snapshot file.
pub async fn identity(sdk: &Sdk) -> Result<(String, String, Done), Failure> {
    let call = catalogue::catalogue()
        .call("sts", "GetCallerIdentity")
        .ok_or_else(|| {
            (
                "InvalidCatalogue".to_owned(),
                "no sts GetCallerIdentity".to_owned(),
            )
        })?;
    let run = Run {
        sdk: sdk.clone(),
        account: String::new(),
        regions: Vec::new(),
        calls: Vec::new(),
        sem: Semaphore::new(1),
    };
    let path = call.path_for(&sdk.global, &BTreeMap::new());
    let done = one(&run, call, &sdk.global, Input::new(), path).await;
    let value = match &done.outcome {
        Outcome::Ok(v) => v,
        Outcome::Failed { code, message } => return Err((code.clone(), message.clone())),
    };
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Out::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (account, arn) = (field("Account"), field("Arn"));
    Ok((account, arn, done))
}

/// The partition of the caller's ARN (`arn:aws-cn:…` → `aws-cn`); `aws` when the ARN has
/// none.
pub fn partition_of(caller_arn: &str) -> String {
    caller_arn.split(':').nth(1).unwrap_or("aws").to_owned()
}

/// The regions to collect: as asked, every enabled region, or the profile's region.
pub async fn regions(sdk: &Sdk, options: &Options) -> Result<Vec<String>, CollectError> {
    let mut regions: Vec<String> = if options.all_regions {
        let home = sdk
            .default_region
            .clone()
            .unwrap_or_else(|| sdk.global.clone());
        let c = aws_sdk_ec2::Client::new(&sdk.conf(&home));
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

/// Runs every call of the catalogue for `services` (each once per region its scope
/// names, and what follows from each answer), at most `concurrency` at a time. The
/// caller's identity is collected first, on its own.
pub async fn collect_all(
    sdk: Sdk,
    account: String,
    regions: Vec<String>,
    services: &[String],
    concurrency: usize,
) -> Vec<Done> {
    let calls: Vec<&'static Call> = catalogue::catalogue()
        .call
        .iter()
        .filter(|c| services.contains(&c.service))
        .filter(|c| !(c.service == "sts" && c.operation == "GetCallerIdentity"))
        .collect();
    let run = Arc::new(Run {
        sdk,
        account,
        regions,
        calls,
        sem: Semaphore::new(concurrency.max(1)),
    });
    let mut planned = Vec::new();
    for call in run.calls.iter().copied() {
        if call.each.is_some() || call.gather.is_some() {
            continue;
        }
        let input = run.input_of(call);
        for region in run.sdk.regions_of(&call.scope, &run.regions) {
            let path = call.path_for(&region, &BTreeMap::new());
            planned.push(Planned {
                call,
                region,
                input: input.clone(),
                path,
            });
        }
    }
    join_all(&run, planned).await
}
