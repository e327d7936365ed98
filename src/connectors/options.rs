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
const FS_KEYS: &[&str] = &["location", "concurrency"];
const STORE_KEYS: &[&str] = &["passphrase", "passphrase_cmd"];
const S3_STORE_KEYS: &[&str] = &["object_lock_days", "object_lock_mode"];
const BOOL_KEYS: &[&str] = &["use_tls", "virtual_host", "tls_insecure_no_verify"];

pub fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

pub fn valid_keys(role: Role, location: &Location) -> Vec<&'static str> {
    let mut keys: Vec<&str> = match location {
        Location::Fs(_) => FS_KEYS.to_vec(),
        Location::S3(_) => S3_KEYS.to_vec(),
    };
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
        if BOOL_KEYS.contains(&key.as_str()) && parse_bool(value).is_none() {
            return Err(config(format!("option {key} must be true or false")));
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
}
