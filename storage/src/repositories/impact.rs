//! Dry runs: what a change would do to devices, measured by making it in a
//! transaction that is then rolled back. The change runs the very statements
//! of the real write, so it is refused for the same reasons (stale version,
//! missing reference, duplicate, unknown member), and nothing of it is ever
//! committed — no version, no revocation, no audit entry.

use async_trait::async_trait;
use scepter_domain::{
    directory::Device,
    impact::ImpactFacts,
    targeting::{Intent, ProfileKind},
    Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use uuid::Uuid;

use crate::{
    Assignment, MembershipChange, NewAuditEntry, RejectedMembers, RevocationScope, StorageError, StoredDevice,
};

/// A change to a profile (of content type `P`) to measure.
#[derive(Debug)]
pub enum ProfileChange<'a, P> {
    Replace { expected_version: i64, profile: &'a P },
    Delete { expected_version: Option<i64> },
    Assign { group_id: Uuid, intent: Intent },
    Unassign { assignment_id: Uuid },
}

pub type ScepProfileChange<'a> = ProfileChange<'a, ScepCertificateProfile>;
pub type TrustedProfileChange<'a> = ProfileChange<'a, TrustedCertificateProfile>;

/// An admin write that can change what devices get.
#[derive(Debug)]
pub enum PlannedChange<'a> {
    ScepProfile {
        profile_id: Uuid,
        change: ScepProfileChange<'a>,
    },
    TrustedProfile {
        profile_id: Uuid,
        change: TrustedProfileChange<'a>,
    },
    AddMembers {
        group_id: Uuid,
        member_ids: &'a [Uuid],
    },
    RemoveMember {
        group_id: Uuid,
        member_id: Uuid,
    },
    ReplaceDevice {
        device_id: Uuid,
        expected_version: i64,
        device: &'a Device,
    },
    DeleteDevice {
        device_id: Uuid,
        expected_version: Option<i64>,
    },
    DeleteUser {
        user_id: Uuid,
        expected_version: Option<i64>,
    },
    DeleteGroup {
        group_id: Uuid,
        expected_version: Option<i64>,
    },
}

/// An assignment's creation or removal, whatever the profile's kind.
#[derive(Debug, Clone, Copy)]
pub enum AssignmentChange {
    Assign { group_id: Uuid, intent: Intent },
    Unassign { assignment_id: Uuid },
}

impl<P> From<AssignmentChange> for ProfileChange<'_, P> {
    fn from(change: AssignmentChange) -> Self {
        match change {
            AssignmentChange::Assign { group_id, intent } => Self::Assign { group_id, intent },
            AssignmentChange::Unassign { assignment_id } => Self::Unassign { assignment_id },
        }
    }
}

impl PlannedChange<'_> {
    /// `change` to the assignments of the profile `profile_id` of `kind`.
    pub fn assignment(kind: ProfileKind, profile_id: Uuid, change: AssignmentChange) -> Self {
        match kind {
            ProfileKind::TrustedCertificate => Self::TrustedProfile {
                profile_id,
                change: change.into(),
            },
            ProfileKind::ScepCertificate => Self::ScepProfile {
                profile_id,
                change: change.into(),
            },
        }
    }
}

/// What the write would have returned.
#[derive(Debug, Clone, PartialEq)]
pub enum WouldWrite {
    ScepProfile(Record<ScepCertificateProfile>),
    TrustedProfile(Record<TrustedCertificateProfile>),
    Assignment(Assignment),
    Device(Record<StoredDevice>),
    Members(MembershipChange),
    /// The members the request names that are unknown or of the wrong kind:
    /// the real call is refused (and so is the dry run, with the same answer).
    RejectedMembers(RejectedMembers),
    /// A delete.
    Nothing,
}

/// A measured change: its facts for [`scepter_domain::impact::device_impacts`], and its result.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredChange {
    pub facts: ImpactFacts,
    pub written: WouldWrite,
}

#[async_trait]
pub trait ImpactRepository: Send + Sync {
    /// Makes `change` in a transaction (recording `audit` as the real write
    /// would), measures it, and rolls it back. The profiles measured are
    /// those within the change's reach: for a profile change, the profile
    /// (and for a root, the SCEP profiles rooted in it) on every device; for
    /// a group delete, what the group's assignments bring; for a change to
    /// members, a device or a user, every profile on the devices concerned.
    /// `revocations_after` is what the real call queues after the write (the
    /// caller decides it, for the real call and the rehearsal alike); the
    /// certificates it would take are counted.
    async fn measure_change(
        &self,
        change: PlannedChange<'_>,
        audit: &NewAuditEntry,
        revocations_after: Option<RevocationScope>,
    ) -> Result<MeasuredChange, StorageError>;
}
