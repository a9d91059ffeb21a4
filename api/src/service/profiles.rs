//! The profiles' writes: trusted and SCEP certificate profiles (see
//! [`super::versioned`]), their assignments to groups, and the devices they reach.

use scepter_domain::audit::{AuditAction, ResourceType};
use scepter_domain::{
    targeting::{Intent, ProfileKind},
    Platform, Record, ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext,
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};
use scepter_storage::{
    Actor, Assignment, AssignmentChange, NewAuditEntry, Page, PageRequest, PlannedChange, ProfileChange,
    RevocationScope, StorageError, Store, StoredDevice,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    audit,
    dry_run::{self, DryRun},
    enrollment,
    versioned::{missing_reference, Pending, Versioned},
};
use crate::{error::ApiError, http::dto::ScepCertificateProfileView, state::AppState};

impl Versioned for TrustedCertificateProfile {
    type Draft = TrustedCertificateProfileDraft;
    type Stored = TrustedCertificateProfile;
    const RESOURCE_TYPE: ResourceType = ResourceType::TrustedCertificateProfile;

    async fn validate(
        _: &AppState,
        draft: TrustedCertificateProfileDraft,
        _: Option<&Record<Self>>,
    ) -> Result<Self, ApiError> {
        Ok(TrustedCertificateProfile::parse(draft)?)
    }
    fn snapshot(profile: &Self) -> Value {
        audit::trusted_profile_snapshot(profile)
    }
    fn content(profile: &Self) -> &Self {
        profile
    }
    fn insert<'a>(
        store: &'a dyn Store,
        profile: &'a Self,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Self>> {
        store.insert_trusted_profile(profile, audit)
    }
    fn read(store: &dyn Store, id: Uuid) -> Pending<'_, Option<Record<Self>>> {
        store.trusted_profile(id)
    }
    /// Refused (409) when SCEP profiles of another platform use it.
    fn update<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: i64,
        profile: &'a Self,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Self>> {
        store.update_trusted_profile(id, version, profile, audit)
    }
    /// Refused (409) while a SCEP profile uses it as its root.
    fn delete<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: Option<i64>,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, ()> {
        store.delete_trusted_profile(id, version, audit)
    }
    fn planned_replace(id: Uuid, expected_version: i64, profile: &Self) -> Option<PlannedChange<'_>> {
        Some(PlannedChange::TrustedProfile {
            profile_id: id,
            change: ProfileChange::Replace {
                expected_version,
                profile,
            },
        })
    }
    fn planned_delete(id: Uuid, expected_version: Option<i64>) -> Option<PlannedChange<'static>> {
        Some(PlannedChange::TrustedProfile {
            profile_id: id,
            change: ProfileChange::Delete { expected_version },
        })
    }
}

impl Versioned for ScepCertificateProfile {
    type Draft = ScepCertificateProfileDraft;
    type Stored = ScepCertificateProfile;
    const RESOURCE_TYPE: ResourceType = ResourceType::ScepCertificateProfile;

    /// Validates against the domain rules, with its root profile's platform as context.
    async fn validate(
        state: &AppState,
        draft: ScepCertificateProfileDraft,
        _: Option<&Record<Self>>,
    ) -> Result<Self, ApiError> {
        let root = state.store.trusted_profile(draft.root_certificate_id).await?;
        let context = ScepProfileContext {
            allow_http_scep_urls: state.policy.allow_http_scep_urls,
            root_platform: root.map(|record| record.content.platform),
        };
        Ok(ScepCertificateProfile::parse(draft, &context)?)
    }
    fn snapshot(profile: &Self) -> Value {
        audit::view_snapshot(profile.clone(), |record| {
            ScepCertificateProfileView::from(&record)
        })
    }
    fn content(profile: &Self) -> &Self {
        profile
    }
    fn insert<'a>(
        store: &'a dyn Store,
        profile: &'a Self,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Self>> {
        store.insert_scep_profile(profile, audit)
    }
    fn read(store: &dyn Store, id: Uuid) -> Pending<'_, Option<Record<Self>>> {
        store.scep_profile(id)
    }
    fn update<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: i64,
        profile: &'a Self,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Self>> {
        store.update_scep_profile(id, version, profile, audit)
    }
    fn delete<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: Option<i64>,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, ()> {
        store.delete_scep_profile(id, version, audit)
    }
    /// The root profile was deleted between validation and write.
    fn write_error(error: StorageError) -> ApiError {
        missing_reference(
            error,
            "rootCertificateId",
            "does not name an existing trusted certificate profile",
        )
    }
    /// A new platform or certificate type can stop the profile reaching devices.
    fn revocations_after_replace(id: Uuid) -> Option<RevocationScope> {
        Some(RevocationScope::Profile(id))
    }
    fn revocations_after_delete(id: Uuid) -> Option<RevocationScope> {
        Some(RevocationScope::Profile(id))
    }
    fn planned_replace(id: Uuid, expected_version: i64, profile: &Self) -> Option<PlannedChange<'_>> {
        Some(PlannedChange::ScepProfile {
            profile_id: id,
            change: ProfileChange::Replace {
                expected_version,
                profile,
            },
        })
    }
    fn planned_delete(id: Uuid, expected_version: Option<i64>) -> Option<PlannedChange<'static>> {
        Some(PlannedChange::ScepProfile {
            profile_id: id,
            change: ProfileChange::Delete { expected_version },
        })
    }
}

