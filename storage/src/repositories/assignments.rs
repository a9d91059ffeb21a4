//! Profile assignments, and the facts targeting decides on.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::{
    targeting::{DeviceMemberships, Intent, ProfileKind, TargetedProfile},
    Platform, Record,
};
use uuid::Uuid;

use crate::{NewAuditEntry, Page, PageRequest, StorageError, StoredDevice};

/// An assignment of a profile to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: Uuid,
    pub profile_kind: ProfileKind,
    pub profile_id: Uuid,
    pub group_id: Uuid,
    pub intent: Intent,
    pub created_at: DateTime<Utc>,
}

/// Profile assignments and the facts targeting decides on.
#[async_trait]
pub trait AssignmentRepository: Send + Sync {
    /// [`StorageError::NotFound`] for an unknown profile, [`StorageError::MissingReference`]
    /// for an unknown group, [`StorageError::Conflict`] when the group is already assigned.
    async fn insert_assignment(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        group_id: Uuid,
        intent: Intent,
        audit: &NewAuditEntry,
    ) -> Result<Assignment, StorageError>;
    async fn list_assignments(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Assignment>, StorageError>;
    async fn delete_assignment(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        assignment_id: Uuid,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;

    /// Every profile assigned to a group the device or its primary user is
    /// in, and those groups (groups without assignments are left out: they
    /// cannot change the outcome); `None` for an unknown device.
    async fn device_targeting_facts(
        &self,
        device_id: Uuid,
    ) -> Result<Option<(DeviceMemberships, Vec<TargetedProfile>)>, StorageError>;

    /// Devices of the profile's platform that the profile reaches and no
    /// exclusion stops (targeting rules 1–3), in id order. The SQL mirrors
    /// `scepter_domain::targeting`; the black-box suite checks they agree.
    async fn targeted_devices(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        platform: Platform,
        page: PageRequest,
    ) -> Result<Page<Record<StoredDevice>>, StorageError>;
}
