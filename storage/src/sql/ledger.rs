//! Verified requests, the certificate ledger and revocations.

use super::assignments::reached_through;

/// The ledger's columns, for `concat!`.
macro_rules! certificate_columns {
    () => {
        "id, device_id, profile_id, profile_version, transaction_id, serial_number, thumbprint_sha1, issuer, \
         subject, not_before, not_after, issued_at, revoke_status, revoke_requested_at, revoke_diagnostic_code, \
         revoke_message, revoked_at, reported_at"
    };
}

pub(crate) use certificate_columns;

pub(crate) const CERTIFICATE_BY_ID: &str = concat!(
    "SELECT ",
    certificate_columns!(),
    " FROM issued_certificates c WHERE id = $1"
);

/// The device's certificates, newest first (check-in's ledger and the admin list).
pub(crate) const CERTIFICATES_OF_DEVICE: &str = concat!(
    "SELECT ",
    certificate_columns!(),
    " FROM issued_certificates c WHERE device_id = $1 ORDER BY issued_at DESC, id DESC"
);

pub(crate) const CERTIFICATES_OF_PROFILE: &str = concat!(
    "SELECT ",
    certificate_columns!(),
    " FROM issued_certificates c WHERE profile_id = $1 ORDER BY device_id, issued_at DESC, id DESC"
);

pub(crate) const CHALLENGE_USED: &str = "SELECT 1 FROM used_challenges WHERE id = $1";

/// The primary key makes this the single-use check, also across instances:
/// a concurrent second insert waits for the first and then does nothing.
pub(crate) const USE_CHALLENGE: &str =
    "INSERT INTO used_challenges (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";

/// The WHERE makes a transaction id, once allowed, belong to its device,
/// profile and key: a request for anything else updates no row (and waits
/// for a concurrent insert of the same id).
pub(crate) const BIND_TRANSACTION: &str = "INSERT INTO scep_transactions (transaction_id, device_id, \
     profile_id, profile_version, challenge_id, public_key_sha256, name_digest, verified_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (transaction_id) DO UPDATE SET profile_version = excluded.profile_version, \
     challenge_id = excluded.challenge_id, name_digest = excluded.name_digest, \
     verified_at = excluded.verified_at, certificate_id = NULL \
     WHERE scep_transactions.device_id = excluded.device_id \
     AND scep_transactions.profile_id = excluded.profile_id \
     AND scep_transactions.public_key_sha256 = excluded.public_key_sha256";

/// `failed`, unless the device got a certificate of the profile since the
/// challenge was issued (`$7`) or its state is for a newer profile version.
pub(crate) const RECORD_FAILED: &str = "INSERT INTO device_profile_states (device_id, profile_id, \
     profile_version, state, diagnostic_code, reason, updated_at) \
     SELECT $1, $2, $3, 'failed', $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM issued_certificates \
     WHERE device_id = $1 AND profile_id = $2 AND issued_at >= $7) \
     ON CONFLICT (device_id, profile_id) DO UPDATE SET profile_version = excluded.profile_version, \
     state = 'failed', diagnostic_code = excluded.diagnostic_code, reason = excluded.reason, \
     updated_at = excluded.updated_at \
     WHERE device_profile_states.profile_version <= excluded.profile_version";

pub(crate) const SELECT_TRANSACTION: &str = "SELECT transaction_id, device_id, profile_id, profile_version, \
     challenge_id, public_key_sha256, name_digest, verified_at, certificate_id \
     FROM scep_transactions WHERE transaction_id = $1";

pub(crate) const INSERT_CERTIFICATE: &str = "INSERT INTO issued_certificates (id, device_id, profile_id, \
     profile_version, transaction_id, serial_number, thumbprint_sha1, issuer, subject, not_before, not_after, \
     issued_at, revoke_status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'none')";

pub(crate) const LINK_CERTIFICATE: &str =
    "UPDATE scep_transactions SET certificate_id = $2 WHERE transaction_id = $1";

/// The enrollment succeeded: the ledger now speaks for this device and profile.
pub(crate) const CLEAR_STATE: &str =
    "DELETE FROM device_profile_states WHERE device_id = $1 AND profile_id = $2";

