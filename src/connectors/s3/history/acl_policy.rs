//! Which ACLs a restore writes, and with which owners (`acls`, `acl_map`).

use anyhow::Result;

use crate::repo::tree::{S3Acl, S3Grant};

/// The ACL as the destination is told to write it (`acls=false` writes none,
/// `acl_map=OLD=NEW,...` maps canonical user ids):
/// owners and grantees mapped, or None to write no ACL.
pub fn mapped_acl(acl: &S3Acl, policy: &AclPolicy) -> Option<S3Acl> {
    if policy.drop {
        return None;
    }
    let map = |id: &str| {
        policy
            .map
            .iter()
            .find(|(from, _)| from == id)
            .map(|(_, to)| to.clone())
            .unwrap_or_else(|| id.to_string())
    };
    Some(S3Acl {
        owner: acl.owner.as_deref().map(map),
        grants: acl
            .grants
            .iter()
            .map(|g| S3Grant {
                grantee: match g.kind.as_str() {
                    "CanonicalUser" => map(&g.grantee),
                    _ => g.grantee.clone(),
                },
                ..g.clone()
            })
            .collect(),
    })
}

#[derive(Clone, Debug, Default)]
pub struct AclPolicy {
    pub drop: bool,
    pub map: Vec<(String, String)>,
}

impl AclPolicy {
    /// From the destination's `acls` and `acl_map` options.
    pub fn from_options(acls: Option<&str>, map: Option<&str>) -> Result<AclPolicy> {
        let drop = match acls.map(crate::connectors::options::parse_bool) {
            None | Some(Some(true)) => false,
            Some(Some(false)) => true,
            Some(None) => return Err(crate::error::config("option acls must be true or false")),
        };
        let mut pairs = Vec::new();
        for pair in map.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
            let (from, to) = pair.split_once('=').ok_or_else(|| {
                crate::error::config(format!(
                    "option acl_map takes OLD=NEW pairs separated by commas, not '{pair}'"
                ))
            })?;
            pairs.push((from.to_string(), to.to_string()));
        }
        Ok(AclPolicy { drop, map: pairs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_owners_are_mapped_or_dropped_as_told() {
        let acl = S3Acl {
            owner: Some("old".into()),
            grants: vec![
                S3Grant {
                    kind: "CanonicalUser".into(),
                    grantee: "old".into(),
                    permission: "FULL_CONTROL".into(),
                },
                S3Grant {
                    kind: "Group".into(),
                    grantee: "old".into(),
                    permission: "READ".into(),
                },
            ],
        };
        let policy = AclPolicy::from_options(None, Some("old=new,x=y")).unwrap();
        let m = mapped_acl(&acl, &policy).unwrap();
        assert_eq!(m.owner.as_deref(), Some("new"));
        assert_eq!(m.grants[0].grantee, "new");
        assert_eq!(m.grants[1].grantee, "old", "a group URI is not an owner");
        let drop = AclPolicy::from_options(Some("false"), None).unwrap();
        assert!(mapped_acl(&acl, &drop).is_none());
        assert!(AclPolicy::from_options(Some("maybe"), None).is_err());
        assert!(AclPolicy::from_options(None, Some("nopair")).is_err());
    }
}
