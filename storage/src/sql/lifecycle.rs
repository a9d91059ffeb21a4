//! Check-ins, verified requests, the certificate ledger, revocations and events.

macro_rules! impl_lifecycle_repository {
    ($store:ident, $db:ty) => {
      mod lifecycle_repository {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use scepter_domain::Record;
        use uuid::Uuid;

        use super::{assignment_repository::targeting_facts, $store};
        use crate::{
            rows::{now, CertificateRow, DeviceRow, EventRow, StateRow, StepRow, TransactionRow, UserRow},
            AllowedRecord, CheckInFacts, DeviceProfileState, FailedRequest, EventFilter, LifecycleRepository, NewEvent, Page,
            PageRequest, RevocationOutcome, RevocationScope, ScepTransaction, StorageError,
            StoredCertificate, StoredDevice, StoredEvent,
        };

        const CERTIFICATE_COLUMNS: &str = "id, device_id, profile_id, profile_version, transaction_id, \
            serial_number, thumbprint_sha1, issuer, subject, not_before, not_after, issued_at, revoke_status, \
            revoke_requested_at, revoke_diagnostic_code, revoke_message, revoked_at";

        /// Whether SCEP profile `p` reaches device `d` (targeting rules 1–4), as an SQL
        /// condition over the aliases `d` (devices) and `p` (scep_certificate_profiles).
        /// Mirrors `scepter_domain::targeting` like `targeted_devices` does.
        fn reaches(intent: &str) -> String {
            format!(
                "(EXISTS (SELECT 1 FROM scep_profile_assignments a JOIN device_group_members m \
                     ON m.group_id = a.group_id AND m.device_id = d.id \
                     WHERE a.profile_id = p.id AND a.intent = '{intent}') \
                  OR EXISTS (SELECT 1 FROM scep_profile_assignments a JOIN user_group_members m \
                     ON m.group_id = a.group_id AND m.user_id = d.user_id \
                     WHERE a.profile_id = p.id AND a.intent = '{intent}'))"
            )
        }

        /// Whether the certificate rows of `table` still belong to a device the profile reaches.
        fn still_reached(table: &str) -> String {
            format!(
                "EXISTS (SELECT 1 FROM devices d JOIN scep_certificate_profiles p ON p.id = {table}.profile_id \
                 WHERE d.id = {table}.device_id AND d.platform = p.platform \
                 AND (p.certificate_type <> 'user' OR d.user_id IS NOT NULL) \
                 AND {} AND NOT {})",
                reaches("include"),
                reaches("exclude")
            )
        }

        async fn insert_event(
            executor: impl sqlx::Executor<'_, Database = $db>,
            event: &NewEvent,
            at: DateTime<Utc>,
        ) -> Result<(), StorageError> {
            sqlx::query(
                "INSERT INTO events (id, event_id, device_id, profile_id, certificate_id, transaction_id, \
                 diagnostic_code, message, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(Uuid::now_v7())
            .bind(i64::from(event.event.id()))
            .bind(event.device_id)
            .bind(event.profile_id)
            .bind(event.certificate_id)
            .bind(event.transaction_id.as_deref())
            .bind(i64::from(event.diagnostic.code()))
            .bind(&event.message)
            .bind(at)
            .execute(executor)
            .await?;
            Ok(())
        }

        async fn certificate_by_id(
            executor: impl sqlx::Executor<'_, Database = $db>,
            id: Uuid,
        ) -> Result<Option<StoredCertificate>, StorageError> {
            sqlx::query_as::<_, CertificateRow>(&format!(
                "SELECT {CERTIFICATE_COLUMNS} FROM issued_certificates c WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(executor)
            .await?
            .map(TryInto::try_into)
            .transpose()
        }

        /// The device's certificates, newest first (check-in's ledger and the admin list).
        async fn certificates_of_device(
            executor: impl sqlx::Executor<'_, Database = $db>,
            device_id: Uuid,
        ) -> Result<Vec<StoredCertificate>, StorageError> {
            sqlx::query_as::<_, CertificateRow>(&format!(
                "SELECT {CERTIFICATE_COLUMNS} FROM issued_certificates c WHERE device_id = $1 \
                 ORDER BY issued_at DESC, id DESC"
            ))
            .bind(device_id)
            .fetch_all(executor)
            .await?
            .into_iter()
            .map(TryInto::try_into)
            .collect()
        }

        fn unique_violation(error: &sqlx::Error) -> bool {
            matches!(error, sqlx::Error::Database(database_error) if database_error.is_unique_violation())
        }

        #[async_trait]
        impl LifecycleRepository for $store {
            async fn check_in_facts(&self, device_id: Uuid) -> Result<Option<CheckInFacts>, StorageError> {
                let mut connection = self.pool.acquire().await?;
                let Some(device) = sqlx::query_as::<_, DeviceRow>("SELECT * FROM devices WHERE id = $1")
                    .bind(device_id)
                    .fetch_optional(&mut *connection)
                    .await?
                else {
                    return Ok(None);
                };
                let device: Record<StoredDevice> = device.try_into()?;
                let user = match device.content.device.user_id {
                    Some(user_id) => sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut *connection)
                        .await?
                        .map(Into::into),
                    None => None,
                };
                let (memberships, profiles) = targeting_facts(
                    &mut *connection,
                    device_id,
                    device.content.device.platform,
                    device.content.device.user_id,
                )
                .await?;
                let certificates = certificates_of_device(&mut *connection, device_id).await?;
                let steps = sqlx::query_as::<_, StepRow>(
                    "SELECT profile_id, profile_version, state, diagnostic_code \
                     FROM device_profile_states WHERE device_id = $1",
                )
                .bind(device_id)
                .fetch_all(&mut *connection)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(CheckInFacts {
                    device,
                    user,
                    memberships,
                    profiles,
                    certificates,
                    steps,
                }))
            }

            async fn record_check_in(
                &self,
                device_id: Uuid,
                at: DateTime<Utc>,
                touch: bool,
                offered: &[(Uuid, i64)],
            ) -> Result<(), StorageError> {
                if touch {
                    sqlx::query("UPDATE devices SET last_check_in_at = $2 WHERE id = $1")
                        .bind(device_id)
                        .bind(at)
                        .execute(&self.pool)
                        .await?;
                }
                for (profile_id, version) in offered {
                    sqlx::query(
                        "INSERT INTO device_profile_states (device_id, profile_id, profile_version, state, updated_at) \
                         VALUES ($1, $2, $3, 'challengeIssued', $4) \
                         ON CONFLICT (device_id, profile_id) DO UPDATE SET profile_version = excluded.profile_version, \
                         state = 'challengeIssued', diagnostic_code = NULL, reason = NULL, updated_at = excluded.updated_at",
                    )
                    .bind(device_id)
                    .bind(profile_id)
                    .bind(version)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                }
                Ok(())
            }

            async fn challenge_used(&self, challenge_id: Uuid) -> Result<bool, StorageError> {
                Ok(sqlx::query("SELECT 1 FROM used_challenges WHERE id = $1")
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
                // The primary key makes this the single-use check, also across instances:
                // a concurrent second insert waits for the first and then does nothing.
                let fresh = sqlx::query(
                    "INSERT INTO used_challenges (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                )
                .bind(request.challenge_id)
                .bind(challenge_expires_at)
                .execute(&mut *transaction)
                .await?
                .rows_affected()
                    == 1;
                if !fresh {
                    return Ok(AllowedRecord::ChallengeUsed);
                }
                // The WHERE makes a transaction id, once allowed, belong to its
                // device, profile and key: a request for anything else updates
                // no row (and waits for a concurrent insert of the same id).
                let bound = sqlx::query(
                    "INSERT INTO scep_transactions (transaction_id, device_id, profile_id, profile_version, \
                     challenge_id, public_key_sha256, name_digest, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (transaction_id) DO UPDATE SET profile_version = excluded.profile_version, \
                     challenge_id = excluded.challenge_id, name_digest = excluded.name_digest, \
                     verified_at = excluded.verified_at, certificate_id = NULL \
                     WHERE scep_transactions.device_id = excluded.device_id \
                     AND scep_transactions.profile_id = excluded.profile_id \
                     AND scep_transactions.public_key_sha256 = excluded.public_key_sha256",
                )
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
                let mut marked = false;
                if let Some(failed) = failed {
                    marked = sqlx::query(
                        "INSERT INTO device_profile_states (device_id, profile_id, profile_version, state, \
                         diagnostic_code, reason, updated_at) \
                         SELECT $1, $2, $3, 'failed', $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM issued_certificates \
                         WHERE device_id = $1 AND profile_id = $2 AND issued_at >= $7) \
                         ON CONFLICT (device_id, profile_id) DO UPDATE SET profile_version = excluded.profile_version, \
                         state = 'failed', diagnostic_code = excluded.diagnostic_code, reason = excluded.reason, \
                         updated_at = excluded.updated_at \
                         WHERE device_profile_states.profile_version <= excluded.profile_version",
                    )
                    .bind(failed.device_id)
                    .bind(failed.profile_id)
                    .bind(failed.profile_version)
                    .bind(i64::from(event.diagnostic.code()))
                    .bind(failed.reason)
                    .bind(at)
                    .bind(failed.challenge_issued_at)
                    .execute(&mut *transaction)
                    .await?
                    .rows_affected()
                        > 0;
                }
                insert_event(&mut *transaction, event, at).await?;
                if marked {
                    // Last, so the counter's row lock is the transaction's last lock.
                    sqlx::query("UPDATE state_generation SET value = value + 1 WHERE id = 1")
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await?;
                Ok(())
            }

            async fn scep_transaction(&self, transaction_id: &str) -> Result<Option<ScepTransaction>, StorageError> {
                Ok(sqlx::query_as::<_, TransactionRow>(
                    "SELECT transaction_id, device_id, profile_id, profile_version, challenge_id, \
                     public_key_sha256, name_digest, verified_at, certificate_id \
                     FROM scep_transactions WHERE transaction_id = $1",
                )
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
                let inserted = sqlx::query(
                    "INSERT INTO issued_certificates (id, device_id, profile_id, profile_version, transaction_id, \
                     serial_number, thumbprint_sha1, issuer, subject, not_before, not_after, issued_at, revoke_status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'none')",
                )
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
                .execute(&mut *transaction)
                .await;
                if let Err(error) = inserted {
                    if unique_violation(&error) {
                        return Err(StorageError::Conflict(
                            "a certificate with this serial number or thumbprint is already recorded".to_owned(),
                        ));
                    }
                    return Err(error.into());
                }
                sqlx::query("UPDATE scep_transactions SET certificate_id = $2 WHERE transaction_id = $1")
                    .bind(&certificate.transaction_id)
                    .bind(certificate.id)
                    .execute(&mut *transaction)
                    .await?;
                // The enrollment succeeded: the ledger now speaks for this device and profile.
                sqlx::query("DELETE FROM device_profile_states WHERE device_id = $1 AND profile_id = $2")
                    .bind(certificate.device_id)
                    .bind(certificate.profile_id)
                    .execute(&mut *transaction)
                    .await?;
                insert_event(&mut *transaction, event, certificate.issued_at).await?;
                let stored = certificate_by_id(&mut *transaction, certificate.id)
                    .await?
                    .ok_or_else(|| StorageError::Corrupt("inserted certificate vanished".to_owned()))?;
                transaction.commit().await?;
                Ok(stored)
            }

            async fn record_event(&self, event: &NewEvent) -> Result<(), StorageError> {
                insert_event(&self.pool, event, now()).await
            }

            async fn device_certificates(&self, device_id: Uuid) -> Result<Vec<StoredCertificate>, StorageError> {
                certificates_of_device(&self.pool, device_id).await
            }

            async fn profile_certificates(&self, profile_id: Uuid) -> Result<Vec<StoredCertificate>, StorageError> {
                sqlx::query_as::<_, CertificateRow>(&format!(
                    "SELECT {CERTIFICATE_COLUMNS} FROM issued_certificates c WHERE profile_id = $1 \
                     ORDER BY device_id, issued_at DESC, id DESC"
                ))
                .bind(profile_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn profile_states(&self, profile_id: Uuid) -> Result<Vec<DeviceProfileState>, StorageError> {
                sqlx::query_as::<_, StateRow>(
                    "SELECT device_id, profile_version, state, diagnostic_code, reason, updated_at \
                     FROM device_profile_states WHERE profile_id = $1 ORDER BY device_id",
                )
                .bind(profile_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn queue_revocations(&self, scope: &RevocationScope) -> Result<u64, StorageError> {
                let base = format!(
                    "UPDATE issued_certificates SET revoke_status = 'pending', revoke_requested_at = $1 \
                     WHERE revoke_status = 'none' AND NOT ({}) AND ",
                    still_reached("issued_certificates")
                );
                let at = now();
                let mut transaction = self.pool.begin().await?;
                let mut queued = 0;
                match scope {
                    RevocationScope::All => {
                        queued += sqlx::query(&format!("{base} 1 = 1"))
                            .bind(at)
                            .execute(&mut *transaction)
                            .await?
                            .rows_affected();
                    }
                    RevocationScope::Profile(profile_id) => {
                        queued += sqlx::query(&format!("{base} profile_id = $2"))
                            .bind(at)
                            .bind(profile_id)
                            .execute(&mut *transaction)
                            .await?
                            .rows_affected();
                    }
                    RevocationScope::Devices(device_ids) => {
                        let sql = format!("{base} device_id = $2");
                        for device_id in device_ids {
                            queued += sqlx::query(&sql)
                                .bind(at)
                                .bind(device_id)
                                .execute(&mut *transaction)
                                .await?
                                .rows_affected();
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
            ) -> Result<StoredCertificate, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let Some(current) = certificate_by_id(&mut *transaction, certificate_id).await? else {
                    return Err(StorageError::NotFound);
                };
                if current.device_id != device_id {
                    return Err(StorageError::NotFound);
                }
                let updated = sqlx::query(
                    "UPDATE issued_certificates SET revoke_status = 'pending', revoke_requested_at = $2, \
                     revoke_diagnostic_code = NULL, revoke_message = NULL \
                     WHERE id = $1 AND revoke_status IN ('none', 'failed')",
                )
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
                let stored = certificate_by_id(&mut *transaction, certificate_id)
                    .await?
                    .ok_or(StorageError::NotFound)?;
                transaction.commit().await?;
                Ok(stored)
            }

            async fn revocation_queue(&self, limit: u32) -> Result<Vec<StoredCertificate>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                // Hand the page out (pending → issued), then read it: two statements whatever its size.
                const PAGE: &str = "SELECT id FROM issued_certificates \
                    WHERE revoke_status IN ('pending', 'issued') ORDER BY id LIMIT $1";
                sqlx::query(&format!(
                    "UPDATE issued_certificates SET revoke_status = 'issued' \
                     WHERE revoke_status = 'pending' AND id IN ({PAGE})"
                ))
                .bind(i64::from(limit))
                .execute(&mut *transaction)
                .await?;
                let certificates = sqlx::query_as::<_, CertificateRow>(&format!(
                    "SELECT {CERTIFICATE_COLUMNS} FROM issued_certificates c WHERE id IN ({PAGE}) ORDER BY id"
                ))
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
                let updated = sqlx::query(
                    "UPDATE issued_certificates SET revoke_status = $2, revoke_diagnostic_code = $3, \
                     revoke_message = $4, revoked_at = $5 \
                     WHERE id = $1 AND revoke_status IN ('pending', 'issued')",
                )
                .bind(certificate_id)
                .bind(if outcome.revoked { "revoked" } else { "failed" })
                .bind(i64::from(outcome.diagnostic.code()))
                .bind(outcome.message.as_deref())
                .bind(outcome.revoked.then_some(at))
                .execute(&mut *transaction)
                .await?
                .rows_affected();
                if updated == 0 {
                    return match certificate_by_id(&mut *transaction, certificate_id).await? {
                        None => Err(StorageError::NotFound),
                        Some(certificate) => Err(StorageError::Conflict(format!(
                            "the certificate is not awaiting revocation (revokeStatus {})",
                            certificate.revoke_status.as_str()
                        ))),
                    };
                }
                let stored = certificate_by_id(&mut *transaction, certificate_id)
                    .await?
                    .ok_or(StorageError::NotFound)?;
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

            async fn list_events(
                &self,
                filter: EventFilter,
                page: PageRequest,
            ) -> Result<Page<StoredEvent>, StorageError> {
                let rows = sqlx::query_as::<_, EventRow>(
                    "SELECT id, event_id, device_id, profile_id, certificate_id, transaction_id, diagnostic_code, \
                     message, occurred_at FROM events \
                     WHERE ($1 IS NULL OR device_id = $1) AND ($2 IS NULL OR profile_id = $2) \
                     AND ($3 IS NULL OR event_id = $3) AND ($4 IS NULL OR occurred_at >= $4) \
                     AND ($5 IS NULL OR occurred_at < $5) AND ($6 IS NULL OR id > $6) \
                     ORDER BY id LIMIT $7",
                )
                .bind(filter.device_id)
                .bind(filter.profile_id)
                .bind(filter.event_id.map(i64::from))
                .bind(filter.from)
                .bind(filter.to)
                .bind(page.cursor.map(|cursor| cursor.last_id()))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let events = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetched(events, page.limit, |event: &StoredEvent| event.id))
            }

            // Each purge deletes one bounded batch per statement (the sweep loops), so
            // no statement holds its locks — or SQLite's one connection — for long.
            async fn purge_used_challenges(&self, expired_before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
                // Index used_challenges_expires (0005).
                Ok(sqlx::query(
                    "DELETE FROM used_challenges WHERE id IN \
                     (SELECT id FROM used_challenges WHERE expires_at < $1 LIMIT $2)",
                )
                .bind(expired_before)
                .bind(i64::from(limit))
                .execute(&self.pool)
                .await?
                .rows_affected())
            }

            async fn purge_events(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
                // Index events_occurred_at (0008).
                Ok(sqlx::query(
                    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE occurred_at < $1 LIMIT $2)",
                )
                .bind(before)
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
                // Index scep_transactions_verified_at (0008), for both branches.
                Ok(sqlx::query(
                    "DELETE FROM scep_transactions WHERE transaction_id IN \
                     (SELECT transaction_id FROM scep_transactions \
                      WHERE (certificate_id IS NOT NULL AND verified_at < $1) OR verified_at < $2 LIMIT $3)",
                )
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

pub(crate) use impl_lifecycle_repository;
