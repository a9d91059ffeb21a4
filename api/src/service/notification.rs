//! Notification of issued certificates: the SCEP server (or step-ca) reports
//! what the CA issued for a request Scepter allowed. The certificate must
//! carry the allowed request's public key and name and chain to the
//! profile's root; then it enters the ledger that renewal and revocation
//! work from. Every refusal is recorded as a `CRPNotifyMetric_Failure` event.

use scepter_domain::{
    challenge,
    diagnostics::{DiagnosticCode, EventId},
    issued_certificate::IssuedCertificate,
    CertificateError,
};
use scepter_storage::{NewEvent, ScepTransaction, StorageError, StoredCertificate};
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

/// Why a notified certificate was refused.
#[derive(Debug)]
pub enum NotifyRefusal {
    UnknownTransaction,
    PublicKeyMismatch,
    NameMismatch,
    /// The certificate is not issued by the profile's root or an issuing CA registered for it.
    UntrustedIssuer,
    /// The transaction already has a different certificate.
    AlreadyNotified,
}

impl NotifyRefusal {
    fn into_api_error(self) -> ApiError {
        let (field, rule, reason) = match self {
            Self::UnknownTransaction => (
                "transactionId",
                "verified",
                "names no request that Scepter allowed",
            ),
            Self::PublicKeyMismatch => (
                "certificate",
                "publicKey",
                "its public key is not the one of the verified request",
            ),
            Self::NameMismatch => (
                "certificate",
                "subject",
                "its subject or subject alternative names are not the ones of the verified request",
            ),
            Self::UntrustedIssuer => (
                "certificate",
                "issuer",
                "is not issued by the profile's root certificate or an issuing CA registered for that root \
                 (issuingCertificates of the trusted certificate profile)",
            ),
            Self::AlreadyNotified => {
                return ApiError::Conflict(
                    "another certificate was already recorded for this transaction".to_owned(),
                )
            }
        };
        ApiError::field(field, rule, reason)
    }

    fn as_str(&self) -> &'static str {
        match self {
            Self::UnknownTransaction => "unknownTransaction",
            Self::PublicKeyMismatch => "publicKeyMismatch",
            Self::NameMismatch => "subjectMismatch",
            Self::UntrustedIssuer => "untrustedIssuer",
            Self::AlreadyNotified => "alreadyNotified",
        }
    }
}

/// Whether [`notify`] stored a new certificate or found it already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    Created,
    AlreadyRecorded,
}

/// A notified certificate as the caller sent it.
#[derive(Debug, Clone, Copy)]
pub enum CertificateInput<'a> {
    /// PEM or base64 DER, in the request field `certificate`.
    Text(&'a str),
    /// DER, in the request field `field`.
    Der { field: &'static str, der: &'a [u8] },
}

/// Records the certificate issued for an allowed request. Idempotent: the
/// same certificate again returns the stored one. A certificate that does
/// not parse, or does not match the allowed request, is refused (422, 409)
/// and the refusal recorded as an event.
pub async fn notify(
    state: &AppState,
    transaction_id: &str,
    certificate: CertificateInput<'_>,
) -> Result<(StoredCertificate, Notified), ApiError> {
    let (field, parsed) = match certificate {
        CertificateInput::Text(text) => ("certificate", IssuedCertificate::parse(text)),
        CertificateInput::Der { field, der } => (field, IssuedCertificate::from_der(der)),
    };
    match parsed {
        Ok(certificate) => record_issued(state, transaction_id, &certificate).await,
        Err(error) => Err(refuse_unreadable_certificate(state, transaction_id, field, &error).await?),
    }
}

