//! One S3 connection config, built once from a location and its options and used by both the
//! store client (object_store's `AmazonS3`) and the object-level requests (`S3Api`): endpoint,
//! path or virtual-host style, region, credentials, TLS and one retry policy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};

use super::sse::Sse;
use object_store::prefix::PrefixStore;
use object_store::{Certificate, ClientOptions, ObjectStore, RetryConfig};

use crate::connectors::options::parse_bool;
use crate::error::config;
use crate::location::S3Location;

#[derive(Clone)]
pub struct S3Config {
    /// How to name it in messages (never a secret).
    pub display: String,
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the whole bucket.
    pub prefix: String,
    pub region: String,
    /// `scheme://host[:port]` of the service, without the bucket.
    endpoint: String,
    virtual_host: bool,
    use_tls: bool,
    /// Set when the endpoint is AWS's own and the user gave none: object_store then derives it.
    aws_default: bool,
    explicit_keys: Option<Keys>,
    options: BTreeMap<String, String>,
    /// Retries of every request, by `crate::retry` (object_store's own are off).
    pub retry: crate::retry::Policy,
    /// How long object requests wait for a server that says nothing (option `timeout`, s).
    pub timeout: Duration,
    pub sse: Option<Sse>,
}

#[derive(Clone)]
struct Keys {
    id: String,
    secret: String,
    token: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// Never a secret: credentials, secret options and URL userinfo are masked.
impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("display", &crate::redact::userinfo(&self.display))
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &crate::redact::userinfo(&self.endpoint))
            .field("virtual_host", &self.virtual_host)
            .field("use_tls", &self.use_tls)
            .field("aws_default", &self.aws_default)
            .field("explicit_keys", &self.explicit_keys)
            .field(
                "options",
                &crate::connectors::options::masked(&self.options),
            )
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("sse", &self.sse)
            .finish()
    }
}

impl S3Config {
    pub fn new(loc: &S3Location, opts: &BTreeMap<String, String>, display: &str) -> Result<Self> {
        let flag =
            |k: &str, default: bool| opts.get(k).and_then(|v| parse_bool(v)).unwrap_or(default);
        let use_tls = flag("use_tls", true);
        let scheme = if use_tls { "https" } else { "http" };
        let endpoint = opts
            .get("endpoint")
            .cloned()
            .unwrap_or_else(|| format!("{scheme}://{}", loc.host))
            .trim_end_matches('/')
            .to_string();
        let aws_default = loc.is_aws() && !opts.contains_key("endpoint");
        let region = opts
            .get("region")
            .cloned()
            .or_else(|| loc.aws_region())
            .unwrap_or_else(|| "us-east-1".to_string());
        let explicit_keys = explicit_keys(opts)?;
        if explicit_keys.is_none() && !aws_default && !env_credentials_present() {
            return Err(config(format!(
                "{display}: no S3 credentials: set access_key and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared credentials file"
            )));
        }
        let timeout = match opts.get("timeout") {
            Some(t) => Duration::from_secs(t.parse().map_err(|_| {
                config(format!(
                    "{display}: option timeout must be a number of seconds"
                ))
            })?),
            None => Duration::from_secs(30),
        };
        let sse = Sse::from_options(opts, display)?;
        Ok(S3Config {
            timeout,
            sse,
            display: display.to_string(),
            bucket: loc.bucket.clone(),
            prefix: loc.prefix.clone(),
            region,
            endpoint,
            virtual_host: flag("virtual_host", aws_default),
            use_tls,
            aws_default,
            explicit_keys,
            options: opts.clone(),
            retry: crate::retry::Policy::NETWORK,
        })
    }

    /// The same connection narrowed to `prefix/sub`.
    pub fn narrowed(&self, sub: &str) -> S3Config {
        let mut c = self.clone();
        c.prefix = [self.prefix.as_str(), sub]
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("/");
        c
    }

    /// `host/bucket[/prefix]`, without credentials: names a source in snapshots.
    pub fn display_location(&self) -> String {
        let host = self.endpoint.split("://").nth(1).unwrap_or(&self.endpoint);
        if self.prefix.is_empty() {
            format!("{host}/{}", self.bucket)
        } else {
            format!("{host}/{}/{}", self.bucket, self.prefix)
        }
    }

    /// The URL of the bucket itself, in the configured addressing style.
    pub fn bucket_url(&self) -> String {
        if self.virtual_host {
            let (scheme, host) = self
                .endpoint
                .split_once("://")
                .unwrap_or(("https", &self.endpoint));
            let host = if self.aws_default {
                format!("s3.{}.amazonaws.com", self.region)
            } else {
                host.to_string()
            };
            format!("{scheme}://{}.{host}", self.bucket)
        } else if self.aws_default {
            format!("https://s3.{}.amazonaws.com/{}", self.region, self.bucket)
        } else {
            format!("{}/{}", self.endpoint, self.bucket)
        }
    }

