//! The repository traits the API depends on, one per aggregate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::{
    checkin::RevokeStatus,
    diagnostics::{DiagnosticCode, EventId},
    directory::{Device, Group, GroupType, User},
    targeting::{DeviceMemberships, Intent, ProfileKind, TargetedProfile},
    Platform, Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use uuid::Uuid;

use crate::{Page, PageRequest, StorageError};

/// Filter of the profile list endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileFilter {
    pub platform: Option<Platform>,
}

/// Trusted certificate profiles.
#[async_trait]
pub trait TrustedProfileRepository: Send + Sync {
    async fn insert_trusted_profile(
        &self,
        profile: &TrustedCertificateProfile,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    async fn trusted_profile(
        &self,
        id: Uuid,
    ) -> Result<Option<Record<TrustedCertificateProfile>>, StorageError>;

    async fn list_trusted_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<TrustedCertificateProfile>>, StorageError>;

    /// Replaces the profile if it is still at `expected_version`. Fails with
    /// [`StorageError::Conflict`] when a new platform would no longer suit a
    /// SCEP profile that uses this one as its root.
    async fn update_trusted_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &TrustedCertificateProfile,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    /// Fails with [`StorageError::Conflict`] while a SCEP profile uses it as its root.
    async fn delete_trusted_profile(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), StorageError>;
}

/// SCEP certificate profiles.
#[async_trait]
pub trait ScepProfileRepository: Send + Sync {
    /// Fails with [`StorageError::MissingReference`] when the root profile no longer exists.
    async fn insert_scep_profile(
        &self,
        profile: &ScepCertificateProfile,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn scep_profile(&self, id: Uuid) -> Result<Option<Record<ScepCertificateProfile>>, StorageError>;

    async fn list_scep_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<ScepCertificateProfile>>, StorageError>;

    async fn update_scep_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &ScepCertificateProfile,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn delete_scep_profile(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;
}

/// A device as stored: its attributes and what Scepter observed of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDevice {
    pub device: Device,
    pub last_check_in_at: Option<DateTime<Utc>>,
}

/// Users. UPN (case-insensitive) and `externalId` are unique:
/// a duplicate is [`StorageError::Conflict`].
#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn insert_user(&self, user: &User) -> Result<Record<User>, StorageError>;
    async fn user(&self, id: Uuid) -> Result<Option<Record<User>>, StorageError>;
    async fn list_users(&self, page: PageRequest) -> Result<Page<Record<User>>, StorageError>;
    async fn update_user(
        &self,
        id: Uuid,
        expected_version: i64,
        user: &User,
    ) -> Result<Record<User>, StorageError>;
    /// Removes the user's group memberships and clears it as primary user of its devices.
    async fn delete_user(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;
}

/// Devices. `externalId` is unique; `userId` must name a user ([`StorageError::MissingReference`]).
#[async_trait]
pub trait DeviceRepository: Send + Sync {
    async fn insert_device(&self, device: &Device) -> Result<Record<StoredDevice>, StorageError>;
    async fn device(&self, id: Uuid) -> Result<Option<Record<StoredDevice>>, StorageError>;
    async fn list_devices(&self, page: PageRequest) -> Result<Page<Record<StoredDevice>>, StorageError>;
    async fn update_device(
        &self,
        id: Uuid,
        expected_version: i64,
        device: &Device,
    ) -> Result<Record<StoredDevice>, StorageError>;
    async fn delete_device(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;
}

/// A group member as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub id: Uuid,
    pub member_type: GroupType,
    /// The user's display name or the device's name.
    pub display_name: String,
    pub external_id: Option<String>,
}

/// Why some requested member ids cannot join a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectedMembers {
    /// Ids that name no user and no device.
    pub unknown: Vec<Uuid>,
    /// Ids of the other kind (a device for a user group, or the reverse).
    pub wrong_kind: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipChange {
    pub added: u64,
    /// Already members (adding is idempotent).
    pub unchanged: u64,
}

/// Groups and their members. Deleting a group removes its memberships and assignments.
#[async_trait]
pub trait GroupRepository: Send + Sync {
    async fn insert_group(&self, group: &Group) -> Result<Record<Group>, StorageError>;
    async fn group(&self, id: Uuid) -> Result<Option<Record<Group>>, StorageError>;
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Record<Group>>, StorageError>;
    /// The caller checks that the type did not change ([`Group::check_replacement`]).
    async fn update_group(
        &self,
        id: Uuid,
        expected_version: i64,
        group: &Group,
    ) -> Result<Record<Group>, StorageError>;
    async fn delete_group(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;

    /// Adds members in one transaction: all of them, or — when any id is
    /// unknown or of the wrong kind — none, with `Err(Ok(rejected))`.
    async fn add_members(
        &self,
        group_id: Uuid,
        member_ids: &[Uuid],
    ) -> Result<Result<MembershipChange, RejectedMembers>, StorageError>;
    /// [`StorageError::NotFound`] when the id is not a member.
    async fn remove_member(&self, group_id: Uuid, member_id: Uuid) -> Result<(), StorageError>;
    async fn list_members(
        &self,
        group_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<GroupMember>, StorageError>;
}

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

/// A stored device credential: whose it is and the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub device_id: Uuid,
    pub secret_digest: Vec<u8>,
    pub revoked: bool,
    /// The database's state generation when the credential was read: it
    /// moves on every change a check-in depends on (migration 0006), so a
    /// check-in may reuse facts it cached at the same generation.
    pub state_generation: i64,
}

/// Credentials devices authenticate with (only digests of their secrets).
#[async_trait]
pub trait DeviceCredentialRepository: Send + Sync {
    /// Revokes the device's credentials and stores a new one, in one
    /// transaction; [`StorageError::NotFound`] for an unknown device.
    async fn replace_device_credential(
        &self,
        device_id: Uuid,
        credential_id: Uuid,
        secret_digest: &[u8],
    ) -> Result<(), StorageError>;
    /// Revokes every credential of the device; [`StorageError::NotFound`] for an unknown device.
    async fn revoke_device_credentials(&self, device_id: Uuid) -> Result<(), StorageError>;
    async fn device_credential(&self, credential_id: Uuid) -> Result<Option<StoredCredential>, StorageError>;
}

/// A certificate in the ledger of issued certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    pub id: Uuid,
    pub device_id: Uuid,
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub transaction_id: String,
    /// Upper-case hex.
    pub serial_number: String,
    /// Upper-case hex SHA-1 of the DER.
    pub thumbprint_sha1: String,
    /// RFC 4514.
    pub issuer: String,
    /// RFC 4514.
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub revoke_status: RevokeStatus,
    pub revoke_requested_at: Option<DateTime<Utc>>,
    pub revoke_diagnostic_code: Option<u32>,
    pub revoke_message: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Everything a check-in decides on, read together.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInFacts {
    pub device: Record<StoredDevice>,
    pub user: Option<Record<User>>,
    pub memberships: DeviceMemberships,
    pub profiles: Vec<TargetedProfile>,
    /// The device's certificates, newest first.
    pub certificates: Vec<StoredCertificate>,
    /// The device's last enrollment step per profile.
    pub steps: Vec<DeviceStep>,
}

/// [`EnrollmentStep`] of one device for one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceStep {
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub step: EnrollmentStep,
}

/// A certificate request the policy module allowed, awaiting its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScepTransaction {
    pub transaction_id: String,
    pub device_id: Uuid,
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub challenge_id: Uuid,
    pub public_key_sha256: Vec<u8>,
    pub name_digest: Vec<u8>,
    pub verified_at: DateTime<Utc>,
    pub certificate_id: Option<Uuid>,
}

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event: EventId,
    pub diagnostic: DiagnosticCode,
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub certificate_id: Option<Uuid>,
    pub transaction_id: Option<String>,
    /// For operators: why, without secrets.
    pub message: String,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: Uuid,
    pub event_id: u32,
    pub diagnostic_code: u32,
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub certificate_id: Option<Uuid>,
    pub transaction_id: Option<String>,
    pub message: String,
    pub occurred_at: DateTime<Utc>,
}

