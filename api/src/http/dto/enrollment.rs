//! What the enrollment core records: issued certificates and connector events.

use chrono::{DateTime, Utc};
use scepter_domain::{
    checkin::RevokeStatus,
    diagnostics::{DiagnosticCode, EventId},
};
use scepter_storage::{StoredCertificate, StoredEvent};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A stored diagnostic code as the seed writes it: `0x` and eight hex digits.
pub(crate) fn diagnostic_hex(code: u32) -> String {
    format!("0x{code:08X}")
}

/// The seed's name of a stored diagnostic code (`Unknown` for one it does not define).
pub(crate) fn diagnostic_name(code: u32) -> String {
    DiagnosticCode::from_code(code).map_or_else(|| "Unknown".to_owned(), |known| known.name().to_owned())
}

/// A certificate the CA issued to a device (the ledger renewal and revocation work from).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    pub id: Uuid,
    pub device_id: Uuid,
    pub profile_id: Uuid,
    /// The profile version the certificate was requested under.
    pub profile_version: i64,
    pub transaction_id: String,
    /// Upper-case hex, as Windows shows it.
    pub serial_number: String,
    /// SHA-1 of the DER, 40 upper-case hex digits.
    pub thumbprint_sha1: String,
    /// RFC 4514.
    pub issuer: String,
    /// RFC 4514.
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// When Scepter was notified of it.
    pub issued_date_time: DateTime<Utc>,
    pub certificate_revoke_status: RevokeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_requested_date_time: Option<DateTime<Utc>>,
    /// The connector's diagnostic code for the revocation, e.g. `0x00000402`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_diagnostic_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_diagnostic_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_date_time: Option<DateTime<Utc>>,
}

impl From<StoredCertificate> for CertificateView {
    fn from(certificate: StoredCertificate) -> Self {
        Self {
            id: certificate.id,
            device_id: certificate.device_id,
            profile_id: certificate.profile_id,
            profile_version: certificate.profile_version,
            transaction_id: certificate.transaction_id,
            serial_number: certificate.serial_number,
            thumbprint_sha1: certificate.thumbprint_sha1,
            issuer: certificate.issuer,
            subject: certificate.subject,
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            issued_date_time: certificate.issued_at,
            certificate_revoke_status: certificate.revoke_status,
            revoke_requested_date_time: certificate.revoke_requested_at,
            revoke_diagnostic_code: certificate.revoke_diagnostic_code.map(diagnostic_hex),
            revoke_diagnostic_name: certificate.revoke_diagnostic_code.map(diagnostic_name),
            revoke_message: certificate.revoke_message,
            revoked_date_time: certificate.revoked_at,
        }
    }
}

/// A connector event with the seed's id, name and diagnostic code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: Uuid,
    /// The seed's event id, e.g. 20500.
    pub event_id: u32,
    /// The seed's event name, e.g. `CRPVerifyMetric_Success`.
    pub event_name: String,
    /// e.g. `0x00000411`.
    pub diagnostic_code: String,
    pub diagnostic_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    pub message: String,
    pub occurred_date_time: DateTime<Utc>,
}

impl From<StoredEvent> for EventView {
    fn from(event: StoredEvent) -> Self {
        Self {
            id: event.id,
            event_id: event.event_id,
            event_name: EventId::from_id(event.event_id)
                .map_or_else(|| "Unknown".to_owned(), |id| id.name().to_owned()),
            diagnostic_code: diagnostic_hex(event.diagnostic_code),
            diagnostic_name: diagnostic_name(event.diagnostic_code),
            device_id: event.device_id,
            profile_id: event.profile_id,
            certificate_id: event.certificate_id,
            transaction_id: event.transaction_id,
            message: event.message,
            occurred_date_time: event.occurred_at,
        }
    }
}
