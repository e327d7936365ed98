use super::*;

/// Options with explicit keys, so no test depends on the AWS environment.
fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut o: BTreeMap<String, String> = [("access_key", "AKID"), ("secret_access_key", "SEKRIT")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    o.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    o
}

fn cfg(location: &str, pairs: &[(&str, &str)]) -> S3Config {
    let crate::location::Location::S3(loc) = crate::location::parse(location).unwrap() else {
        panic!("{location}")
    };
    S3Config::new(&loc, &opts(pairs), "@test").unwrap()
}

fn cfg_err(location: &str, pairs: &[(&str, &str)]) -> String {
    let crate::location::Location::S3(loc) = crate::location::parse(location).unwrap() else {
        panic!("{location}")
    };
    S3Config::new(&loc, &opts(pairs), "@test")
        .unwrap_err()
        .to_string()
}

#[test]
fn the_endpoint_is_https_on_the_location_host_unless_tls_is_off() {
    let c = cfg("s3://minio.local:9000/bkt", &[]);
    assert_eq!(c.endpoint, "https://minio.local:9000");
    assert!(c.use_tls && !c.aws_default && !c.virtual_host);
    let c = cfg("s3://minio.local:9000/bkt", &[("use_tls", "false")]);
    assert_eq!(c.endpoint, "http://minio.local:9000");
    assert!(!c.use_tls);
}

#[test]
fn an_endpoint_option_wins_and_loses_its_trailing_slash() {
    let c = cfg(
        "s3://s3.eu-west-3.amazonaws.com/bkt",
        &[("endpoint", "https://proxy.example:8443//")],
    );
    assert_eq!(c.endpoint, "https://proxy.example:8443");
    assert!(!c.aws_default, "a given endpoint is used as it is");
    assert_eq!(c.bucket_url(), "https://proxy.example:8443/bkt");
}

#[test]
fn the_region_comes_from_the_option_then_the_aws_host_then_us_east_1() {
    assert_eq!(cfg("s3://h/bkt", &[]).region, "us-east-1");
    assert_eq!(
        cfg("s3://s3.ap-south-1.amazonaws.com/bkt", &[]).region,
        "ap-south-1"
    );
    assert_eq!(
        cfg(
            "s3://s3.ap-south-1.amazonaws.com/bkt",
            &[("region", "garage")]
        )
        .region,
        "garage"
    );
    assert_eq!(cfg("s3://h/bkt", &[("region", "garage")]).region, "garage");
}

#[test]
fn aws_endpoints_default_to_virtual_host_addressing() {
    let c = cfg("s3://s3.eu-west-3.amazonaws.com/bkt/p", &[]);
    assert!(c.aws_default && c.virtual_host);
    assert_eq!(c.bucket_url(), "https://bkt.s3.eu-west-3.amazonaws.com");
    let c = cfg(
        "s3://s3.eu-west-3.amazonaws.com/bkt",
        &[("virtual_host", "false")],
    );
    assert_eq!(c.bucket_url(), "https://s3.eu-west-3.amazonaws.com/bkt");
    // The global endpoint names no region: us-east-1.
    let c = cfg("s3://s3.amazonaws.com/bkt", &[]);
    assert_eq!(c.bucket_url(), "https://bkt.s3.us-east-1.amazonaws.com");
}

#[test]
fn other_endpoints_use_path_style_unless_asked() {
    let c = cfg("s3://h:9000/bkt", &[("use_tls", "no")]);
    assert_eq!(c.bucket_url(), "http://h:9000/bkt");
    let c = cfg("s3://h:9000/bkt", &[("virtual_host", "yes")]);
    assert_eq!(c.bucket_url(), "https://bkt.h:9000");
}

#[test]
fn the_timeout_is_30_seconds_unless_given_in_seconds() {
    assert_eq!(cfg("s3://h/bkt", &[]).timeout, Duration::from_secs(30));
    assert_eq!(
        cfg("s3://h/bkt", &[("timeout", "5")]).timeout,
        Duration::from_secs(5)
    );
    let e = cfg_err("s3://h/bkt", &[("timeout", "5s")]);
    assert!(
        e.contains("@test: option timeout must be a number of seconds"),
        "{e}"
    );
}

#[test]
fn an_sse_error_stops_the_config() {
    let e = cfg_err("s3://h/bkt", &[("sse", "rot13")]);
    assert!(e.contains("sse=rot13 is not known"), "{e}");
    assert!(cfg("s3://h/bkt", &[("sse", "AES256")]).sse.is_some());
    assert!(cfg("s3://h/bkt", &[]).sse.is_none());
}

#[test]
fn narrowing_joins_prefixes_without_stray_slashes() {
    let whole = cfg("s3://h/bkt", &[]);
    assert_eq!(whole.narrowed("a/b").prefix, "a/b");
    assert_eq!(whole.narrowed("").prefix, "");
    let under = cfg("s3://h/bkt/base", &[]);
    assert_eq!(under.narrowed("a").prefix, "base/a");
    assert_eq!(under.narrowed("").prefix, "base");
    assert_eq!(under.narrowed("a").narrowed("b").prefix, "base/a/b");
    assert_eq!(under.narrowed("a").bucket, "bkt");
}