    pub fn client_options(&self) -> Result<ClientOptions> {
        let insecure = self
            .options
            .get("tls_insecure_no_verify")
            .and_then(|v| parse_bool(v))
            .unwrap_or(false);
        let mut client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(120))
            .with_allow_http(!self.use_tls)
            .with_allow_invalid_certificates(insecure)
            .with_pool_max_idle_per_host(64);
        if let Some(path) = self.options.get("ca_cert") {
            let pem = std::fs::read(path)
                .map_err(|e| config(format!("cannot read ca_cert {path}: {e}")))?;
            // Parsed here: with rustls, `Certificate::from_pem` defers parsing, and a file
            // without a certificate would be silently ignored.
            let certs = Certificate::from_pem_bundle(&pem)
                .map_err(|e| config(format!("ca_cert {path} is not a PEM certificate: {e}")))?;
            if certs.is_empty() {
                return Err(config(format!(
                    "ca_cert {path} is not a PEM certificate: it holds no BEGIN CERTIFICATE block"
                )));
            }
            for cert in certs {
                client = client.with_root_certificate(cert);
            }
        }
        Ok(client)
    }

    /// object_store's client for the bucket: the store backend, and the credential chain
    /// (environment, web identity, container and instance metadata) for object requests.
    pub fn bucket_client(&self) -> Result<AmazonS3> {
        let mut client = self.client_options()?;
        // A bucket with a default Object Lock retention takes uploads only with an integrity
        // checksum, announced by this header.
        let locked = self.options.contains_key("object_lock_days");
        if locked {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "x-amz-sdk-checksum-algorithm",
                http::HeaderValue::from_static("SHA256"),
            );
            client = client.with_default_headers(headers);
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_client_options(client)
            // One retry layer: ours (`crate::retry`), which also retries a body cut off
            // half-way and each listing page, which object_store cannot; with its own on too,
            // attempts multiplied.
            .with_retry(RetryConfig {
                max_retries: 0,
                ..RetryConfig::default()
            })
            .with_allow_http(!self.use_tls)
            .with_virtual_hosted_style_request(self.virtual_host);
        if !self.aws_default {
            builder = builder.with_endpoint(&self.endpoint);
        }
        if locked {
            builder = builder.with_checksum_algorithm(object_store::aws::Checksum::SHA256);
        }
        for (key, value) in self.sse.iter().flat_map(Sse::object_store_config) {
            let key: AmazonS3ConfigKey = key.parse().expect("object_store knows its own keys");
            builder = builder.with_config(key, value);
        }
        if let Some(k) = &self.explicit_keys {
            builder = builder
                .with_access_key_id(&k.id)
                .with_secret_access_key(&k.secret);
            if let Some(t) = &k.token {
                builder = builder.with_token(t);
            }
        }
        builder
            .build()
            .map_err(|e| config(format!("cannot configure S3 for {}: {e}", self.display)))
    }

    /// The store backend: the bucket, under the location's prefix.
    pub fn object_store(&self) -> Result<Arc<dyn ObjectStore>> {
        let store = self.bucket_client()?;
        if self.prefix.is_empty() {
            Ok(Arc::new(store))
        } else {
            Ok(Arc::new(PrefixStore::new(store, self.prefix.as_str())))
        }
    }

    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }
}

/// Keys from the options, else (when the environment has none) from the shared credentials
/// file's profile, which object_store's own chain does not read.
fn explicit_keys(opts: &BTreeMap<String, String>) -> Result<Option<Keys>> {
    if let (Some(id), Some(secret)) = (opts.get("access_key"), opts.get("secret_access_key")) {
        return Ok(Some(Keys {
            id: id.clone(),
            secret: secret.clone(),
            token: opts.get("session_token").cloned(),
        }));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        return Ok(None);
    }
    profile_keys()
}

fn env_credentials_present() -> bool {
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

/// `AWS_PROFILE` (else `default`) from `AWS_SHARED_CREDENTIALS_FILE` (else ~/.aws/credentials).
fn profile_keys() -> Result<Option<Keys>> {
    let named = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty());
    let file = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("credentials")));
    let Some(file) = file.filter(|f| f.exists()) else {
        return match named {
            Some(p) => Err(config(format!(
                "AWS_PROFILE={p} is set but there is no shared credentials file (~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE)"
            ))),
            None => Ok(None),
        };
    };
    let ini = ini::Ini::load_from_file(&file)
        .map_err(|e| config(format!("cannot read {}: {e}", file.display())))?;
    let profile = named.clone().unwrap_or_else(|| "default".to_string());
    let Some(section) = ini.section(Some(profile.as_str())) else {
        return match named {
            Some(p) => Err(config(format!(
                "profile '{p}' is not in {}: check AWS_PROFILE",
                file.display()
            ))),
            None => Ok(None),
        };
    };
    match (
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => Ok(Some(Keys {
            id: id.to_string(),
            secret: secret.to_string(),
            token: section.get("aws_session_token").map(str::to_string),
        })),
        _ => Err(config(format!(
            "profile '{profile}' in {} has no aws_access_key_id / aws_secret_access_key",
            file.display()
        ))),
    }
}

#[cfg(test)]
mod tests;
