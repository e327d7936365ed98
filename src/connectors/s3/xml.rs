//! The XML bodies of the S3 API that kloset reads and writes.

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPage {
    #[serde(default)]
    pub is_truncated: bool,
    #[serde(default)]
    pub next_continuation_token: Option<String>,
    #[serde(default)]
    pub contents: Vec<ListEntry>,
    /// `url` when the server percent-encoded keys and prefixes as asked.
    #[serde(default)]
    pub encoding_type: Option<String>,
    /// With a delimiter: the "folders" one level down.
    #[serde(default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommonPrefix {
    pub prefix: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEntry {
    pub key: String,
    pub size: u64,
    #[serde(default, rename = "ETag")]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    #[serde(default)]
    pub storage_class: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tagging {
    #[serde(default)]
    pub tag_set: TagSet,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TagSet {
    #[serde(default)]
    pub tag: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitiateUpload {
    pub upload_id: String,
}

/// An XML element read whole: for answers whose order matters across element names (a
/// version listing interleaves `Version` and `DeleteMarker`) or that serde reads awkwardly.
/// Text is taken as sent: no line-ending normalisation.
#[derive(Debug, Default, PartialEq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child of that name.
    pub fn field(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.clone())
    }
}

const MAX_DEPTH: usize = 32;

/// Parses a whole XML document into its root element (local names, namespaces dropped).
pub fn parse_element(body: &[u8]) -> Result<Element, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut buf = Vec::new();
    let name_of = |n: &[u8]| String::from_utf8_lossy(n).into_owned();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?;
        match event {
            // S3 answers nest a few levels: a deep document is hostile, not parsed.
            Event::Start(_) if stack.len() >= MAX_DEPTH => {
                return Err(format!("elements nested deeper than {MAX_DEPTH}"))
            }
            Event::Start(e) => stack.push(Element {
                name: name_of(e.local_name().as_ref()),
                ..Element::default()
            }),
            Event::Empty(e) => {
                let el = Element {
                    name: name_of(e.local_name().as_ref()),
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?
                            .to_string()
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("an end tag without a start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Eof => return Err("the document ends early".into()),
            _ => {}
        }
        buf.clear();
    }
}

pub fn xml_field(body: &[u8], field: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let open = format!("<{field}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{field}>"))? + start;
    Some(text[start..end].to_string())
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_page_reads_keys_sizes_and_the_continuation() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bkt</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>tok/en==</NextContinuationToken>
  <Contents><Key>p/a &amp; b.txt</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>GLACIER</StorageClass></Contents>
  <Contents><Key>p/c</Key><Size>0</Size></Contents>
</ListBucketResult>"#;
        let page: ListPage = quick_xml::de::from_reader(&body[..]).unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.next_continuation_token.as_deref(), Some("tok/en=="));
        assert_eq!(page.contents.len(), 2);
        let a = &page.contents[0];
        assert_eq!(a.key, "p/a & b.txt");
        assert_eq!(a.size, 12);
        assert_eq!(a.etag.as_deref(), Some("\"abc\""));
        assert_eq!(a.storage_class.as_deref(), Some("GLACIER"));
        assert_eq!(a.last_modified.as_deref(), Some("2024-01-01T00:00:00.000Z"));
        let c = &page.contents[1];
        assert_eq!((c.key.as_str(), c.size), ("p/c", 0));
        assert!(c.etag.is_none() && c.storage_class.is_none());
    }

    #[test]
    fn an_empty_list_page_has_no_contents_and_is_not_truncated() {
        let body =
            br#"<ListBucketResult><Name>bkt</Name><KeyCount>0</KeyCount></ListBucketResult>"#;
        let page: ListPage = quick_xml::de::from_reader(&body[..]).unwrap();
        assert!(!page.is_truncated);
        assert!(page.next_continuation_token.is_none());
        assert!(page.contents.is_empty());
    }

    #[test]
    fn a_list_entry_without_a_size_is_an_error() {
        let body = br#"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>"#;
        assert!(quick_xml::de::from_reader::<_, ListPage>(&body[..]).is_err());
    }

    #[test]
    fn tagging_reads_every_tag_and_an_empty_set() {
        let body = br#"<Tagging><TagSet><Tag><Key>kloset</Key><Value>pack</Value></Tag><Tag><Key>b</Key><Value></Value></Tag></TagSet></Tagging>"#;
        let t: Tagging = quick_xml::de::from_reader(&body[..]).unwrap();
        let pairs: Vec<(&str, &str)> = t
            .tag_set
            .tag
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(pairs, [("kloset", "pack"), ("b", "")]);
        let empty: Tagging =
            quick_xml::de::from_reader(&b"<Tagging><TagSet/></Tagging>"[..]).unwrap();
        assert!(empty.tag_set.tag.is_empty());
        let none: Tagging = quick_xml::de::from_reader(&b"<Tagging></Tagging>"[..]).unwrap();
        assert!(none.tag_set.tag.is_empty());
    }

    #[test]
    fn an_initiated_upload_names_its_id() {
        let body = br#"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2Fk</UploadId></InitiateMultipartUploadResult>"#;
        let i: InitiateUpload = quick_xml::de::from_reader(&body[..]).unwrap();
        assert_eq!(i.upload_id, "VXBsb2Fk");
    }

    #[test]
    fn xml_field_finds_the_first_element_of_that_name() {
        let body = b"<Error><Code>NoSuchKey</Code><Message>gone</Message><Code>x</Code></Error>";
        assert_eq!(xml_field(body, "Code").as_deref(), Some("NoSuchKey"));
        assert_eq!(xml_field(body, "Message").as_deref(), Some("gone"));
        assert_eq!(xml_field(b"<A></A>", "A").as_deref(), Some(""));
    }

    #[test]
    fn xml_field_is_none_when_absent_unclosed_or_not_text() {
        assert_eq!(xml_field(b"<Error><Code>X</Code></Error>", "Message"), None);
        assert_eq!(xml_field(b"<Code>unclosed", "Code"), None);
        assert_eq!(xml_field(&[0xff, 0xfe, b'<'], "Code"), None);
        // A longer element name is not the field.
        assert_eq!(xml_field(b"<CodeX>1</CodeX>", "Code"), None);
    }

    #[test]
    fn an_element_keeps_order_across_names_entities_and_line_ends() {
        let body = b"<?xml version=\"1.0\"?><R xmlns=\"x\"><V><K>a&amp;b&#13;c\rd</K></V><D><K>e</K></D><V/></R>";
        let root = parse_element(body).unwrap();
        let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["V", "D", "V"]);
        assert_eq!(root.children[0].field("K").as_deref(), Some("a&b\rc\rd"));
        assert_eq!(root.children_named("V").count(), 2);
        assert!(parse_element(b"<R><V>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse_element(deep.as_bytes()).is_err());
    }

    #[test]
    fn xml_escape_escapes_markup_once() {
        assert_eq!(xml_escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
        assert_eq!(xml_escape("&lt;"), "&amp;lt;");
        assert_eq!(xml_escape("plain/key-1.txt"), "plain/key-1.txt");
    }
}