pub(crate) const SELECT_STATES: &str = "SELECT device_id, profile_version, state, diagnostic_code, reason, \
     updated_at FROM device_profile_states WHERE profile_id = $1 ORDER BY device_id";

/// The revocation queueing statement up to its scope condition: `pending`
/// for every certificate (`$1` now) whose SCEP profile no longer reaches its
/// device (targeting rules 1–4, like `targeted_devices`) or is gone.
pub(crate) fn queue_revocations() -> String {
    format!(
        "UPDATE issued_certificates SET revoke_status = 'pending', revoke_requested_at = $1 \
         WHERE revoke_status = 'none' AND NOT (EXISTS (SELECT 1 FROM devices d \
         JOIN scep_certificate_profiles p ON p.id = issued_certificates.profile_id \
         WHERE d.id = issued_certificates.device_id AND d.platform = p.platform \
         AND (p.certificate_type <> 'user' OR d.user_id IS NOT NULL) \
         AND {} AND NOT {})) AND ",
        reached_through("scep_profile_assignments", "p.id", "include"),
        reached_through("scep_profile_assignments", "p.id", "exclude")
    )
}

/// `$1` certificate, `$2` now.
pub(crate) const REQUEST_REVOCATION: &str = "UPDATE issued_certificates SET revoke_status = 'pending', \
     revoke_requested_at = $2, revoke_diagnostic_code = NULL, revoke_message = NULL \
     WHERE id = $1 AND revoke_status IN ('none', 'failed')";

/// The page of the revocation queue (`$1`: its size).
const QUEUE_PAGE: &str =
    "SELECT id FROM issued_certificates WHERE revoke_status IN ('pending', 'issued') ORDER BY id LIMIT $1";

/// Hands the page out (pending → issued); [`read_revocation_queue`] then reads
/// it: two statements whatever its size.
pub(crate) fn hand_out_revocation_queue() -> String {
    format!(
        "UPDATE issued_certificates SET revoke_status = 'issued' \
         WHERE revoke_status = 'pending' AND id IN ({QUEUE_PAGE})"
    )
}

pub(crate) fn read_revocation_queue() -> String {
    format!(
        "SELECT {} FROM issued_certificates c WHERE id IN ({QUEUE_PAGE}) ORDER BY id",
        certificate_columns!()
    )
}

/// `$1` certificate, `$2` status, `$3` diagnostic code, `$4` message, `$5` revocation time.
pub(crate) const RECORD_REVOCATION_RESULT: &str = "UPDATE issued_certificates SET revoke_status = $2, \
     revoke_diagnostic_code = $3, revoke_message = $4, revoked_at = $5 \
     WHERE id = $1 AND revoke_status IN ('pending', 'issued')";

/// One bounded batch (the sweep loops), so no statement holds its locks — or
/// SQLite's one connection — for long. Index used_challenges_expires (0005).
pub(crate) const PURGE_USED_CHALLENGES: &str = "DELETE FROM used_challenges WHERE id IN \
     (SELECT id FROM used_challenges WHERE expires_at < $1 LIMIT $2)";

/// As [`PURGE_USED_CHALLENGES`]. Index scep_transactions_verified_at (0008), for both branches.
pub(crate) const PURGE_SCEP_TRANSACTIONS: &str = "DELETE FROM scep_transactions WHERE transaction_id IN \
     (SELECT transaction_id FROM scep_transactions \
      WHERE (certificate_id IS NOT NULL AND verified_at < $1) OR verified_at < $2 LIMIT $3)";