#[test]
fn the_display_location_names_host_bucket_and_prefix_only() {
    assert_eq!(cfg("s3://h:9000/bkt", &[]).display_location(), "h:9000/bkt");
    assert_eq!(
        cfg("s3://h:9000/bkt/p/q", &[]).display_location(),
        "h:9000/bkt/p/q"
    );
    let c = cfg("s3://h/bkt", &[("endpoint", "http://other:1")]);
    assert_eq!(c.display_location(), "other:1/bkt");
    assert!(!c.display_location().contains("SEKRIT"));
}

#[test]
fn explicit_keys_never_show_in_debug_output() {
    let c = cfg("s3://h/bkt", &[("session_token", "TOKENX")]);
    let keys = c.explicit_keys.as_ref().unwrap();
    assert_eq!((keys.id.as_str(), keys.secret.as_str()), ("AKID", "SEKRIT"));
    assert_eq!(keys.token.as_deref(), Some("TOKENX"));
    assert_eq!(format!("{keys:?}"), "Keys(..)");
}

#[test]
fn the_whole_config_never_shows_a_secret_in_debug_output() {
    let hex_key = "ab".repeat(32);
    let c = cfg(
        "s3://h/bkt",
        &[
            ("session_token", "TOKENX"),
            ("sse_customer_key", &hex_key),
            ("endpoint", "https://h:9000"),
        ],
    );
    let shown = format!("{c:?}");
    for secret in ["AKID", "SEKRIT", "TOKENX", hex_key.as_str()] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("bkt") && shown.contains("https://h:9000"),
        "{shown}"
    );
}

#[test]
fn options_are_kept_for_later_lookups() {
    let c = cfg("s3://h/bkt", &[("storage_class", "STANDARD_IA")]);
    assert_eq!(c.option("storage_class"), Some("STANDARD_IA"));
    assert_eq!(c.option("concurrency"), None);
}

/// A self-signed certificate (`openssl req -x509`), good until 2125.
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBgzCCASmgAwIBAgIUaI2Z4mW/3KAbKVAZPILry7ZizOEwCgYIKoZIzj0EAwIw\nFjEUMBIGA1UEAwwLa2xvc2V0LXRlc3QwIBcNMjYxMjAxMjIwNTUxWhgPMjEyNjEx\nMDcyMjA1NTFaMBYxFDASBgNVBAMMC2tsb3NldC10ZXN0MFkwEwYHKoZIzj0CAQYI\nKoZIzj0DAQcDQgAEqfsKzCGf52LRBzIEA3O7Y3OPuuZBCMnnPH6CTgP8a5hmdY6t\nfinDM3e9SmMsP/szdHIfCVn9rvNkjhQfx6MPUKNTMFEwHQYDVR0OBBYEFOHBcYKu\nzIfQG1FpauLV2wVVRJpYMB8GA1UdIwQYMBaAFOHBcYKuzIfQG1FpauLV2wVVRJpY\nMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAKn1GQKU9Y0l4OVd\nvDJMHeaxgx9SzZUUiaPl4AKEnAA/AiB2z0rqB207tf0QEr6D0YsMu59MzymoseYW\nwEHGCr+Q4Q==\n-----END CERTIFICATE-----\n";

#[test]
fn a_ca_cert_must_exist_and_be_pem() {
    let e = cfg("s3://h/bkt", &[("ca_cert", "/nonexistent/ca.pem")])
        .client_options()
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read ca_cert /nonexistent/ca.pem"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ca.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let path = bad.to_str().unwrap();
    let e = cfg("s3://h/bkt", &[("ca_cert", path)])
        .client_options()
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a PEM certificate"), "{e}");
    // A real certificate, alone or in a bundle, is taken.
    let good = dir.path().join("good.pem");
    std::fs::write(&good, TEST_CA).unwrap();
    let path = good.to_str().unwrap();
    assert!(cfg("s3://h/bkt", &[("ca_cert", path)])
        .client_options()
        .is_ok());
    std::fs::write(&good, format!("{TEST_CA}{TEST_CA}")).unwrap();
    let c = cfg("s3://h/bkt", &[("ca_cert", path)]);
    assert!(c.client_options().is_ok());
    assert!(c.bucket_client().is_ok());
}

#[test]
fn a_client_builds_without_contacting_the_server() {
    let c = cfg(
        "s3://127.0.0.1:1/bkt/p",
        &[("use_tls", "false"), ("sse", "AES256")],
    );
    assert!(c.bucket_client().is_ok());
    assert!(c.object_store().is_ok());
    let locked = cfg("s3://127.0.0.1:1/bkt", &[("object_lock_days", "7")]);
    assert!(locked.bucket_client().is_ok());
}

#[test]
fn retries_are_bounded() {
    let c = cfg("s3://h/bkt", &[]);
    assert!(c.retry.attempts > 1 && c.retry.attempts <= 10);
    assert!(c.retry.max <= Duration::from_secs(120));
}
