//! The collector's log (`RUST_LOG`, or `-v` for snapaudit's own lines): the SDK's tracing
//! events on standard error, through a writer that removes credentials. The SDK does not
//! log secrets on purpose, but at `trace` level it prints requests and configuration, and
//! a log is the kind of file that gets pasted into a ticket: every line is scrubbed of the
//! secret key and session token resolved at start, and of any security-token header or
//! secret-looking assignment.

use std::io::Write;
use std::sync::{LazyLock, PoisonError, RwLock};

use regex::Regex;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Secrets known to this run, removed from every log line.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Values that look like credentials wherever they appear: security-token headers and
/// query parameters, and assignments to secret or token fields.
#[expect(
    clippy::expect_used,
    reason = "a constant pattern, compiled by the unit tests; the scrubber must not run without it"
)]
static PATTERNS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:x-amz-security-token|security_token|session_token|sessiontoken|secret_access_key|secretaccesskey|aws_secret_access_key)["']?\s*(?:[:=]|=>)\s*(?:Some\()?\\?["']?)[^"'\s,&;)}]+"#,
    )
    .expect("the credential pattern compiles")
});

/// Registers a secret to remove from the log (short values are ignored: they would match
/// ordinary text).
pub fn forget(secret: &str) {
    if secret.len() < 8 {
        return;
    }
    // A poisoned lock only means a panic elsewhere while it was held; the list is whole
    // (each change is one push), and the scrubber must keep working.
    let mut known = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|s| s == secret) {
        known.push(secret.to_owned());
    }
}

/// `text` with every known secret and credential-looking value replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = PATTERNS.replace_all(text, "${1}***").into_owned();
    let known = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// Standard error, scrubbed. The formatter writes each event with one `write` call, so a
/// secret is never split between two calls.
struct Scrubbed;

impl Write for Scrubbed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let clean = redact(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

struct MakeScrubbed;

impl<'a> MakeWriter<'a> for MakeScrubbed {
    type Writer = Scrubbed;

    fn make_writer(&'a self) -> Scrubbed {
        Scrubbed
    }
}

/// Starts the log: `RUST_LOG` when it is set (any tracing filter, such as `trace` or
/// `aws_smithy_runtime=debug`), else snapaudit's own events at `info` with `-v`, else
/// warnings and errors only.
pub fn start(verbose: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(if verbose {
            "warn,snapaudit=info"
        } else {
            "error"
        })
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MakeScrubbed)
        .with_ansi(false)
        .with_target(true)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_token_headers_are_removed() {
        forget("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzSECRETKEY");
        let line = r#"headers: {"x-amz-security-token": "FQoGZXIvYXdzEJr//////////token", "host": "iam"} key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzSECRETKEY session_token: Some("IQoJb3JpZ2luX2VjE") X-Amz-Security-Token=abc%2Fdef&Action=ListUsers"#;
        let clean = redact(line);
        for secret in [
            "FQoGZXIvYXdzEJr",
            "wJalrXUtnFEMI",
            "IQoJb3JpZ2luX2VjE",
            "abc%2Fdef",
        ] {
            assert!(!clean.contains(secret), "{clean}");
        }
        assert!(clean.contains("Action=ListUsers"), "{clean}");
        assert!(clean.contains(r#""host": "iam""#), "{clean}");
    }
}
