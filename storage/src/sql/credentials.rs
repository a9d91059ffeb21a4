//! Device credentials.

pub(crate) const COUNT_DEVICE: &str = "SELECT COUNT(*) FROM devices WHERE id = $1";

/// `$1` device, `$2` now. Index: device_credentials_device.
pub(crate) const REVOKE_CREDENTIALS: &str =
    "UPDATE device_credentials SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL";

pub(crate) const INSERT_CREDENTIAL: &str =
    "INSERT INTO device_credentials (id, device_id, secret_sha256, created_at) VALUES ($1, $2, $3, $4)";

/// One round trip: the generations come along for check-in's cache (the
/// device's is kept on its credential, migration 0009).
pub(crate) const SELECT_CREDENTIAL: &str =
    "SELECT c.device_id, c.secret_sha256, c.revoked_at IS NOT NULL, c.facts_generation, g.value \
     FROM device_credentials c CROSS JOIN policy_generation g WHERE c.id = $1 AND g.id = 1";

macro_rules! impl_credential_repository {
    ($store:ident, $db:ty) => {
        mod credential_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use scepter_domain::audit::Change;

            use super::{audit_repository::insert_audit_entry, $store};
            use crate::{
                rows::{now, CredentialRow},
                sql::credentials::*,
                DeviceCredentialRepository, NewAuditEntry, StorageError, StoredCredential,
            };

            type Connection = <$db as sqlx::Database>::Connection;

            /// Revokes the device's live credentials at `at`; [`StorageError::NotFound`] for an unknown device.
            async fn revoke_all(
                connection: &mut Connection,
                device_id: Uuid,
                at: DateTime<Utc>,
            ) -> Result<u64, StorageError> {
                let count = sqlx::query_scalar::<_, i64>(COUNT_DEVICE)
                    .bind(device_id)
                    .fetch_one(&mut *connection)
                    .await?;
                if count == 0 {
                    return Err(StorageError::NotFound);
                }
                Ok(sqlx::query(REVOKE_CREDENTIALS)
                    .bind(device_id)
                    .bind(at)
                    .execute(connection)
                    .await?
                    .rows_affected())
            }

            #[async_trait]
            impl DeviceCredentialRepository for $store {
                async fn replace_device_credential(
                    &self,
                    device_id: Uuid,
                    credential_id: Uuid,
                    secret_digest: &[u8],
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let now = now();
                    revoke_all(&mut transaction, device_id, now).await?;
                    sqlx::query(INSERT_CREDENTIAL)
                        .bind(credential_id)
                        .bind(device_id)
                        .bind(secret_digest)
                        .bind(now)
                        .execute(&mut *transaction)
                        .await?;
                    insert_audit_entry(&mut *transaction, audit, Some(device_id)).await?;
                    transaction.commit().await?;
                    Ok(())
                }

                async fn revoke_device_credentials(
                    &self,
                    device_id: Uuid,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let revoked = revoke_all(&mut transaction, device_id, now()).await?;
                    let change = Change::new("/revokedCredentials", None, Some(revoked.into()));
                    let audit = audit.with_changes(vec![change]);
                    insert_audit_entry(&mut *transaction, &audit, Some(device_id)).await?;
                    transaction.commit().await?;
                    Ok(())
                }

                async fn device_credential(
                    &self,
                    credential_id: Uuid,
                ) -> Result<Option<StoredCredential>, StorageError> {
                    let query = || sqlx::query_as::<_, CredentialRow>(SELECT_CREDENTIAL).bind(credential_id);
                    // Every check-in asks this: on the lane, it costs one round trip.
                    if let Some(mut lease) = self.check_in_lane.lease(&self.pool).await {
                        match query().fetch_optional(lease.connection()).await {
                            Ok(row) => {
                                lease.finished();
                                return Ok(row.map(Into::into));
                            }
                            Err(error) => {
                                tracing::warn!(%error, "a check-in lane connection failed; using the pool")
                            }
                        }
                    }
                    let row = query().fetch_optional(&self.pool).await?;
                    Ok(row.map(Into::into))
                }
            }
        }
    };
}

pub(crate) use impl_credential_repository;