/// Checks `certificate` against the allowed request and records it.
async fn record_issued(
    state: &AppState,
    transaction_id: &str,
    certificate: &IssuedCertificate,
) -> Result<(StoredCertificate, Notified), ApiError> {
    let transaction = state.store.scep_transaction(transaction_id).await?;
    let checked = match &transaction {
        None => Err(NotifyRefusal::UnknownTransaction),
        Some(transaction) if transaction.public_key_sha256 != certificate.public_key_sha256() => {
            Err(NotifyRefusal::PublicKeyMismatch)
        }
        Some(transaction)
            if certificate
                .name()
                .is_none_or(|name| challenge::name_digest(name).as_slice() != transaction.name_digest) =>
        {
            Err(NotifyRefusal::NameMismatch)
        }
        Some(transaction) => Ok(transaction),
    };
    let checked = match checked {
        Ok(transaction) if !issued_under_root(state, transaction.profile_id, certificate).await? => {
            Err(NotifyRefusal::UntrustedIssuer)
        }
        other => other,
    };
    let transaction = match checked {
        Ok(transaction) => transaction,
        Err(refusal) => {
            return Err(refuse_notification(state, transaction.as_ref(), transaction_id, refusal).await?)
        }
    };
    if let Some(existing_id) = transaction.certificate_id {
        let existing = state
            .store
            .device_certificates(transaction.device_id)
            .await?
            .into_iter()
            .find(|stored| stored.id == existing_id);
        return match existing {
            Some(stored) if stored.thumbprint_sha1 == certificate.details().thumbprint_sha1 => {
                Ok((stored, Notified::AlreadyRecorded))
            }
            _ => Err(refuse_notification(
                state,
                Some(transaction),
                transaction_id,
                NotifyRefusal::AlreadyNotified,
            )
            .await?),
        };
    }
    let details = certificate.details();
    let stored = StoredCertificate {
        id: Uuid::now_v7(),
        device_id: transaction.device_id,
        profile_id: transaction.profile_id,
        profile_version: transaction.profile_version,
        transaction_id: transaction_id.to_owned(),
        serial_number: details.serial_number.clone(),
        thumbprint_sha1: details.thumbprint_sha1.clone(),
        issuer: details.issuer.clone(),
        subject: details.subject.clone(),
        not_before: details.not_before,
        not_after: details.not_after,
        issued_at: scepter_storage::now(),
        revoke_status: scepter_domain::checkin::RevokeStatus::None,
        revoke_requested_at: None,
        revoke_diagnostic_code: None,
        revoke_message: None,
        revoked_at: None,
        reported_at: None,
    };
    let event = NewEvent {
        event: EventId::CrpNotifyMetricSuccess,
        diagnostic: DiagnosticCode::Success,
        device_id: Some(stored.device_id),
        profile_id: Some(stored.profile_id),
        certificate_id: Some(stored.id),
        transaction_id: Some(transaction_id.to_owned()),
        message: format!(
            "recorded certificate serial {} from {}",
            stored.serial_number, stored.issuer
        ),
    };
    // Recording also queues the certificate's revocation when the profile
    // stopped reaching the device while the CA worked.
    let recorded = state.store.record_notified_certificate(&stored, &event).await?;
    let queued = recorded.revocations_queued;
    let recorded = recorded.certificate;
    tracing::info!(transaction_id, device_id = %recorded.device_id, profile_id = %recorded.profile_id,
        serial = %recorded.serial_number, "recorded an issued certificate");
    if queued > 0 {
        tracing::info!(queued, device_id = %recorded.device_id, "queued the certificate for revocation: its profile no longer reaches the device");
    }
    Ok((recorded, Notified::Created))
}

/// Whether `certificate` chains to the root of the SCEP profile: issued by
/// the root or by an issuing CA registered for it. A profile or root deleted
/// meanwhile leaves nothing to check against: `false`.
async fn issued_under_root(
    state: &AppState,
    profile_id: Uuid,
    certificate: &IssuedCertificate,
) -> Result<bool, StorageError> {
    let Some(profile) = state.store.scep_profile(profile_id).await? else {
        return Ok(false);
    };
    let root = state
        .store
        .trusted_profile(profile.content.root_certificate_id)
        .await?;
    Ok(root.is_some_and(|root| root.content.issued(certificate.der())))
}

/// Records a notification whose certificate does not parse (event 20602) and
/// returns the 422 naming `field`.
async fn refuse_unreadable_certificate(
    state: &AppState,
    transaction_id: &str,
    field: &str,
    error: &CertificateError,
) -> Result<ApiError, StorageError> {
    tracing::info!(transaction_id, %error, "refused an unreadable notified certificate");
    let known = state.store.scep_transaction(transaction_id).await?;
    let message = format!("refused the notified certificate (unreadable: {error})");
    record_notify_failure(state, known.as_ref(), transaction_id, message).await?;
    Ok(ApiError::field(
        field,
        error.rule(),
        format!("the certificate {error}"),
    ))
}

/// Records that the CA reported a failed SCEP request instead of a certificate
/// (step-ca's `NOTIFYING` webhook with `scepErrorCode`).
pub async fn record_ca_failure(
    state: &AppState,
    transaction_id: &str,
    code: i64,
    description: &str,
) -> Result<(), ApiError> {
    let description: String = description
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    let known = state.store.scep_transaction(transaction_id).await?;
    let message = format!("step-ca reported SCEP failure {code}: {description}");
    Ok(record_notify_failure(state, known.as_ref(), transaction_id, message).await?)
}

/// Records a `CRPNotifyMetric_Failure` event for the transaction, with its
/// device and profile when Scepter allowed it.
async fn record_notify_failure(
    state: &AppState,
    transaction: Option<&ScepTransaction>,
    transaction_id: &str,
    message: String,
) -> Result<(), StorageError> {
    state
        .store
        .record_event(&NewEvent {
            event: EventId::CrpNotifyMetricFailure,
            diagnostic: DiagnosticCode::UnknownError,
            device_id: transaction.map(|transaction| transaction.device_id),
            profile_id: transaction.map(|transaction| transaction.profile_id),
            certificate_id: None,
            transaction_id: Some(transaction_id.to_owned()),
            message,
        })
        .await
}

async fn refuse_notification(
    state: &AppState,
    transaction: Option<&ScepTransaction>,
    transaction_id: &str,
    refusal: NotifyRefusal,
) -> Result<ApiError, StorageError> {
    tracing::info!(
        transaction_id,
        reason = refusal.as_str(),
        "refused a certificate notification"
    );
    let message = format!("refused the notified certificate ({})", refusal.as_str());
    record_notify_failure(state, transaction, transaction_id, message).await?;
    Ok(refusal.into_api_error())
}
