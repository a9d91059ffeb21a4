//! The audit trail's vocabulary: what an admin did to which resource, and
//! the field-level difference it made.
//!
//! A resource enters the trail as a JSON *snapshot* of its content in the
//! API's own field names (the API builds it; identity, version and
//! timestamps are not content and never appear). [`diff`] turns two
//! snapshots into the list of changed fields an auditor reads: objects are
//! compared field by field, anything else (strings, numbers, arrays) as one
//! value — a reordered list of SCEP URLs is one change, not one per index.

use std::{collections::BTreeSet, fmt};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One changed field: its JSON Pointer (RFC 6901) in the resource's
/// snapshot, and its value before and after (absent: the field did not exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// E.g. `/subjectNameFormatString`; `/members/{id}` for a group member.
    pub path: String,
    /// `null` when the field was added.
    pub before: Option<Value>,
    /// `null` when the field was removed.
    pub after: Option<Value>,
}

impl Change {
    /// A change of one field from `before` to `after`.
    pub fn new(path: impl Into<String>, before: Option<Value>, after: Option<Value>) -> Self {
        Self {
            path: path.into(),
            before,
            after,
        }
    }
}

/// The changes that turn snapshot `before` into `after`; `None` stands for
/// "does not exist" (a create has no before, a delete no after). A field
/// that is `null` on both sides of a create or delete is left out: it says
/// nothing an auditor needs.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let mut changes = Vec::new();
    diff_at(&mut String::new(), before, after, &mut changes);
    changes
}

fn diff_at(path: &mut String, before: Option<&Value>, after: Option<&Value>, changes: &mut Vec<Change>) {
    let before = before.filter(|value| !value.is_null());
    let after = after.filter(|value| !value.is_null());
    match (before, after) {
        (Some(Value::Object(before)), Some(Value::Object(after))) => {
            diff_objects(path, Some(before), Some(after), changes)
        }
        (Some(Value::Object(before)), None) => diff_objects(path, Some(before), None, changes),
        (None, Some(Value::Object(after))) => diff_objects(path, None, Some(after), changes),
        (before, after) if before == after => {}
        (before, after) => changes.push(Change::new(
            if path.is_empty() {
                "/".to_owned()
            } else {
                path.clone()
            },
            before.cloned(),
            after.cloned(),
        )),
    }
}

/// Field by field, in the keys' order (sorted: one entry reads the same every time).
fn diff_objects(
    path: &mut String,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    changes: &mut Vec<Change>,
) {
    let keys: BTreeSet<&String> = before.into_iter().chain(after).flat_map(Map::keys).collect();
    for key in keys {
        let length = path.len();
        path.push('/');
        push_escaped(path, key);
        diff_at(
            path,
            before.and_then(|object| object.get(key)),
            after.and_then(|object| object.get(key)),
            changes,
        );
        path.truncate(length);
    }
}

/// One reference token of a JSON Pointer: `~` and `/` escaped (RFC 6901 §3).
fn push_escaped(path: &mut String, token: &str) {
    for character in token.chars() {
        match character {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            other => path.push(other),
        }
    }
}

/// A JSON Pointer to member `token` of `parent` (`""` for the root).
pub fn pointer(parent: &str, token: &str) -> String {
    let mut path = parent.to_owned();
    path.push('/');
    push_escaped(&mut path, token);
    path
}

/// What an admin did. The wire names are the `action` filter's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum AuditAction {
    Create,
    Replace,
    Delete,
    /// A profile assigned to a group (include or exclude).
    Assign,
    /// An assignment removed.
    Unassign,
    AddMembers,
    RemoveMember,
    /// A device credential issued (the secret itself is never recorded).
    IssueCredential,
    RevokeCredentials,
    /// An issued certificate queued for revocation by hand.
    RevokeCertificate,
    /// A bulk import: one entry with its counts.
    Import,
}

