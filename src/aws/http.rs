//! The HTTP client of every SDK call: the SDK's own (hyper, rustls with aws-lc, the proxy
//! from the environment), with one difference in name resolution: every name under
//! `localhost` is the loopback address, as RFC 6761 reserves it. Some endpoints put the
//! account in the host name (`{AccountId}.s3-control…`), so a local endpoint such as a
//! moto server at `http://localhost:5000` is reached as `123456789012.localhost:5000`,
//! which the system resolver does not know. Every other name goes to the system resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Names under `localhost` → loopback; the rest → the system.
#[derive(Debug, Clone, Copy)]
struct LoopbackNames;

/// Whether `name` is `localhost` or a name under it (RFC 6761 §6.3).
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

impl ResolveDns for LoopbackNames {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        if is_localhost(name) {
            return DnsFuture::ready(Ok(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]));
        }
        DnsFuture::new(async move {
            let found = tokio::net::lookup_host((name, 0))
                .await
                .map_err(ResolveDnsError::new)?;
            Ok(found.map(|a| a.ip()).collect())
        })
    }
}

/// The client the collector's SDK configuration uses.
pub fn client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build_with_resolver(LoopbackNames)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_under_localhost_are_loopback_and_others_are_not() {
        assert!(is_localhost("localhost"));
        assert!(is_localhost("123456789012.localhost"));
        assert!(is_localhost("123456789012.LocalHost."));
        assert!(!is_localhost("localhost.example.com"));
        assert!(!is_localhost("notlocalhost"));
        assert!(!is_localhost("s3-control.us-east-1.amazonaws.com"));
    }
}