/// Assigns a profile to a group; excluding a group from a SCEP profile
/// queues the revocation of what it no longer reaches.
pub async fn assign(
    state: &AppState,
    actor: &Actor,
    kind: ProfileKind,
    profile_id: Uuid,
    group_id: Uuid,
    intent: Intent,
) -> Result<Assignment, ApiError> {
    // The store adds the change: the assignment's id is its own.
    let audit = audit::entry_with(actor, AuditAction::Assign, resource_type(kind), Vec::new());
    let assignment = state
        .store
        .insert_assignment(kind, profile_id, group_id, intent, &audit)
        .await
        .map_err(|error| missing_reference(error, "groupId", "does not name an existing group"))?;
    if let Some(scope) = revocations_after_assign(kind, profile_id, intent) {
        enrollment::queue_revocations(state, scope).await;
    }
    Ok(assignment)
}

/// Removes an assignment; for a SCEP profile, queues the revocations that can follow.
pub async fn unassign(
    state: &AppState,
    actor: &Actor,
    kind: ProfileKind,
    profile_id: Uuid,
    assignment_id: Uuid,
) -> Result<(), ApiError> {
    let audit = audit::entry_with(actor, AuditAction::Unassign, resource_type(kind), Vec::new());
    state
        .store
        .delete_assignment(kind, profile_id, assignment_id, &audit)
        .await?;
    if let Some(scope) = revocations_after_unassign(kind, profile_id) {
        enrollment::queue_revocations(state, scope).await;
    }
    Ok(())
}

/// Only an exclusion from a SCEP profile can take a certificate's profile
/// away (a root's reach does not decide revocations: targeting rules 1–4 do).
fn revocations_after_assign(kind: ProfileKind, profile_id: Uuid, intent: Intent) -> Option<RevocationScope> {
    match intent {
        Intent::Exclude => revocations_after_unassign(kind, profile_id),
        Intent::Include => None,
    }
}

fn revocations_after_unassign(kind: ProfileKind, profile_id: Uuid) -> Option<RevocationScope> {
    (kind == ProfileKind::ScepCertificate).then_some(RevocationScope::Profile(profile_id))
}

/// A dry run of [`assign`].
pub async fn assign_dry_run(
    state: &AppState,
    actor: &Actor,
    kind: ProfileKind,
    profile_id: Uuid,
    group_id: Uuid,
    intent: Intent,
    devices: PageRequest,
) -> Result<DryRun, ApiError> {
    let audit = audit::entry_with(actor, AuditAction::Assign, resource_type(kind), Vec::new());
    let change = PlannedChange::assignment(kind, profile_id, AssignmentChange::Assign { group_id, intent });
    let revocations = revocations_after_assign(kind, profile_id, intent);
    dry_run::measure(state, change, &audit, revocations, devices)
        .await
        .map_err(|error| missing_reference(error, "groupId", "does not name an existing group"))
}

/// A dry run of [`unassign`].
pub async fn unassign_dry_run(
    state: &AppState,
    actor: &Actor,
    kind: ProfileKind,
    profile_id: Uuid,
    assignment_id: Uuid,
    devices: PageRequest,
) -> Result<DryRun, ApiError> {
    let audit = audit::entry_with(actor, AuditAction::Unassign, resource_type(kind), Vec::new());
    let change = PlannedChange::assignment(kind, profile_id, AssignmentChange::Unassign { assignment_id });
    let revocations = revocations_after_unassign(kind, profile_id);
    Ok(dry_run::measure(state, change, &audit, revocations, devices).await?)
}

/// Assignments are recorded as changes of their profile.
fn resource_type(kind: ProfileKind) -> ResourceType {
    match kind {
        ProfileKind::TrustedCertificate => ResourceType::TrustedCertificateProfile,
        ProfileKind::ScepCertificate => ResourceType::ScepCertificateProfile,
    }
}

/// One page of the devices of the profile's platform that the profile reaches; 404 for an unknown profile.
pub async fn targeted_devices(
    state: &AppState,
    kind: ProfileKind,
    profile_id: Uuid,
    page: PageRequest,
) -> Result<Page<Record<StoredDevice>>, ApiError> {
    let platform: Option<Platform> = match kind {
        ProfileKind::TrustedCertificate => {
            let profile = state.store.trusted_profile(profile_id).await?;
            profile.map(|record| record.content.platform)
        }
        ProfileKind::ScepCertificate => {
            let profile = state.store.scep_profile(profile_id).await?;
            profile.map(|record| record.content.platform)
        }
    };
    let platform = platform.ok_or(ApiError::NotFound)?;
    Ok(state
        .store
        .targeted_devices(kind, profile_id, platform, page)
        .await?)
}
