//! Credentials out of text shown to people: the userinfo of URLs (`s3://KEY:SECRET@host/b` shows as `s3://********@host/b`).
//!
//! Applied where a location or URL is put into a message and once more to every message that
//! reaches the top (`exit_code_and_message`), since the HTTP stack's errors carry URLs too.
//! Secret keys often hold `/` (AWS's do), which a URL would need percent-encoded but a person
//! types as it is: `KEY:SE/CRET@host` counts as userinfo too. A path with `:` and `@` in it
//! may be hidden as well; hiding too much in a message is the safe side.

use std::ops::Range;

pub const HIDDEN: &str = "********";

/// Where, in a URL starting at `after_scheme` (just past `://`), its userinfo is: up to and
/// excluding the `@` that ends it.
fn userinfo_in(token: &str) -> Option<Range<usize>> {
    let authority_end = token.find('/').unwrap_or(token.len());
    if let Some(at) = token[..authority_end].rfind('@') {
        return Some(0..at);
    }
    let at = token.find('@')?;
    (authority_end > 0 && token[..at].contains(':')).then_some(0..at)
}

/// The range of the first userinfo in `text`, if any (for locations: one URL).
pub fn userinfo_span(text: &str) -> Option<Range<usize>> {
    let start = text.find("://")? + 3;
    let token_end = token_end(text, start);
    userinfo_in(&text[start..token_end]).map(|r| start + r.start..start + r.end)
}

fn token_end(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>'))
        .map_or(text.len(), |i| from + i)
}

/// Every URL's userinfo replaced by `HIDDEN`.
pub fn userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = i + 3;
        let end = token_end(rest, start);
        out.push_str(&rest[..start]);
        let token = &rest[start..end];
        match userinfo_in(token) {
            Some(r) => {
                out.push_str(HIDDEN);
                out.push_str(&token[r.end..]);
            }
            None => out.push_str(token),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden_wherever_a_url_is() {
        assert_eq!(
            userinfo("cannot reach s3://KEY:SECRET@127.0.0.1:1/b: refused"),
            "cannot reach s3://********@127.0.0.1:1/b: refused"
        );
        assert_eq!(
            userinfo("'https://u:p@h/x' and http://a@b/c"),
            "'https://********@h/x' and http://********@b/c"
        );
        assert_eq!(userinfo("s3://K:se@cret@host/b"), "s3://********@host/b");
    }

    #[test]
    fn a_secret_with_a_slash_is_hidden_too() {
        let shown = userinfo("malformed location 's3://AKIA:ab/cd+ef@host/b'");
        assert!(
            !shown.contains("ab/cd") && !shown.contains("AKIA"),
            "{shown}"
        );
    }

    #[test]
    fn text_without_userinfo_is_unchanged() {
        for t in [
            "plain",
            "s3://127.0.0.1:3900/bkt/p",
            "https://h/x@y",
            "mail a@b: no url",
            "fs:///srv/a:b@c",
            "",
        ] {
            assert_eq!(userinfo(t), t);
        }
        assert_eq!(userinfo_span("s3://h/b"), None);
        assert_eq!(userinfo_span("s3://k:s@h/b"), Some(5..8));
    }
}