macro_rules! impl_ledger_repository {
    ($store:ident, $db:ty) => {
        mod ledger_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use scepter_domain::audit::Change;

            use super::{
                audit_repository::insert_audit_entry, event_repository::insert_event, fetch, $store,
            };
            use crate::{
                rows::{now, CertificateRow, StateRow, TransactionRow},
                sql::{ledger::*, unique_violation},
                AllowedRecord, DeviceProfileState, FailedRequest, LedgerRepository, NewAuditEntry, NewEvent,
                RecordedCertificate, RevocationOutcome, RevocationScope, ScepTransaction, StorageError,
                StoredCertificate,
            };

            type Connection = <$db as sqlx::Database>::Connection;

            /// Stores the certificate, links it to its request and records
            /// the event, in the caller's transaction (which reads the row
            /// back once it has made every change to it).
            async fn record_certificate_in(
                connection: &mut Connection,
                certificate: &StoredCertificate,
                event: &NewEvent,
            ) -> Result<(), StorageError> {
                sqlx::query(INSERT_CERTIFICATE)
                    .bind(certificate.id)
                    .bind(certificate.device_id)
                    .bind(certificate.profile_id)
                    .bind(certificate.profile_version)
                    .bind(&certificate.transaction_id)
                    .bind(&certificate.serial_number)
                    .bind(&certificate.thumbprint_sha1)
                    .bind(&certificate.issuer)
                    .bind(&certificate.subject)
                    .bind(certificate.not_before)
                    .bind(certificate.not_after)
                    .bind(certificate.issued_at)
                    .execute(&mut *connection)
                    .await
                    .map_err(|error| match unique_violation(&error) {
                        Some(_) => StorageError::Conflict(
                            "a certificate with this serial number or thumbprint is already recorded"
                                .to_owned(),
                        ),
                        None => error.into(),
                    })?;
                sqlx::query(LINK_CERTIFICATE)
                    .bind(&certificate.transaction_id)
                    .bind(certificate.id)
                    .execute(&mut *connection)
                    .await?;
                sqlx::query(CLEAR_STATE)
                    .bind(certificate.device_id)
                    .bind(certificate.profile_id)
                    .execute(&mut *connection)
                    .await?;
                insert_event(&mut *connection, event, certificate.issued_at).await
            }

            /// The certificate just recorded in the caller's transaction.
            async fn recorded(
                connection: &mut Connection,
                id: Uuid,
            ) -> Result<StoredCertificate, StorageError> {
                certificate_by_id(&mut *connection, id)
                    .await?
                    .ok_or_else(|| StorageError::Corrupt("inserted certificate vanished".to_owned()))
            }

            /// Queues (at `at`) the revocation of the certificates whose
            /// `column` (`id`, `device_id` or `profile_id`) is `key` and whose
            /// SCEP profile no longer reaches their device; how many were queued.
            async fn queue_revocations_where(
                connection: &mut Connection,
                column: &'static str,
                key: Uuid,
                at: DateTime<Utc>,
            ) -> Result<u64, StorageError> {
                Ok(
                    sqlx::query(&format!("{} {column} = $2", queue_revocations()))
                        .bind(at)
                        .bind(key)
                        .execute(&mut *connection)
                        .await?
                        .rows_affected(),
                )
            }

            async fn certificate_by_id(
                executor: impl sqlx::Executor<'_, Database = $db>,
                id: Uuid,
            ) -> Result<Option<StoredCertificate>, StorageError> {
                fetch::one::<CertificateRow, _>(executor, CERTIFICATE_BY_ID, id).await
            }

            /// The certificate, read again in this transaction; [`StorageError::NotFound`] when missing.
            async fn written_certificate(
                connection: &mut Connection,
                id: Uuid,
            ) -> Result<StoredCertificate, StorageError> {
                certificate_by_id(connection, id)
                    .await?
                    .ok_or(StorageError::NotFound)
            }

            /// The device's certificates, newest first (check-in's ledger and the admin list).
            pub(super) async fn certificates_of_device(
                executor: impl sqlx::Executor<'_, Database = $db>,
                device_id: Uuid,
            ) -> Result<Vec<StoredCertificate>, StorageError> {
                fetch::all::<CertificateRow, _>(executor, CERTIFICATES_OF_DEVICE, device_id).await
            }

            #[async_trait]
            impl LedgerRepository for $store {
                async fn challenge_used(&self, challenge_id: Uuid) -> Result<bool, StorageError> {
                    Ok(sqlx::query(CHALLENGE_USED)
                        .bind(challenge_id)
                        .fetch_optional(&self.pool)
                        .await?
                        .is_some())
                }

                async fn record_allowed_request(
                    &self,
                    request: &ScepTransaction,
                    challenge_expires_at: DateTime<Utc>,
                    event: &NewEvent,
                ) -> Result<AllowedRecord, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let fresh = sqlx::query(USE_CHALLENGE)
                        .bind(request.challenge_id)
                        .bind(challenge_expires_at)
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected()
                        == 1;
                    if !fresh {
                        return Ok(AllowedRecord::ChallengeUsed);
                    }
                    let bound = sqlx::query(BIND_TRANSACTION)
                        .bind(&request.transaction_id)
                        .bind(request.device_id)
                        .bind(request.profile_id)
                        .bind(request.profile_version)
                        .bind(request.challenge_id)
                        .bind(&request.public_key_sha256)
                        .bind(&request.name_digest)
                        .bind(request.verified_at)
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected()
                        == 1;
                    if !bound {
                        transaction.rollback().await?;
                        return Ok(AllowedRecord::TransactionBound);
                    }
                    insert_event(&mut *transaction, event, request.verified_at).await?;
                    transaction.commit().await?;
                    Ok(AllowedRecord::Recorded)
                }

                async fn record_denied_request(
                    &self,
                    failed: Option<&FailedRequest<'_>>,
                    event: &NewEvent,
                ) -> Result<(), StorageError> {
                    let at = now();
                    let mut transaction = self.pool.begin().await?;
                    if let Some(failed) = failed {
                        // The step's trigger moves the device's facts generation.
                        sqlx::query(RECORD_FAILED)
                            .bind(failed.device_id)
                            .bind(failed.profile_id)
                            .bind(failed.profile_version)
                            .bind(i64::from(event.diagnostic.code()))
                            .bind(failed.reason)
                            .bind(at)
                            .bind(failed.challenge_issued_at)
                            .execute(&mut *transaction)
                            .await?;
                    }
                    insert_event(&mut *transaction, event, at).await?;
                    transaction.commit().await?;
                    Ok(())
                }

                async fn scep_transaction(
                    &self,
                    transaction_id: &str,
                ) -> Result<Option<ScepTransaction>, StorageError> {
                    Ok(sqlx::query_as::<_, TransactionRow>(SELECT_TRANSACTION)
                        .bind(transaction_id)
                        .fetch_optional(&self.pool)
                        .await?
                        .map(Into::into))
                }

                async fn record_issued_certificate(
                    &self,
                    certificate: &StoredCertificate,
                    event: &NewEvent,
                ) -> Result<StoredCertificate, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    record_certificate_in(&mut transaction, certificate, event).await?;
                    let stored = recorded(&mut transaction, certificate.id).await?;
                    transaction.commit().await?;
                    Ok(stored)
                }

                async fn record_notified_certificate(
                    &self,
                    certificate: &StoredCertificate,
                    event: &NewEvent,
                ) -> Result<RecordedCertificate, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    record_certificate_in(&mut transaction, certificate, event).await?;
                    let revocations_queued = queue_revocations_where(
                        &mut transaction,
                        "id",
                        certificate.id,
                        certificate.issued_at,
                    )
                    .await?;
                    let stored = recorded(&mut transaction, certificate.id).await?;
                    transaction.commit().await?;
                    Ok(RecordedCertificate {
                        certificate: stored,
                        revocations_queued,
                    })
                }

                async fn device_certificates(
                    &self,
                    device_id: Uuid,
                ) -> Result<Vec<StoredCertificate>, StorageError> {
                    certificates_of_device(&self.pool, device_id).await
                }

                async fn profile_certificates(
                    &self,
                    profile_id: Uuid,
                ) -> Result<Vec<StoredCertificate>, StorageError> {
                    fetch::all::<CertificateRow, _>(&self.pool, CERTIFICATES_OF_PROFILE, profile_id).await
                }

                async fn profile_states(
                    &self,
                    profile_id: Uuid,
                ) -> Result<Vec<DeviceProfileState>, StorageError> {
                    fetch::all::<StateRow, _>(&self.pool, SELECT_STATES, profile_id).await
                }

                async fn queue_revocations(&self, scope: &RevocationScope) -> Result<u64, StorageError> {
                    let at = now();
                    let mut transaction = self.pool.begin().await?;
                    let mut queued = 0;
                    match scope {
                        RevocationScope::All => {
                            queued += sqlx::query(&format!("{} 1 = 1", queue_revocations()))
                                .bind(at)
                                .execute(&mut *transaction)
                                .await?
                                .rows_affected();
                        }
                        RevocationScope::Profile(profile_id) => {
                            queued +=
                                queue_revocations_where(&mut transaction, "profile_id", *profile_id, at)
                                    .await?;
                        }
                        RevocationScope::Devices(device_ids) => {
                            for device_id in device_ids {
                                queued +=
                                    queue_revocations_where(&mut transaction, "device_id", *device_id, at)
                                        .await?;
                            }
                        }
                    }
                    transaction.commit().await?;
                    Ok(queued)
                }

                async fn request_revocation(
                    &self,
                    device_id: Uuid,
                    certificate_id: Uuid,
                    audit: &NewAuditEntry,
                ) -> Result<StoredCertificate, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let current = written_certificate(&mut transaction, certificate_id).await?;
                    if current.device_id != device_id {
                        return Err(StorageError::NotFound);
                    }
                    let updated = sqlx::query(REQUEST_REVOCATION)
                        .bind(certificate_id)
                        .bind(now())
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected();
                    if updated == 0 {
                        return Err(StorageError::Conflict(format!(
                            "the certificate is already {} (revokeStatus)",
                            current.revoke_status.as_str()
                        )));
                    }
                    let stored = written_certificate(&mut transaction, certificate_id).await?;
                    let change = Change::new(
                        "/revokeStatus",
                        Some(current.revoke_status.as_str().into()),
                        Some(stored.revoke_status.as_str().into()),
                    );
                    let audit = audit.with_changes(vec![change]);
                    insert_audit_entry(&mut *transaction, &audit, Some(certificate_id)).await?;
                    transaction.commit().await?;
                    Ok(stored)
                }

                async fn revocation_queue(&self, limit: u32) -> Result<Vec<StoredCertificate>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    sqlx::query(&hand_out_revocation_queue())
                        .bind(i64::from(limit))
                        .execute(&mut *transaction)
                        .await?;
                    let certificates = sqlx::query_as::<_, CertificateRow>(&read_revocation_queue())
                        .bind(i64::from(limit))
                        .fetch_all(&mut *transaction)
                        .await?
                        .into_iter()
                        .map(TryInto::try_into)
                        .collect::<Result<Vec<_>, _>>()?;
                    transaction.commit().await?;
                    Ok(certificates)
                }

                async fn record_revocation_result(
                    &self,
                    certificate_id: Uuid,
                    outcome: &RevocationOutcome,
                    event: &NewEvent,
                ) -> Result<StoredCertificate, StorageError> {
                    let at = now();
                    let mut transaction = self.pool.begin().await?;
                    let updated = sqlx::query(RECORD_REVOCATION_RESULT)
                        .bind(certificate_id)
                        .bind(if outcome.revoked { "revoked" } else { "failed" })
                        .bind(i64::from(outcome.diagnostic.code()))
                        .bind(outcome.message.as_deref())
                        .bind(outcome.revoked.then_some(at))
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected();
                    if updated == 0 {
                        let current = written_certificate(&mut transaction, certificate_id).await?;
                        return Err(StorageError::Conflict(format!(
                            "the certificate is not awaiting revocation (revokeStatus {})",
                            current.revoke_status.as_str()
                        )));
                    }
                    let stored = written_certificate(&mut transaction, certificate_id).await?;
                    let event = NewEvent {
                        device_id: event.device_id.or(Some(stored.device_id)),
                        profile_id: event.profile_id.or(Some(stored.profile_id)),
                        diagnostic: outcome.diagnostic,
                        ..event.clone()
                    };
                    insert_event(&mut *transaction, &event, at).await?;
                    transaction.commit().await?;
                    Ok(stored)
                }

                async fn purge_used_challenges(
                    &self,
                    expired_before: DateTime<Utc>,
                    limit: u32,
                ) -> Result<u64, StorageError> {
                    Ok(sqlx::query(PURGE_USED_CHALLENGES)
                        .bind(expired_before)
                        .bind(i64::from(limit))
                        .execute(&self.pool)
                        .await?
                        .rows_affected())
                }

                async fn purge_scep_transactions(
                    &self,
                    notified_before: DateTime<Utc>,
                    abandoned_before: DateTime<Utc>,
                    limit: u32,
                ) -> Result<u64, StorageError> {
                    Ok(sqlx::query(PURGE_SCEP_TRANSACTIONS)
                        .bind(notified_before)
                        .bind(abandoned_before)
                        .bind(i64::from(limit))
                        .execute(&self.pool)
                        .await?
                        .rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_ledger_repository;
