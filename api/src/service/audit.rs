//! What the audit trail records of an admin write: who (the caller's
//! [`Actor`]), what (an action on a resource), and how it changed (field
//! differences between two *snapshots*). The store writes the entry in the
//! write's own transaction; this module only builds it.
//!
//! A snapshot is the resource as the API shows it, minus what is not
//! content (id, version, timestamps, what Scepter observed). Certificates
//! appear as their SHA-1 thumbprints, never their bytes, and device secrets
//! have no place in any snapshot.

use chrono::{DateTime, Utc};
use scepter_domain::{
    audit::{diff, AuditAction, Change, ResourceType},
    Record, TrustedCertificateProfile,
};
use scepter_storage::{Actor, NewAuditEntry};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::http::auth::Principal;

/// The fields of a view that identify or time a record rather than describe it.
const NOT_CONTENT: [&str; 6] = [
    "id",
    "version",
    "createdDateTime",
    "lastModifiedDateTime",
    "enrolledDateTime",
    "lastCheckInDateTime",
];

impl Principal {
    /// The caller as its audit entries name it.
    pub fn actor(&self) -> Actor {
        Actor {
            subject: self.subject.clone(),
            role: self.role.as_str().to_owned(),
            request_id: self.request_id,
        }
    }
}

/// The snapshot of `content` through its API view `view`: the view of a
/// record holding it, with the fields in [`NOT_CONTENT`] removed (so the
/// placeholder identity never shows).
pub fn view_snapshot<T, V: Serialize>(content: T, view: impl FnOnce(Record<T>) -> V) -> Value {
    let record = Record {
        id: Uuid::nil(),
        version: 0,
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        modified_at: DateTime::<Utc>::UNIX_EPOCH,
        content,
    };
    let mut snapshot = serde_json::to_value(view(record)).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut snapshot {
        for field in NOT_CONTENT {
            fields.remove(field);
        }
    }
    snapshot
}

/// A trusted profile's snapshot: its settings, and its certificates by thumbprint.
pub fn trusted_profile_snapshot(profile: &TrustedCertificateProfile) -> Value {
    json!({
        "displayName": profile.display_name.as_str(),
        "description": profile.description.as_str(),
        "platform": profile.platform,
        "certFileName": profile.cert_file_name.as_ref().map(|name| name.as_str()),
        "destinationStore": profile.destination_store,
        "trustedRootCertificate": profile.certificate.details().thumbprint_sha1,
        "issuingCertificates": profile
            .issuing_certificates
            .iter()
            .map(|ca| ca.details().thumbprint_sha1.clone())
            .collect::<Vec<_>>(),
    })
}

/// The entry of `action` on a resource of `resource_type` that went from
/// snapshot `before` to `after` (`None`: did not exist).
pub fn entry(
    actor: &Actor,
    action: AuditAction,
    resource_type: ResourceType,
    before: Option<&Value>,
    after: Option<&Value>,
) -> NewAuditEntry {
    NewAuditEntry::new(actor, action, resource_type, diff(before, after))
}

/// An entry whose changes the store completes (ids it assigns, members it adds)
/// or that the caller lists itself.
pub fn entry_with(
    actor: &Actor,
    action: AuditAction,
    resource_type: ResourceType,
    changes: Vec<Change>,
) -> NewAuditEntry {
    NewAuditEntry::new(actor, action, resource_type, changes)
}