/// Filter of the event list; every field narrows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub event_id: Option<u32>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// The last enrollment step of a device for a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentStep {
    /// A payload with a challenge was handed out.
    ChallengeIssued,
    /// The policy module denied the request (see the diagnostic code).
    Failed(DiagnosticCode),
}

/// [`EnrollmentStep`] of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProfileState {
    pub device_id: Uuid,
    pub profile_version: i64,
    pub step: EnrollmentStep,
    /// Why it failed (a stable reason code), for `Failed`.
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Which certificates to check when queueing revocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationScope {
    All,
    Profile(Uuid),
    Devices(Vec<Uuid>),
}

/// What the connector reports for one revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationOutcome {
    pub revoked: bool,
    pub diagnostic: DiagnosticCode,
    pub message: Option<String>,
}

/// What [`LifecycleRepository::record_allowed_request`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowedRecord {
    /// The challenge is now used and the request recorded.
    Recorded,
    /// The challenge was already used; nothing was written.
    ChallengeUsed,
    /// The transaction id is bound to another device, profile or key; nothing was written.
    TransactionBound,
}

/// A denied request that says something about a device's enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedRequest<'a> {
    pub device_id: Uuid,
    pub profile_id: Uuid,
    pub profile_version: i64,
    /// The denial's reason as the API names it, e.g. `subjectMismatch`.
    pub reason: &'a str,
    /// When the denied request's challenge was issued.
    pub challenge_issued_at: DateTime<Utc>,
}

