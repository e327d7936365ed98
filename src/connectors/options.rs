//! Which `key=value` options each connector accepts, and which of them are secrets.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::error::config;
use crate::location::{self, Location};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Source,
    Store,
    Destination,
}

impl Role {
    pub fn noun(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Store => "store",
            Role::Destination => "destination",
        }
    }
}

pub const SECRET_KEYS: &[&str] = &[
    "access_key",
    "secret_access_key",
    "passphrase",
    "session_token",
    "sse_customer_key",
];

const S3_KEYS: &[&str] = &[
    "location",
    "access_key",
    "secret_access_key",
    "session_token",
    "use_tls",
    "region",
    "endpoint",
    "virtual_host",
    "tls_insecure_no_verify",
    "ca_cert",
    "storage_class",
    "concurrency",
    "timeout",
    "sse",
    "sse_kms_key_id",
    "sse_customer_key",
];
/// What a bucket source reads beyond current objects.
const S3_SOURCE_KEYS: &[&str] = &["versions", "acls"];
/// How a bucket destination writes ACLs.
const S3_DESTINATION_KEYS: &[&str] = &["acls", "acl_map", "retention"];
const FS_KEYS: &[&str] = &["location", "concurrency"];
const STORE_KEYS: &[&str] = &["passphrase", "passphrase_cmd"];
const S3_STORE_KEYS: &[&str] = &["object_lock_days", "object_lock_mode"];
const BOOL_KEYS: &[&str] = &[
    "use_tls",
    "virtual_host",
    "tls_insecure_no_verify",
    "acls",
    "retention",
];

pub fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// The options as they may be shown: secrets as `********`, URL credentials too.
pub fn masked(options: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    options
        .iter()
        .map(|(k, v)| {
            let shown = if is_secret(k) {
                "********".to_string()
            } else {
                crate::redact::userinfo(v)
            };
            (k.clone(), shown)
        })
        .collect()
}

pub fn valid_keys(role: Role, location: &Location) -> Vec<&'static str> {
    let mut keys: Vec<&str> = match location {
        Location::Fs(_) => FS_KEYS.to_vec(),
        Location::S3(_) => S3_KEYS.to_vec(),
    };
    if matches!(location, Location::S3(_)) {
        match role {
            Role::Source => keys.extend_from_slice(S3_SOURCE_KEYS),
            Role::Destination => keys.extend_from_slice(S3_DESTINATION_KEYS),
            Role::Store => {}
        }
    }
    if role == Role::Store {
        keys.extend_from_slice(STORE_KEYS);
        if matches!(location, Location::S3(_)) {
            keys.extend_from_slice(S3_STORE_KEYS);
        }
    }
    keys
}

/// Checks a whole option set for one connector; errors list the valid keys.
pub fn validate(role: Role, options: &BTreeMap<String, String>) -> Result<Location> {
    let loc_text = options
        .get("location")
        .ok_or_else(|| config(format!("a {} needs location=...", role.noun())))?;
    let location = location::parse(loc_text)?;
    check_keys(role, &location, options)?;
    Ok(location)
}

/// Options given with a location rather than a registry entry (`-o key=value`).
pub fn validate_inline(
    role: Role,
    location: &Location,
    options: &BTreeMap<String, String>,
) -> Result<()> {
    if options.contains_key("location") {
        return Err(config(
            "'-o location=...' is not an option: give the location itself",
        ));
    }
    check_keys(role, location, options)
}

