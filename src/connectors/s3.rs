//! S3 through object_store's `AmazonS3`: endpoint, region, TLS and retry policy from options.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, Certificate, ClientOptions, ObjectStore, RetryConfig};

use super::options::parse_bool;
use crate::error::config;
use crate::location::S3Location;

pub fn build(
    loc: &S3Location,
    opts: &BTreeMap<String, String>,
    display: &str,
) -> Result<Arc<dyn ObjectStore>> {
    let store = build_bucket(loc, opts, display)?;
    if loc.prefix.is_empty() {
        Ok(Arc::new(store))
    } else {
        Ok(Arc::new(PrefixStore::new(store, loc.prefix.as_str())))
    }
}

/// Connection settings shared by the store client and raw object requests.
pub fn client_options(opts: &BTreeMap<String, String>) -> Result<ClientOptions> {
    let use_tls = flag(opts, "use_tls", true);
    let mut client = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(120))
        .with_allow_http(!use_tls)
        .with_allow_invalid_certificates(flag(opts, "tls_insecure_no_verify", false))
        .with_pool_max_idle_per_host(64);
    if let Some(path) = opts.get("ca_cert") {
        let pem =
            std::fs::read(path).map_err(|e| config(format!("cannot read ca_cert {path}: {e}")))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| config(format!("ca_cert {path} is not a PEM certificate: {e}")))?;
        client = client.with_root_certificate(cert);
    }
    Ok(client)
}

pub fn flag(opts: &BTreeMap<String, String>, key: &str, default: bool) -> bool {
    opts.get(key).and_then(|v| parse_bool(v)).unwrap_or(default)
}

pub fn region_of(loc: &S3Location, opts: &BTreeMap<String, String>) -> String {
    opts.get("region")
        .cloned()
        .or_else(|| loc.aws_region())
        .unwrap_or_else(|| "us-east-1".to_string())
}

fn build_bucket(
    loc: &S3Location,
    opts: &BTreeMap<String, String>,
    display: &str,
) -> Result<AmazonS3> {
    let flag = |k: &str, default: bool| flag(opts, k, default);
    let use_tls = flag("use_tls", true);
    let scheme = if use_tls { "https" } else { "http" };
    let region = region_of(loc, opts);
    let endpoint = opts
        .get("endpoint")
        .cloned()
        .unwrap_or_else(|| format!("{scheme}://{}", loc.host));

    let client = client_options(opts)?;
    // Bounded: a dead endpoint fails within seconds, a flaky one is retried with backoff.
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 6,
        retry_timeout: Duration::from_secs(60),
    };

    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&loc.bucket)
        .with_region(region)
        .with_client_options(client)
        .with_retry(retry)
        .with_allow_http(!use_tls);
    if !loc.is_aws() || opts.contains_key("endpoint") {
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(flag("virtual_host", false));
    } else {
        builder = builder.with_virtual_hosted_style_request(flag("virtual_host", true));
    }
    if let Some(k) = opts.get("access_key") {
        builder = builder.with_access_key_id(k);
    }
    if let Some(k) = opts.get("secret_access_key") {
        builder = builder.with_secret_access_key(k);
    }
    if let Some(k) = opts.get("session_token") {
        builder = builder.with_token(k);
    }
    builder
        .build()
        .map_err(|e| config(format!("cannot configure S3 for {display}: {e}")))
}
