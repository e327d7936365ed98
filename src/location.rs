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

/// Errors name the location with any userinfo hidden (`redact`).
pub fn parse(text: &str) -> Result<Location> {
    if crate::redact::userinfo_span(text).is_some() {
        return Err(config(format!(
            "'{}': credentials in a location are not used (and would show in shell history and ps): give access_key=... and secret_access_key=@FILE, =!COMMAND or =? instead",
            crate::redact::userinfo(text)
        )));
    }
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

    fn s3(text: &str) -> S3Location {
        match parse(text).unwrap() {
            Location::S3(s) => s,
            other => panic!("{text} parsed as {other:?}"),
        }
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn relative_paths_are_filesystem_locations() {
        assert_eq!(parse("backups").unwrap(), Location::Fs("backups".into()));
        assert_eq!(parse("./b/c").unwrap(), Location::Fs("./b/c".into()));
        // A colon does not make a scheme.
        assert_eq!(parse("c:stuff").unwrap(), Location::Fs("c:stuff".into()));
    }

    #[test]
    fn fs_urls_need_an_absolute_path() {
        assert_eq!(parse("fs:///").unwrap(), Location::Fs("/".into()));
        assert!(err("fs://").contains("fs:///absolute/path"));
        assert!(err("fs://host/x").contains("fs:///absolute/path"));
    }

    #[test]
    fn unknown_schemes_are_named_in_the_error() {
        let e = err("https://example.com/bucket");
        assert!(e.contains("'https://'"), "{e}");
        assert!(
            err("S3://host/bucket").contains("'S3://'"),
            "schemes are lowercase"
        );
    }

    #[test]
    fn location_errors_are_config_errors() {
        for bad in ["", "s3://h", "gs://b/x"] {
            let e = parse(bad).unwrap_err();
            assert!(
                matches!(
                    e.downcast_ref::<crate::error::KlosetError>(),
                    Some(crate::error::KlosetError::Config(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn s3_slashes_around_bucket_and_prefix_are_dropped() {
        let s = s3("s3://h/bucket/");
        assert_eq!((s.bucket.as_str(), s.prefix.as_str()), ("bucket", ""));
        let s = s3("s3://h/bucket/a/b/");
        assert_eq!(s.prefix, "a/b");
        let s = s3("s3://h//bucket//a/");
        assert_eq!((s.bucket.as_str(), s.prefix.as_str()), ("bucket", "a"));
    }

    #[test]
    fn s3_ports_must_be_valid_u16() {
        assert_eq!(s3("s3://h:1/bkt").host, "h:1");
        assert_eq!(s3("s3://h:65535/bkt").host, "h:65535");
        for bad in [
            "s3://h:65536/bkt",
            "s3://h:/bkt",
            "s3://h:-1/bkt",
            "s3://h:80x/bkt",
        ] {
            assert!(err(bad).contains("port"), "{bad}");
        }
    }

    #[test]
    fn s3_needs_a_host() {
        assert!(err("s3:///bucket").contains("no host"));
    }

    #[test]
    fn s3_bucket_names_follow_the_naming_rules() {
        assert_eq!(s3("s3://h/abc").bucket, "abc");
        assert_eq!(s3("s3://h/my.bucket-01").bucket, "my.bucket-01");
        let longest = "b".repeat(63);
        assert_eq!(s3(&format!("s3://h/{longest}")).bucket, longest);
        for bad in ["ab", "Bucket", "my_bucket", "b\u{e9}b", "a b"] {
            assert!(
                err(&format!("s3://h/{bad}")).contains("not a valid bucket name"),
                "{bad}"
            );
        }
        assert!(err(&format!("s3://h/{}", "b".repeat(64))).contains("not a valid bucket name"));
    }

    #[test]
    fn the_prefix_may_hold_any_characters() {
        let s = s3("s3://h/bkt/Team A/2024_x");
        assert_eq!(s.prefix, "Team A/2024_x");
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "/var/backups",
            "relative/dir",
            "s3://h/bkt",
            "s3://127.0.0.1:3900/backups/team-a/x",
        ] {
            let loc = parse(text).unwrap();
            assert_eq!(loc.to_string(), text);
            assert_eq!(parse(&loc.to_string()).unwrap(), loc);
        }
        // Normalised forms print without the scheme or stray slashes.
        assert_eq!(parse("fs:///x").unwrap().to_string(), "/x");
        assert_eq!(parse("s3://h/bkt/p/").unwrap().to_string(), "s3://h/bkt/p");
    }

    #[test]
    fn aws_region_only_for_regional_aws_hosts() {
        let region = |host: &str| s3(&format!("s3://{host}/bkt")).aws_region();
        assert_eq!(
            region("s3.us-east-2.amazonaws.com").as_deref(),
            Some("us-east-2")
        );
        assert_eq!(
            region("s3.eu-west-3.amazonaws.com:443").as_deref(),
            Some("eu-west-3"),
            "a port does not hide the region"
        );
        assert_eq!(region("s3.amazonaws.com"), None);
        assert_eq!(region("s3.dualstack.eu-west-1.amazonaws.com"), None);
        assert_eq!(region("s3.eu-west-1.amazonaws.com.evil.example"), None);
        assert_eq!(region("minio.local:9000"), None);
    }

    #[test]
    fn is_aws_tells_aws_endpoints_from_others() {
        assert!(s3("s3://s3.amazonaws.com/bkt").is_aws());
        assert!(s3("s3://s3.eu-west-3.amazonaws.com/bkt").is_aws());
        assert!(!s3("s3://127.0.0.1:3900/bkt").is_aws());
        assert!(!s3("s3://minio.example.com/bkt").is_aws());
    }
}
