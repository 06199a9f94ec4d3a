//! What every AWS call of snapaudit shares, the collector's and the snapshot store's: the
//! HTTP client ([`http`]) and how an SDK error is recorded ([`failure`]).

pub mod http;

use std::error::Error;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed call: the AWS error code (or the kind of failure) and the message.
pub type Failure = (String, String);

/// An SDK error as the manifest records it: the AWS error code (or the kind of failure when
/// the service never answered) and its message. Never includes credentials.
pub fn failure<E>(e: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    // An answer without an AWS error code (an HTML 404 page, a proxy's 502): its HTTP
    // status and reason, as botocore records it (`404`, "Not Found").
    if e.code().is_none() {
        if let Some(raw) = e.raw_response() {
            let status = raw.status().as_u16();
            if !raw.status().is_success() {
                let reason = ::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("no reason given");
                return (status.to_string(), reason.to_owned());
            }
        }
    }
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
