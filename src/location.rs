//! Locations as users write them: `/path`, `fs:///path`, `s3://host[:port]/bucket[/prefix]`.
//! (`@name` references are resolved by the registry into one of these plus options.)

use std::path::PathBuf;

use anyhow::Result;

use crate::error::config;

#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    Fs(PathBuf),
    S3(S3Location),
}

#[derive(Clone, Debug, PartialEq)]
pub struct S3Location {
    /// `host[:port]`
    pub host: String,
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the whole bucket.
    pub prefix: String,
}

impl S3Location {
    /// `s3.<region>.amazonaws.com` names its region.
    pub fn aws_region(&self) -> Option<String> {
        let host = self.host.split(':').next().unwrap_or("");
        let rest = host.strip_prefix("s3.")?.strip_suffix(".amazonaws.com")?;
        (!rest.is_empty() && !rest.contains('.')).then(|| rest.to_string())
    }

    pub fn is_aws(&self) -> bool {
        self.host.ends_with("amazonaws.com")
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Fs(p) => write!(f, "{}", p.display()),
            Location::S3(s) => {
                write!(f, "s3://{}/{}", s.host, s.bucket)?;
                if !s.prefix.is_empty() {
                    write!(f, "/{}", s.prefix)?;
                }
                Ok(())
            }
        }
    }
}

pub fn parse(text: &str) -> Result<Location> {
    if let Some(rest) = text.strip_prefix("s3://") {
        return parse_s3(text, rest).map(Location::S3);
    }
    if let Some(rest) = text.strip_prefix("fs://") {
        if !rest.starts_with('/') {
            return Err(config(format!(
                "malformed location '{text}': expected fs:///absolute/path"
            )));
        }
        return Ok(Location::Fs(PathBuf::from(rest)));
    }
    if let Some((scheme, _)) = text.split_once("://") {
        return Err(config(format!(
            "unsupported location scheme '{scheme}://' in '{text}': use a path, fs:///path or s3://host/bucket[/prefix]"
        )));
    }
    if text.is_empty() {
        return Err(config(
            "empty location: use a path, fs:///path or s3://host/bucket[/prefix]",
        ));
    }
    Ok(Location::Fs(PathBuf::from(text)))
}

fn parse_s3(text: &str, rest: &str) -> Result<S3Location> {
    let bad = |why: &str| {
        config(format!(
            "malformed location '{text}': {why}; expected s3://host[:port]/bucket[/prefix]"
        ))
    };
    let (host, path) = rest.split_once('/').ok_or_else(|| bad("no bucket"))?;
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if let Some((_, port)) = host.rsplit_once(':') {
        if port.parse::<u16>().is_err() {
            return Err(bad("the port is not a number"));
        }
    }
    let path = path.trim_matches('/');
    let (bucket, prefix) = match path.split_once('/') {
        Some((b, p)) => (b, p.trim_matches('/')),
        None => (path, ""),
    };
    if bucket.is_empty() {
        return Err(bad("no bucket"));
    }
    if bucket.len() < 3
        || bucket.len() > 63
        || !bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err(bad(&format!("'{bucket}' is not a valid bucket name")));
    }
    Ok(S3Location {
        host: host.to_string(),
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms() {
        assert_eq!(
            parse("/var/backups").unwrap(),
            Location::Fs("/var/backups".into())
        );
        assert_eq!(parse("fs:///var/b").unwrap(), Location::Fs("/var/b".into()));
        let Location::S3(s) = parse("s3://127.0.0.1:3900/backups/team-a/x").unwrap() else {
            panic!()
        };
        assert_eq!(
            (s.host.as_str(), s.bucket.as_str(), s.prefix.as_str()),
            ("127.0.0.1:3900", "backups", "team-a/x")
        );
        let Location::S3(aws) = parse("s3://s3.eu-west-3.amazonaws.com/b-1").unwrap() else {
            panic!()
        };
        assert_eq!(aws.aws_region().as_deref(), Some("eu-west-3"));
        for bad in [
            "s3://",
            "s3://host",
            "s3://host/",
            "s3://h:x/b",
            "s3://h/B_ad",
            "ftp://x/y",
            "fs://relative/path",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