impl AuditAction {
    pub const ALL: [AuditAction; 11] = [
        Self::Create,
        Self::Replace,
        Self::Delete,
        Self::Assign,
        Self::Unassign,
        Self::AddMembers,
        Self::RemoveMember,
        Self::IssueCredential,
        Self::RevokeCredentials,
        Self::RevokeCertificate,
        Self::Import,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Replace => "replace",
            Self::Delete => "delete",
            Self::Assign => "assign",
            Self::Unassign => "unassign",
            Self::AddMembers => "addMembers",
            Self::RemoveMember => "removeMember",
            Self::IssueCredential => "issueCredential",
            Self::RevokeCredentials => "revokeCredentials",
            Self::RevokeCertificate => "revokeCertificate",
            Self::Import => "import",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuditAction {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
            .ok_or_else(|| format!("unknown audit action {value:?}"))
    }
}

/// The kind of resource an entry is about. The wire names are the
/// `resourceType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ResourceType {
    TrustedCertificateProfile,
    ScepCertificateProfile,
    User,
    Device,
    Group,
    /// An issued certificate (revoked by hand).
    Certificate,
    /// A bulk import of users, devices and memberships.
    Import,
}

impl ResourceType {
    pub const ALL: [ResourceType; 7] = [
        Self::TrustedCertificateProfile,
        Self::ScepCertificateProfile,
        Self::User,
        Self::Device,
        Self::Group,
        Self::Certificate,
        Self::Import,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TrustedCertificateProfile => "trustedCertificateProfile",
            Self::ScepCertificateProfile => "scepCertificateProfile",
            Self::User => "user",
            Self::Device => "device",
            Self::Group => "group",
            Self::Certificate => "certificate",
            Self::Import => "import",
        }
    }
}

impl std::str::FromStr for ResourceType {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| format!("unknown resource type {value:?}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_replacement_lists_only_the_fields_that_changed() {
        let before = json!({"displayName": "A", "keySize": 2048, "urls": ["x"], "nested": {"a": 1, "b": 2}});
        let after =
            json!({"displayName": "B", "keySize": 2048, "urls": ["x", "y"], "nested": {"a": 1, "b": 3}});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            vec![
                Change::new("/displayName", Some(json!("A")), Some(json!("B"))),
                Change::new("/nested/b", Some(json!(2)), Some(json!(3))),
                Change::new("/urls", Some(json!(["x"])), Some(json!(["x", "y"]))),
            ]
        );
    }

    #[test]
    fn fields_set_or_cleared_have_no_value_on_the_missing_side() {
        let before = json!({"mail": null, "description": "old"});
        let after = json!({"mail": "jane@contoso.com", "description": null, "externalId": "E1"});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            vec![
                Change::new("/description", Some(json!("old")), None),
                Change::new("/externalId", None, Some(json!("E1"))),
                Change::new("/mail", None, Some(json!("jane@contoso.com"))),
            ]
        );
    }

    #[test]
    fn a_create_lists_every_set_field_and_a_delete_every_field_it_had() {
        let snapshot = json!({"displayName": "Jane", "mail": null, "settings": {"keySize": 2048}});
        let created = vec![
            Change::new("/displayName", None, Some(json!("Jane"))),
            Change::new("/settings/keySize", None, Some(json!(2048))),
        ];
        assert_eq!(diff(None, Some(&snapshot)), created);
        let deleted: Vec<Change> = created
            .into_iter()
            .map(|change| Change::new(change.path, change.after, None))
            .collect();
        assert_eq!(diff(Some(&snapshot), None), deleted);
    }

    #[test]
    fn equal_snapshots_have_no_changes() {
        let snapshot = json!({"a": [1, 2], "b": {"c": null}});
        assert!(diff(Some(&snapshot), Some(&snapshot.clone())).is_empty());
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let before = json!({"a/b": 1, "c~d": 1});
        let after = json!({"a/b": 2, "c~d": 2});
        let paths: Vec<String> = diff(Some(&before), Some(&after))
            .into_iter()
            .map(|change| change.path)
            .collect();
        assert_eq!(paths, ["/a~1b", "/c~0d"]);
        assert_eq!(pointer("/members", "x/y"), "/members/x~1y");
    }

    #[test]
    fn a_scalar_root_is_one_change_at_the_root() {
        assert_eq!(
            diff(Some(&json!("pending")), Some(&json!("revoked"))),
            vec![Change::new("/", Some(json!("pending")), Some(json!("revoked")))]
        );
    }

    #[test]
    fn actions_and_resource_types_round_trip_their_wire_names() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
            assert_eq!(serde_json::to_value(action).unwrap(), json!(action.as_str()));
        }
        for kind in ResourceType::ALL {
            assert_eq!(kind.as_str().parse::<ResourceType>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert!("drop".parse::<AuditAction>().is_err());
    }
}
