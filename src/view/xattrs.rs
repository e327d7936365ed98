//! The extended attributes a browsed entry shows: those stored with it, and for an S3 object
//! what S3 keeps beside its bytes, as `user.s3.*` (content type, user metadata, tags, version).

use crate::repo::tree::Node;

/// Name and value of each attribute, stored ones first, in a stable order.
pub fn of(node: &Node) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = node
        .xattrs
        .iter()
        .filter_map(|x| Some((x.name.clone(), hex::decode(&x.value).ok()?)))
        .collect();
    let Some(s3) = &node.s3 else {
        return out;
    };
    let mut put = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            out.push((format!("user.s3.{name}"), v.as_bytes().to_vec()));
        }
    };
    put("key", &Some(s3.key.clone()));
    put("content-type", &s3.content_type);
    put("content-encoding", &s3.content_encoding);
    put("content-disposition", &s3.content_disposition);
    put("content-language", &s3.content_language);
    put("cache-control", &s3.cache_control);
    put("etag", &s3.etag);
    put("last-modified", &s3.last_modified);
    put("storage-class", &s3.storage_class);
    put("version-id", &s3.version_id);
    for (k, v) in &s3.user_metadata {
        out.push((format!("user.s3.meta.{k}"), v.as_bytes().to_vec()));
    }
    for (k, v) in s3.tags.iter().flatten() {
        out.push((format!("user.s3.tag.{k}"), v.as_bytes().to_vec()));
    }
    out
}

/// What a mount shows: `user.*` attributes only. The kernel would act on `security.*`
/// (capabilities), `trusted.*` and ACLs taken from a store, which is not the mount's to grant.
fn mounted(node: &Node) -> impl Iterator<Item = (String, Vec<u8>)> {
    of(node).into_iter().filter(|(n, _)| n.starts_with("user."))
}

/// The value of one attribute a mount shows.
pub fn get(node: &Node, name: &str) -> Option<Vec<u8>> {
    mounted(node).find(|(n, _)| n == name).map(|(_, v)| v)
}

/// `listxattr`'s answer on a mount: each name followed by a NUL.
pub fn name_list(node: &Node) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, _) in mounted(node) {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tree::{NodeKind, S3Meta, Xattr};

    #[test]
    fn stored_attributes_then_s3_metadata_tags_and_version() {
        let mut node = Node::new("a.txt".into(), NodeKind::File);
        node.xattrs.push(Xattr {
            name: "user.color".into(),
            value: hex::encode("blue"),
        });
        node.xattrs.push(Xattr {
            name: "security.capability".into(),
            value: hex::encode("x"),
        });
        let mut s3 = S3Meta {
            key: "dir/a.txt".into(),
            content_type: Some("text/plain".into()),
            version_id: Some("v1".into()),
            ..S3Meta::default()
        };
        s3.user_metadata.insert("owner".into(), "ops".into());
        s3.tags = Some([("env".to_string(), "prod".to_string())].into());
        node.s3 = Some(Box::new(s3));
        let names: Vec<String> = of(&node).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "user.color",
                "security.capability",
                "user.s3.key",
                "user.s3.content-type",
                "user.s3.version-id",
                "user.s3.meta.owner",
                "user.s3.tag.env"
            ]
        );
        assert_eq!(get(&node, "user.color").unwrap(), b"blue");
        assert_eq!(get(&node, "user.s3.tag.env").unwrap(), b"prod");
        assert!(name_list(&node).ends_with(b"user.s3.tag.env\0"));
        assert!(
            get(&node, "security.capability").is_none(),
            "not shown on a mount"
        );
        assert!(!name_list(&node).windows(8).any(|w| w == b"security"));
    }
}