/// Check-ins, challenge verification, the certificate ledger, revocations and events.
#[async_trait]
pub trait LifecycleRepository: Send + Sync {
    /// The device, its primary user, its targeting facts and its certificates; `None` for an unknown device.
    async fn check_in_facts(&self, device_id: Uuid) -> Result<Option<CheckInFacts>, StorageError>;

    /// Sets `lastCheckInDateTime` when `touch` (without a new version: it is
    /// an observation, not an admin change) and records `challengeIssued` for
    /// the offered `(profile, version)` pairs. Independent observations, so
    /// written without a transaction; each statement is atomic.
    async fn record_check_in(
        &self,
        device_id: Uuid,
        at: DateTime<Utc>,
        touch: bool,
        offered: &[(Uuid, i64)],
    ) -> Result<(), StorageError>;

    /// Whether the challenge id is in the used-challenge ledger: the policy
    /// denies a replay with this one lookup before it parses anything else.
    async fn challenge_used(&self, challenge_id: Uuid) -> Result<bool, StorageError>;

    /// In one transaction: marks the challenge used, binds the transaction id
    /// to the request's device, profile and public key, and records the
    /// event. Nothing is written unless the outcome is
    /// [`AllowedRecord::Recorded`]. A transaction id already bound to the
    /// same device, profile and key is rebound to the new challenge (a SCEP
    /// client retrying with the same key after its profile changed); bound to
    /// anything else, it is never changed.
    async fn record_allowed_request(
        &self,
        request: &ScepTransaction,
        challenge_expires_at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<AllowedRecord, StorageError>;

    /// Records a denial: the event, and for `failed` a `failed` state with
    /// its reason — unless the device already got a certificate of that
    /// profile since the denied challenge was issued, or its state is for a
    /// newer profile version (a denial never downgrades a later step).
    async fn record_denied_request(
        &self,
        failed: Option<&FailedRequest<'_>>,
        event: &NewEvent,
    ) -> Result<(), StorageError>;

    async fn scep_transaction(&self, transaction_id: &str) -> Result<Option<ScepTransaction>, StorageError>;

    /// In one transaction: stores the certificate, links it to its request
    /// and records the event. [`StorageError::Conflict`] when the serial or
    /// thumbprint is already in the ledger for another request.
    async fn record_issued_certificate(
        &self,
        certificate: &StoredCertificate,
        event: &NewEvent,
    ) -> Result<StoredCertificate, StorageError>;

    /// Records an event on its own.
    async fn record_event(&self, event: &NewEvent) -> Result<(), StorageError>;

    /// The device's certificates, newest first.
    async fn device_certificates(&self, device_id: Uuid) -> Result<Vec<StoredCertificate>, StorageError>;

    /// The profile's certificates, by device then newest first.
    async fn profile_certificates(&self, profile_id: Uuid) -> Result<Vec<StoredCertificate>, StorageError>;

    /// The enrollment states recorded for the profile.
    async fn profile_states(&self, profile_id: Uuid) -> Result<Vec<DeviceProfileState>, StorageError>;

    /// Queues (`pending`) every certificate in scope whose profile no longer
    /// reaches its device (targeting rules 1–4, or the device or profile is
    /// gone). Returns how many were queued.
    async fn queue_revocations(&self, scope: &RevocationScope) -> Result<u64, StorageError>;

    /// Queues the device's certificate for revocation by hand (a lost device,
    /// a retry after `failed`): from `none` or `failed` to `pending`.
    /// [`StorageError::NotFound`] for an unknown pair, [`StorageError::Conflict`]
    /// when it is already queued or revoked.
    async fn request_revocation(
        &self,
        device_id: Uuid,
        certificate_id: Uuid,
    ) -> Result<StoredCertificate, StorageError>;

    /// Up to `limit` certificates awaiting revocation (`pending` or `issued`),
    /// oldest first; those `pending` become `issued` (handed to the connector).
    async fn revocation_queue(&self, limit: u32) -> Result<Vec<StoredCertificate>, StorageError>;

    /// Records the connector's result and its event (which gets the
    /// certificate's device and profile, and the outcome's diagnostic code). [`StorageError::NotFound`]
    /// for an unknown id, [`StorageError::Conflict`] when the certificate is not awaiting revocation.
    async fn record_revocation_result(
        &self,
        certificate_id: Uuid,
        outcome: &RevocationOutcome,
        event: &NewEvent,
    ) -> Result<StoredCertificate, StorageError>;

    async fn list_events(
        &self,
        filter: EventFilter,
        page: PageRequest,
    ) -> Result<Page<StoredEvent>, StorageError>;

    /// Deletes up to `limit` used-challenge ids whose challenge expired
    /// before `expired_before`; returns how many. Callers keep a margin past
    /// expiry (`scepter_domain::retention`): an id deleted too early lets its
    /// challenge verify again on an instance whose clock lags.
    async fn purge_used_challenges(
        &self,
        expired_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StorageError>;

    /// Deletes up to `limit` events that occurred before `before`; returns how many.
    async fn purge_events(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError>;

    /// Deletes up to `limit` finished SCEP transactions — notified ones
    /// verified before `notified_before`, never-notified ones verified before
    /// `abandoned_before` — and returns how many.
    async fn purge_scep_transactions(
        &self,
        notified_before: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StorageError>;
}

/// Connections of the pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// Everything the API needs from a database.
#[async_trait]
pub trait Store:
    TrustedProfileRepository
    + ScepProfileRepository
    + UserRepository
    + DeviceRepository
    + GroupRepository
    + AssignmentRepository
    + DeviceCredentialRepository
    + LifecycleRepository
    + crate::ImportRepository
{
    /// Applies the embedded migrations that have not run yet.
    async fn migrate(&self) -> Result<(), StorageError>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StorageError>;

    /// Closes the pool, waiting for connections in use.
    async fn close(&self);

    /// How many connections are open and idle.
    fn pool_status(&self) -> PoolStatus;
}
