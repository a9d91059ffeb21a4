//! Verified requests, the certificate ledger and revocations.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::{checkin::RevokeStatus, diagnostics::DiagnosticCode};
use uuid::Uuid;

use crate::{NewAuditEntry, NewEvent, StorageError};

/// A notified certificate as the ledger stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCertificate {
    pub certificate: StoredCertificate,
    /// 1 when the certificate itself was queued for revocation as it was
    /// recorded (its profile stopped reaching the device while the CA
    /// worked), else 0.
    pub revocations_queued: u64,
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
    /// When the device first listed it at check-in; `None` until it does.
    pub reported_at: Option<DateTime<Utc>>,
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

/// What [`LedgerRepository::record_allowed_request`] did.
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

/// Challenge verification and the certificate ledger: used challenges,
/// allowed and denied requests, SCEP transactions, issued certificates,
/// enrollment states and revocations, and the purges of what retention drops.
#[async_trait]
pub trait LedgerRepository: Send + Sync {
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

    /// [`Self::record_issued_certificate`] for a notification: in the same
    /// transaction, also queues the certificate's revocation when its profile
    /// no longer reaches the device (it may have stopped reaching it while
    /// the CA worked) — one commit for what a notification changes. Only the
    /// new certificate is checked: the device's others were checked when
    /// what reaches it last changed (the write that changed it queues them,
    /// and the periodic sweep catches a write that raced a notification), so
    /// checking them again cost a targeting probe per certificate the device
    /// ever held, on every notification.
    async fn record_notified_certificate(
        &self,
        certificate: &StoredCertificate,
        event: &NewEvent,
    ) -> Result<RecordedCertificate, StorageError>;

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
        audit: &NewAuditEntry,
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

    /// Deletes up to `limit` used-challenge ids whose challenge expired
    /// before `expired_before`; returns how many. Callers keep a margin past
    /// expiry (`scepter_domain::retention`): an id deleted too early lets its
    /// challenge verify again on an instance whose clock lags.
    async fn purge_used_challenges(
        &self,
        expired_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StorageError>;

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
