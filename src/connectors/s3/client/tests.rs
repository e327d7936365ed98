use super::listing::unencoded;
use super::*;

#[test]
fn listed_keys_decode_as_botocore_decodes_them() {
    assert_eq!(url_decode("pct%20name").as_deref(), Some("pct name"));
    assert_eq!(url_decode("a+b.txt").as_deref(), Some("a b.txt"));
    assert_eq!(url_decode("a%2Bb.txt").as_deref(), Some("a+b.txt"));
    assert_eq!(url_decode("100%25.csv").as_deref(), Some("100%.csv"));
    assert_eq!(url_decode("a%2F%2Fb/").as_deref(), Some("a//b/"));
    assert_eq!(
        url_decode("%ED%95%9C%EA%B8%80/x").as_deref(),
        Some("\u{d55c}\u{ae00}/x")
    );
    assert_eq!(url_decode("cr%0Dlf").as_deref(), Some("cr\rlf"));
    assert_eq!(
        url_decode("plain/key-1.txt").as_deref(),
        Some("plain/key-1.txt")
    );
    assert_eq!(url_decode("bad%FF"), None);
}

#[test]
fn a_page_is_taken_as_encoded_unless_it_holds_what_no_encoder_leaves_raw() {
    assert!(!unencoded(
        ["pct%20name", "a+b", "100%25", "x/y"].into_iter()
    ));
    assert!(!unencoded(std::iter::empty()));
    assert!(unencoded(["a%2Bb", "with space"].into_iter()));
    assert!(unencoded(["caf\u{e9}"].into_iter()));
    assert!(unencoded(["line\nfeed"].into_iter()));
}