/// S3 credentials may come from the options or from the AWS environment (variables, profile,
/// web identity, instance metadata), so none of them is required here.
fn check_keys(role: Role, location: &Location, options: &BTreeMap<String, String>) -> Result<()> {
    let valid = valid_keys(role, location);
    let kind = match location {
        Location::Fs(_) => "filesystem",
        Location::S3(_) => "s3",
    };
    for (key, value) in options {
        if !valid.contains(&key.as_str()) {
            return Err(config(format!(
                "unknown option '{key}' for a {kind} {}: valid keys are {}",
                role.noun(),
                valid.join(", ")
            )));
        }
        if key == "endpoint" && crate::redact::userinfo_span(value).is_some() {
            return Err(config(format!(
                "endpoint {}: credentials in a URL are not used: give access_key and secret_access_key (=@FILE, =!COMMAND or =?)",
                crate::redact::userinfo(value)
            )));
        }
        if BOOL_KEYS.contains(&key.as_str()) && parse_bool(value).is_none() {
            return Err(config(format!("option {key} must be true or false")));
        }
        if key == "versions" && !["current", "all"].contains(&value.as_str()) {
            return Err(config("option versions must be current or all"));
        }
        if ["concurrency", "timeout"].contains(&key.as_str())
            && value.parse::<usize>().map_or(true, |n| n == 0)
        {
            return Err(config(format!("option {key} must be a positive number")));
        }
    }
    let (has, lacks) = match (
        options.contains_key("access_key"),
        options.contains_key("secret_access_key"),
    ) {
        (true, false) => ("access_key", "secret_access_key"),
        (false, true) => ("secret_access_key", "access_key"),
        _ => return Ok(()),
    };
    Err(config(format!(
        "an s3 {} with {has} needs {lacks} too, or neither (then the AWS environment is used)",
        role.noun()
    )))
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn s3_credentials_are_optional_but_come_in_pairs() {
        let s3 = location::parse("s3://127.0.0.1:3900/bucket").unwrap();
        assert!(validate_inline(Role::Source, &s3, &opts(&[("use_tls", "false")])).is_ok());
        let half = validate_inline(Role::Source, &s3, &opts(&[("access_key", "k")]));
        assert!(half
            .unwrap_err()
            .to_string()
            .contains("needs secret_access_key"));
        let fs = location::parse("/tmp/x").unwrap();
        let wrong = validate_inline(Role::Store, &fs, &opts(&[("use_tls", "false")]));
        assert!(wrong
            .unwrap_err()
            .to_string()
            .contains("unknown option 'use_tls'"));
        let location = validate_inline(Role::Store, &s3, &opts(&[("location", "/x")]));
        assert!(location.is_err());
    }

    fn fs() -> Location {
        location::parse("/srv/x").unwrap()
    }

    fn s3() -> Location {
        location::parse("s3://127.0.0.1:3900/bucket").unwrap()
    }

    fn inline_err(role: Role, loc: &Location, pairs: &[(&str, &str)]) -> String {
        validate_inline(role, loc, &opts(pairs))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn secrets_are_exactly_the_credential_keys() {
        for k in [
            "access_key",
            "secret_access_key",
            "passphrase",
            "session_token",
            "sse_customer_key",
        ] {
            assert!(is_secret(k), "{k}");
        }
        for k in [
            "location",
            "region",
            "endpoint",
            "passphrase_cmd",
            "sse",
            "Passphrase",
        ] {
            assert!(!is_secret(k), "{k}");
        }
    }

    #[test]
    fn every_secret_key_is_a_valid_key_somewhere() {
        let all: Vec<&str> = [fs(), s3()]
            .iter()
            .flat_map(|l| valid_keys(Role::Store, l))
            .collect();
        for k in SECRET_KEYS {
            assert!(
                all.contains(k),
                "{k} can never be set, so never needs masking"
            );
        }
    }

    #[test]
    fn store_keys_only_for_stores_and_object_lock_only_for_s3_stores() {
        let fs_store = valid_keys(Role::Store, &fs());
        assert!(fs_store.contains(&"passphrase") && fs_store.contains(&"passphrase_cmd"));
        assert!(!fs_store.contains(&"object_lock_days"));
        let s3_store = valid_keys(Role::Store, &s3());
        assert!(s3_store.contains(&"object_lock_days") && s3_store.contains(&"object_lock_mode"));
        for role in [Role::Source, Role::Destination] {
            for loc in [fs(), s3()] {
                let keys = valid_keys(role, &loc);
                assert!(!keys.contains(&"passphrase"), "{role:?} {loc}");
                assert!(!keys.contains(&"object_lock_days"), "{role:?} {loc}");
                assert!(keys.contains(&"location") && keys.contains(&"concurrency"));
            }
        }
        assert_eq!(valid_keys(Role::Source, &fs()), ["location", "concurrency"]);
    }

    #[test]
    fn masked_hides_secrets_and_url_credentials() {
        let shown = masked(&opts(&[
            ("passphrase", "hunter2"),
            ("endpoint", "https://u:pw@h"),
            ("region", "eu"),
        ]));
        assert_eq!(shown["passphrase"], "********");
        assert_eq!(shown["endpoint"], "https://********@h");
        assert_eq!(shown["region"], "eu");
    }

    #[test]
    fn an_endpoint_with_credentials_is_refused_without_showing_them() {
        let e = inline_err(Role::Source, &s3(), &[("endpoint", "https://K:S3CR3T@h")]);
        assert!(
            e.contains("credentials in a URL") && !e.contains("S3CR3T"),
            "{e}"
        );
    }

    #[test]
    fn roles_have_nouns() {
        assert_eq!(Role::Source.noun(), "source");
        assert_eq!(Role::Store.noun(), "store");
        assert_eq!(Role::Destination.noun(), "destination");
    }

    #[test]
    fn validate_needs_a_location_and_returns_it_parsed() {
        let e = validate(Role::Store, &opts(&[("passphrase", "x")])).unwrap_err();
        assert!(e.to_string().contains("a store needs location="), "{e}");
        let loc = validate(
            Role::Store,
            &opts(&[("location", "/srv/s"), ("passphrase", "x")]),
        )
        .unwrap();
        assert_eq!(loc, Location::Fs("/srv/s".into()));
        let loc = validate(
            Role::Source,
            &opts(&[("location", "s3://h/bkt/p"), ("region", "r")]),
        )
        .unwrap();
        assert!(matches!(loc, Location::S3(_)));
        assert!(validate(Role::Source, &opts(&[("location", "ftp://x/y")])).is_err());
    }

    #[test]
    fn validate_checks_the_keys_against_the_location_kind() {
        let e = validate(
            Role::Source,
            &opts(&[("location", "/srv/s"), ("region", "eu")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("unknown option 'region' for a filesystem source"),
            "{e}"
        );
        assert!(e.contains("valid keys are location, concurrency"), "{e}");
    }

    #[test]
    fn unknown_s3_key_errors_list_the_valid_keys() {
        let e = inline_err(Role::Destination, &s3(), &[("regoin", "eu")]);
        assert!(
            e.contains("unknown option 'regoin' for a s3 destination"),
            "{e}"
        );
        assert!(e.contains("region") && e.contains("endpoint"), "{e}");
    }

    #[test]
    fn booleans_accept_the_usual_spellings_in_any_case() {
        for t in ["true", "TRUE", "Yes", "1", "on", "ON"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "False", "no", "0", "off", "OFF"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "2", "y", "n", "enabled", " true"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn boolean_options_must_be_booleans() {
        for key in ["use_tls", "virtual_host", "tls_insecure_no_verify"] {
            let e = inline_err(Role::Source, &s3(), &[(key, "maybe")]);
            assert!(
                e.contains(&format!("option {key} must be true or false")),
                "{e}"
            );
            assert!(validate_inline(Role::Source, &s3(), &opts(&[(key, "off")])).is_ok());
        }
    }

    #[test]
    fn concurrency_and_timeout_must_be_positive_numbers() {
        for v in ["0", "-1", "abc", "", "1.5"] {
            let e = inline_err(Role::Source, &s3(), &[("concurrency", v)]);
            assert!(
                e.contains("concurrency must be a positive number"),
                "{v}: {e}"
            );
            let e = inline_err(Role::Source, &s3(), &[("timeout", v)]);
            assert!(e.contains("timeout must be a positive number"), "{v}: {e}");
        }
        assert!(validate_inline(Role::Source, &fs(), &opts(&[("concurrency", "16")])).is_ok());
        assert!(validate_inline(Role::Store, &s3(), &opts(&[("timeout", "30")])).is_ok());
    }

    #[test]
    fn s3_key_pairs_are_checked_both_ways() {
        let e = inline_err(Role::Store, &s3(), &[("secret_access_key", "s")]);
        assert!(
            e.contains("an s3 store with secret_access_key needs access_key too"),
            "{e}"
        );
        let both = opts(&[("access_key", "k"), ("secret_access_key", "s")]);
        assert!(validate_inline(Role::Store, &s3(), &both).is_ok());
        assert!(validate_inline(Role::Store, &s3(), &opts(&[])).is_ok());
    }

    #[test]
    fn option_errors_are_config_errors() {
        let e = validate_inline(Role::Source, &fs(), &opts(&[("nope", "1")])).unwrap_err();
        assert!(matches!(
            e.downcast_ref::<crate::error::KlosetError>(),
            Some(crate::error::KlosetError::Config(_))
        ));
    }
}
